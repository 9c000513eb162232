"""``POST /exchange``: signed actions. Envelope -> signer recovery -> authorisation -> nonce -> the action.

The signer is recovered from the signature (signing.py) and must be a user wallet or an agent wallet that user
approved; the action then applies to that user's account. Anything else is the venue's action-level error
``{"status":"err","response":"User or API Wallet 0x... does not exist."}`` (HTTP 200). The nonce is consumed once
the signer is authorised, whatever the action's outcome, as on the venue. A body the venue cannot read is answered
422 in plain text.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from runtime.sim.hyperliquid import codes
from runtime.sim.hyperliquid.info import unreadable
from runtime.sim.hyperliquid.nonces import NonceRejected
from runtime.sim.hyperliquid.orders import OrderDesk
from runtime.sim.hyperliquid.signing import MalformedRequest, SignedRequest, parse_signed_request, recover_signer
from runtime.sim.hyperliquid.wallets import Signer
from runtime.sim.hyperliquid.wire import (
    WireError,
    list_field,
    parse_cancel,
    parse_cancel_by_cloid,
    parse_order_wire,
)
from runtime.sim.model import OrderRejected, RejectionKind
from runtime.sim.server import Credentials

if TYPE_CHECKING:
    from runtime.sim.hyperliquid.server import HyperliquidSimulator

SUPPORTED_ACTIONS = ("order", "cancel", "cancelByCloid", "updateLeverage", "approveAgent", "noop")


class ExchangeApi:
    def __init__(self, sim: HyperliquidSimulator) -> None:
        self.sim = sim
        self.orders = OrderDesk(sim)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        try:
            # json.loads keeps the action's keys in arrival order, which the signature hash depends on.
            body = await request.json(loads=json.loads)
            signed = parse_signed_request(body)
            answer = self.execute(signed)
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            return unreadable(f"the body is not JSON ({exc})")
        except (MalformedRequest, WireError) as exc:
            return unreadable(str(exc))
        return web.json_response(answer)

    def execute(self, signed: SignedRequest) -> dict[str, Any]:
        """Authorise and run one signed action; returns the venue's JSON answer."""
        now = self.sim.now_ms()
        if signed.vault_address is not None:
            return codes.action_error(codes.VAULT_UNSUPPORTED)
        if signed.expires_after is not None and signed.expires_after < now:
            return codes.action_error(codes.EXPIRED_ACTION.format(expires_after=signed.expires_after, now_ms=now))
        signer_address = recover_signer(signed, is_mainnet=self.sim.is_mainnet)
        signer = self.sim.wallets.resolve(signer_address, now)
        if signer is None:
            return codes.action_error(codes.UNKNOWN_SIGNER.format(address=signer_address))
        # Parse before consuming the nonce: an unreadable action is refused (422) without using it up.
        run = self._prepare(signed, signer)
        try:
            self.sim.nonces.use(signer.signer_address, signed.nonce, now)
        except NonceRejected as exc:
            return codes.action_error(str(exc))
        return run()

    def _prepare(self, signed: SignedRequest, signer: Signer) -> Callable[[], dict[str, Any]]:
        action = signed.action
        account = self.sim.account_of_user(signer.account_address)
        if account is None:  # a registered user always has a ledger account; guard the invariant anyway
            return lambda: codes.action_error(codes.UNKNOWN_SIGNER.format(address=signer.signer_address))
        kind = signed.action_type
        if kind == "order":
            wires = [parse_order_wire(raw) for raw in list_field(action, "orders")]
            return lambda: self.orders.place_all(account, wires)
        if kind == "cancel":
            cancels = [parse_cancel(raw) for raw in list_field(action, "cancels")]
            return lambda: self.orders.cancel_all(account, [(asset, oid, "") for asset, oid in cancels])
        if kind == "cancelByCloid":
            by_cloid = [parse_cancel_by_cloid(raw) for raw in list_field(action, "cancels")]
            return lambda: self.orders.cancel_all(account, [(asset, None, cloid) for asset, cloid in by_cloid])
        if kind == "updateLeverage":
            asset, is_cross, leverage = _leverage_fields(action)
            return lambda: self.update_leverage(account, asset, is_cross, leverage)
        if kind == "approveAgent":
            agent_address, name = _agent_fields(action, signed.nonce)
            return lambda: self.approve_agent(signer, account, agent_address, name)
        if kind == "noop":
            return codes.ok_default
        message = codes.UNSUPPORTED_ACTION.format(action_type=kind, supported=", ".join(SUPPORTED_ACTIONS))
        return lambda: codes.action_error(message)

    def update_leverage(self, account: str, asset: int, is_cross: bool, leverage: int) -> dict[str, Any]:
        instrument = self.sim.instrument_by_asset(asset)
        if instrument is None:
            return codes.action_error(codes.OrderRejection.UNKNOWN_ASSET)
        coin = instrument.symbol
        if leverage < 1:
            return codes.action_error(codes.LEVERAGE_INVALID)
        if leverage > instrument.rules.max_leverage:
            return codes.action_error(
                codes.LEVERAGE_TOO_HIGH.format(leverage=leverage, max_leverage=instrument.rules.max_leverage, coin=coin)
            )
        wanted_type = "cross" if is_cross else "isolated"
        position = self.sim.engine.account(account).position(coin, 0)
        if position.size != 0 and self.sim.margin_type(account, coin) != wanted_type:
            return codes.action_error(codes.MARGIN_TYPE_WITH_POSITION.format(coin=coin))
        try:
            # Unchanged leverage is not an error on Hyperliquid: the answer is ok either way.
            self.sim.engine.set_leverage(account, coin, Decimal(leverage))
        except OrderRejected as exc:
            if exc.kind is RejectionKind.INSUFFICIENT_MARGIN:
                return codes.action_error(codes.LEVERAGE_NEEDS_MARGIN.format(leverage=leverage, coin=coin))
            return codes.action_error(exc.message)
        self.sim.margin_types[(account, coin)] = wanted_type
        return codes.ok_default()

    def approve_agent(self, signer: Signer, account: str, agent_address: str, name: str) -> dict[str, Any]:
        if signer.is_agent:
            return codes.action_error(codes.AGENT_CANNOT_APPROVE.format(address=signer.signer_address))
        try:
            agent = self.sim.wallets.approve_agent(signer.account_address, agent_address, name, self.sim.now_ms())
        except ValueError as exc:
            return codes.action_error(str(exc))
        # Agent keys are never known to the venue; the credentials entry only maps the address to the account.
        self.sim.add_credentials(Credentials(account, key=agent.address, secret="", key_field="agent_address"))
        return codes.ok_default()


def _leverage_fields(action: dict[str, Any]) -> tuple[int, bool, int]:
    asset, is_cross, leverage = action.get("asset"), action.get("isCross"), action.get("leverage")
    if isinstance(asset, bool) or not isinstance(asset, int):
        raise WireError("updateLeverage field 'asset' must be an integer asset id")
    if not isinstance(is_cross, bool):
        raise WireError("updateLeverage field 'isCross' must be a boolean")
    if isinstance(leverage, bool) or not isinstance(leverage, int):
        raise WireError("updateLeverage field 'leverage' must be an integer")
    return asset, is_cross, leverage


def _agent_fields(action: dict[str, Any], nonce: int) -> tuple[str, str]:
    agent_address, name = action.get("agentAddress"), action.get("agentName", "")
    if not isinstance(agent_address, str) or not agent_address.startswith("0x") or len(agent_address) != 42:
        raise WireError("approveAgent field 'agentAddress' must be a 42-character 0x address")
    if not isinstance(name, str):
        raise WireError("approveAgent field 'agentName' must be a string")
    if action.get("nonce") != nonce:
        raise WireError("approveAgent: the action's nonce must equal the request nonce")
    return agent_address.lower(), name
