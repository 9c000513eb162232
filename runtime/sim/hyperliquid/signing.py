"""Recovering the signer of a Hyperliquid ``/exchange`` request, exactly as the venue does it.

Hyperliquid has no API keys: every action is signed with an Ethereum key and the venue *recovers* the signer from
the signature. Two schemes exist (see ``hyperliquid.utils.signing``):

- L1 actions (order, cancel, updateLeverage, ...): keccak(msgpack(action) + nonce + vault flag [+ expiresAfter])
  becomes the ``connectionId`` of a phantom agent ``{"source": "a" | "b", "connectionId"}`` signed as EIP-712
  (domain "Exchange", chainId 1337). Source "a" is mainnet; the SDK signs with "b" for every other base URL, so a
  simulator reached at ``http://127.0.0.1:PORT`` must recover with "b".
- User-signed actions (approveAgent here): EIP-712 over the action's own fields, domain
  "HyperliquidSignTransaction", with ``hyperliquidChain`` "Mainnet" or "Testnet".

A wrong signature is not detectable as such: it recovers to some other address, which the venue then answers with
"User or API Wallet 0x... does not exist.". The hash covers msgpack of the action *with its keys in the order they
arrived*, so the action must be the dict ``json.loads`` produced, never a re-built or sorted copy.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hyperliquid.utils.signing import recover_agent_or_user_from_l1_action, recover_user_from_user_signed_action

# The typed-data fields the SDK signs for approveAgent (hyperliquid/utils/signing.py: sign_agent).
APPROVE_AGENT_SIGN_TYPES = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "agentAddress", "type": "address"},
    {"name": "agentName", "type": "string"},
    {"name": "nonce", "type": "uint64"},
]
APPROVE_AGENT_PRIMARY_TYPE = "HyperliquidTransaction:ApproveAgent"

# Action types signed by the user's own wallet rather than as an L1 action.
USER_SIGNED_ACTION_TYPES = frozenset({"approveAgent"})


class MalformedRequest(Exception):
    """The body is not a signed ``/exchange`` request; the message says which field is wrong."""


@dataclass(frozen=True)
class SignedRequest:
    """One ``/exchange`` body: the action exactly as received plus what the signature covers."""

    action: dict[str, Any]
    nonce: int
    signature: Mapping[str, Any]
    vault_address: str | None
    expires_after: int | None

    @property
    def action_type(self) -> str:
        return str(self.action.get("type", ""))


def parse_signed_request(body: object) -> SignedRequest:
    """Read the envelope ``{"action","nonce","signature","vaultAddress","expiresAfter"}`` of an ``/exchange`` POST."""
    if not isinstance(body, dict):
        raise MalformedRequest("the body must be a JSON object with action, nonce and signature")
    action = body.get("action")
    if not isinstance(action, dict) or not isinstance(action.get("type"), str):
        raise MalformedRequest("action must be an object with a string 'type'")
    nonce = body.get("nonce")
    if isinstance(nonce, bool) or not isinstance(nonce, int) or nonce < 0:
        raise MalformedRequest("nonce must be a non-negative integer (milliseconds)")
    signature = body.get("signature")
    if not isinstance(signature, dict) or not {"r", "s", "v"} <= signature.keys():
        raise MalformedRequest("signature must be an object with r, s and v")
    vault = body.get("vaultAddress")
    if vault is not None and not isinstance(vault, str):
        raise MalformedRequest("vaultAddress must be an address or null")
    expires = body.get("expiresAfter")
    if expires is not None and (isinstance(expires, bool) or not isinstance(expires, int)):
        raise MalformedRequest("expiresAfter must be an integer (milliseconds) or null")
    return SignedRequest(action=action, nonce=nonce, signature=signature, vault_address=vault, expires_after=expires)


def _vrs(signature: Mapping[str, Any]) -> dict[str, Any]:
    r, s, v = signature.get("r"), signature.get("s"), signature.get("v")
    if not isinstance(r, str) or not isinstance(s, str) or isinstance(v, bool) or not isinstance(v, int):
        raise MalformedRequest("signature r and s must be hex strings and v an integer")
    return {"r": r, "s": s, "v": v}


def recover_l1_signer(request: SignedRequest, *, is_mainnet: bool) -> str:
    """The lower-case address that signed an L1 action. A bad signature yields some unrelated address."""
    try:
        address = recover_agent_or_user_from_l1_action(
            request.action,
            _vrs(request.signature),
            request.vault_address,
            request.nonce,
            request.expires_after,
            is_mainnet,
        )
    except MalformedRequest:
        raise
    except Exception as exc:  # eth_account/msgpack refuse out-of-range r/s/v or unpackable values
        raise MalformedRequest(f"signature cannot be recovered: {exc}") from exc
    return str(address).lower()


def recover_approve_agent_signer(action: Mapping[str, Any], signature: Mapping[str, Any], *, is_mainnet: bool) -> str:
    """The lower-case address that signed an approveAgent action (a user-signed action)."""
    message = copy.deepcopy(dict(action))
    # The SDK signs agentName "" and then drops the key when no name was given (exchange.py: approve_agent).
    message.setdefault("agentName", "")
    if not isinstance(message.get("signatureChainId"), str):
        raise MalformedRequest("approveAgent needs signatureChainId (hex chain id the wallet signed with)")
    try:
        address = recover_user_from_user_signed_action(
            message, _vrs(signature), APPROVE_AGENT_SIGN_TYPES, APPROVE_AGENT_PRIMARY_TYPE, is_mainnet
        )
    except MalformedRequest:
        raise
    except Exception as exc:
        raise MalformedRequest(f"approveAgent signature cannot be recovered: {exc}") from exc
    return str(address).lower()


def recover_signer(request: SignedRequest, *, is_mainnet: bool) -> str:
    """Dispatch on the action type to the right signing scheme."""
    if request.action_type in USER_SIGNED_ACTION_TYPES:
        return recover_approve_agent_signer(request.action, request.signature, is_mainnet=is_mainnet)
    return recover_l1_signer(request, is_mainnet=is_mainnet)
