"""Hyperliquid payloads -> small frozen structs and domain values. Numbers stay strings until ``to_decimal``.

Shapes follow the venue's documented answers (``meta``, ``allMids``, ``clearinghouseState``, ``orderStatus``,
``userFills``, ``extraAgents``, ``userRole`` and the ``/exchange`` envelopes); ``tests/fixtures/hyperliquid/adapter``
holds those examples. What the engine sends is built in ``wire``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from runtime.adapters.hyperliquid import errors
from runtime.adapters.hyperliquid.wire import price_tick, qty_step
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import FollowerPosition
from runtime.domain.values import ZERO, Side, Venue, to_decimal
from runtime.ports.exchange import OrderReport, OrderState

VENUE = Venue.HYPERLIQUID
THOUSAND = Decimal(1000)


def unit_multiplier(coin: str) -> Decimal:
    """Hyperliquid's thousand-unit coins are named k + TICKER (kPEPE, kSHIB, kBONK): 1000 tokens per unit."""
    return THOUSAND if len(coin) > 1 and coin[0] == "k" and coin[1].isupper() else Decimal(1)


# ----- helpers -------------------------------------------------------------------------------------------------


def unexpected(what: str, payload: object) -> ExchangeError:
    return ExchangeError(ErrorKind.UNKNOWN, VENUE, f"unexpected {what} answer: {str(payload)[:300]}")


def _dec(value: object, field: str) -> Decimal:
    if value is None:
        return ZERO
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise unexpected(field, value)
    return to_decimal(value, field=f"hyperliquid {field}")


def _obj(payload: object, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise unexpected(what, payload)
    return payload


def _list(payload: object, what: str) -> list[Any]:
    if not isinstance(payload, list):
        raise unexpected(what, payload)
    return payload


# ----- meta and rules ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AssetMeta:
    """One ``meta.universe`` entry; ``asset`` is its index (the asset id orders carry)."""

    name: str
    asset: int
    sz_decimals: int
    max_leverage: int
    only_isolated: bool = False
    is_delisted: bool = False


def parse_meta(payload: object) -> dict[str, AssetMeta]:
    universe = _list(_obj(payload, "meta").get("universe"), "meta.universe")
    assets: dict[str, AssetMeta] = {}
    for index, raw in enumerate(universe):
        item = _obj(raw, "meta.universe[]")
        sz_decimals, max_leverage = item.get("szDecimals"), item.get("maxLeverage")
        if not isinstance(sz_decimals, int) or not isinstance(max_leverage, int):
            raise unexpected("meta.universe[]", item)
        name = str(item.get("name", ""))
        assets[name] = AssetMeta(
            name=name,
            asset=index,
            sz_decimals=sz_decimals,
            max_leverage=max_leverage,
            only_isolated=bool(item.get("onlyIsolated", False)),
            is_delisted=bool(item.get("isDelisted", False)),
        )
    return assets


def parse_mids(payload: object) -> dict[str, Decimal]:
    """``allMids``: coin -> mid (spot pairs such as "@107" included; ignore what you do not ask for)."""
    return {str(coin): _dec(mid, f"allMids.{coin}") for coin, mid in _obj(payload, "allMids").items()}


def instrument_rules(
    meta: AssetMeta, mid: Decimal | None, *, min_notional: Decimal, max_qty: Decimal
) -> InstrumentRules:
    """The domain's rules for one coin. ``tick_size`` is the price step at ``mid`` (see ``price_tick``); without a
    mid it is the finest step the decimals rule allows. Reduce-only orders closing a whole position are let through
    below $10 (UNCONFIRMED, as the simulator and public clients behave)."""
    step = qty_step(meta.sz_decimals)
    tick = price_tick(mid, meta.sz_decimals) if mid is not None else price_tick(ZERO, meta.sz_decimals)
    return InstrumentRules(
        venue=VENUE,
        symbol=meta.name,
        qty_step=step,
        tick_size=tick,
        min_qty=step,
        max_qty=max_qty,
        max_market_qty=max_qty,
        min_notional=min_notional,
        max_leverage=Decimal(meta.max_leverage),
        unit_multiplier=unit_multiplier(meta.name),
        reduce_only_exempt_min_notional=True,
        reduce_only_exempt_min_qty=False,
    )


# ----- account state -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HlPosition:
    coin: str
    szi: Decimal  # signed: long > 0, short < 0
    entry_px: Decimal
    leverage_type: str  # "cross" | "isolated"
    leverage: Decimal
    margin_used: Decimal
    position_value: Decimal
    unrealized_pnl: Decimal

    def to_follower_position(self) -> FollowerPosition:
        return FollowerPosition(
            venue=VENUE,
            symbol=self.coin,
            size=self.szi,
            entry_price=self.entry_px,
            leverage=self.leverage,
            initial_margin=self.margin_used,
        )


@dataclass(frozen=True)
class AccountState:
    """``clearinghouseState``: equity is ``marginSummary.accountValue``."""

    account_value: Decimal
    total_margin_used: Decimal
    withdrawable: Decimal
    positions: tuple[HlPosition, ...]


def parse_clearinghouse_state(payload: object) -> AccountState:
    body = _obj(payload, "clearinghouseState")
    summary = _obj(body.get("marginSummary"), "clearinghouseState.marginSummary")
    positions = []
    for raw in _list(body.get("assetPositions", []), "clearinghouseState.assetPositions"):
        item = _obj(_obj(raw, "assetPositions[]").get("position"), "assetPositions[].position")
        leverage = _obj(item.get("leverage", {}), "position.leverage")
        positions.append(
            HlPosition(
                coin=str(item.get("coin", "")),
                szi=_dec(item.get("szi"), "szi"),
                entry_px=_dec(item.get("entryPx"), "entryPx"),
                leverage_type=str(leverage.get("type", "cross")),
                leverage=_dec(leverage.get("value"), "leverage.value"),
                margin_used=_dec(item.get("marginUsed"), "marginUsed"),
                position_value=_dec(item.get("positionValue"), "positionValue"),
                unrealized_pnl=_dec(item.get("unrealizedPnl"), "unrealizedPnl"),
            )
        )
    return AccountState(
        account_value=_dec(summary.get("accountValue"), "accountValue"),
        total_margin_used=_dec(summary.get("totalMarginUsed"), "totalMarginUsed"),
        withdrawable=_dec(body.get("withdrawable"), "withdrawable"),
        positions=tuple(positions),
    )


def parse_active_leverage(payload: object) -> Decimal | None:
    """``activeAssetData``: the coin's leverage setting even when flat (None when the answer has none)."""
    if not isinstance(payload, dict) or not isinstance(payload.get("leverage"), dict):
        return None
    return _dec(payload["leverage"].get("value"), "activeAssetData.leverage.value")


# ----- orders --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HlOrder:
    """An ``orderStatus`` answer: ``sz`` is what is left, ``origSz`` what was asked; ``status`` the venue's word."""

    coin: str
    side: Side
    limit_px: Decimal
    remaining_sz: Decimal
    orig_sz: Decimal
    oid: int
    cloid: str | None
    status: str

    @property
    def is_live(self) -> bool:
        return self.status in ("open", "triggered")

    @property
    def filled_sz(self) -> Decimal:
        """What ``sz``/``origSz`` say was filled. Trustworthy while the order is open or filled; for a cancelled
        or rejected order prefer the fills (``fills_of_order``): not every source keeps ``sz`` at the unfilled
        remainder once the order is closed."""
        return self.orig_sz - self.remaining_sz

    def state_for(self, filled: Decimal) -> OrderState:
        if self.status == "filled" or (filled > 0 and filled >= self.orig_sz):
            return OrderState.FILLED
        if filled > 0:
            # Open with fills, or an IOC whose remainder was cancelled: what matters to the engine is filled_qty.
            return OrderState.PARTIALLY_FILLED
        if self.is_live:
            return OrderState.NEW
        # Hyperliquid names every rejection "...Rejected" (and plain "rejected"); everything else is a cancel.
        return OrderState.REJECTED if self.status.lower().endswith("rejected") else OrderState.CANCELLED

    def report(self, client_order_id: str, filled: Decimal, avg_price: Decimal) -> OrderReport:
        return OrderReport(
            client_order_id=client_order_id,
            venue_order_id=str(self.oid),
            symbol=self.coin,
            side=self.side,
            qty=self.orig_sz,
            state=self.state_for(filled),
            filled_qty=filled,
            avg_price=avg_price if filled > 0 else ZERO,
        )


def parse_order_status(payload: object) -> HlOrder | None:
    """``orderStatus``: None for ``{"status":"unknownOid"}`` (the venue has never seen that oid/cloid)."""
    body = _obj(payload, "orderStatus")
    if body.get("status") == "unknownOid":
        return None
    if body.get("status") != "order":
        raise unexpected("orderStatus", body)
    outer = _obj(body.get("order"), "orderStatus.order")
    order = _obj(outer.get("order"), "orderStatus.order.order")
    oid = order.get("oid")
    if not isinstance(oid, int):
        raise unexpected("orderStatus.order.order.oid", order)
    cloid = order.get("cloid")
    return HlOrder(
        coin=str(order.get("coin", "")),
        side=Side.BUY if order.get("side") == "B" else Side.SELL,
        limit_px=_dec(order.get("limitPx"), "limitPx"),
        remaining_sz=_dec(order.get("sz"), "sz"),
        orig_sz=_dec(order.get("origSz"), "origSz"),
        oid=oid,
        cloid=str(cloid).lower() if cloid else None,
        status=str(outer.get("status", "")),
    )


@dataclass(frozen=True)
class PlacementStatus:
    """One ``statuses[i]`` of an order answer: exactly one of filled (total_sz, avg_px), resting, or error."""

    oid: int | None = None
    total_sz: Decimal = ZERO
    avg_px: Decimal = ZERO
    resting: bool = False
    error: str | None = None


def _statuses(payload: object, expected_type: str) -> list[Any]:
    """The per-element statuses of an ok answer; an action-level ``{"status":"err"}`` raises the mapped error."""
    body = _obj(payload, "exchange")
    if body.get("status") == "err":
        raise errors.action_rejected(str(body.get("response", "")))
    response = _obj(body.get("response"), "exchange.response")
    if body.get("status") != "ok" or response.get("type") != expected_type:
        raise unexpected(f"exchange {expected_type}", body)
    return _list(_obj(response.get("data"), "exchange.response.data").get("statuses"), "statuses")


def parse_order_statuses(payload: object) -> list[PlacementStatus]:
    parsed = []
    for raw in _statuses(payload, "order"):
        item = _obj(raw, "statuses[]")
        if "error" in item:
            parsed.append(PlacementStatus(error=str(item["error"])))
        elif "filled" in item:
            filled = _obj(item["filled"], "statuses[].filled")
            parsed.append(
                PlacementStatus(
                    oid=filled.get("oid"),
                    total_sz=_dec(filled.get("totalSz"), "totalSz"),
                    avg_px=_dec(filled.get("avgPx"), "avgPx"),
                )
            )
        elif "resting" in item:
            parsed.append(PlacementStatus(oid=_obj(item["resting"], "statuses[].resting").get("oid"), resting=True))
        else:
            raise unexpected("order status", item)
    return parsed


def parse_cancel_statuses(payload: object) -> list[str | None]:
    """One entry per cancel: None for "success", else the venue's error message."""
    return [
        None if raw == "success" else str(_obj(raw, "cancel status").get("error", raw))
        for raw in _statuses(payload, "cancel")
    ]


def check_default_ok(payload: object) -> None:
    """Actions answered ``{"status":"ok","response":{"type":"default"}}`` (updateLeverage)."""
    body = _obj(payload, "exchange")
    if body.get("status") == "err":
        raise errors.action_rejected(str(body.get("response", "")))
    if body.get("status") != "ok":
        raise unexpected("exchange", body)


def fills_of_order(payload: object, oid: int) -> tuple[Decimal, Decimal]:
    """(total size, size-weighted average price) of ``userFills`` entries for ``oid``; (0, 0) when none."""
    qty = notional = ZERO
    for raw in _list(payload, "userFills"):
        fill = _obj(raw, "userFills[]")
        if fill.get("oid") == oid:
            size = _dec(fill.get("sz"), "fill.sz")
            qty += size
            notional += size * _dec(fill.get("px"), "fill.px")
    return qty, (notional / qty if qty else ZERO)


# ----- agents --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgentApproval:
    name: str
    address: str  # lower case
    valid_until_ms: int


def parse_extra_agents(payload: object) -> list[AgentApproval]:
    agents = []
    for raw in _list(payload, "extraAgents"):
        item = _obj(raw, "extraAgents[]")
        valid_until = item.get("validUntil")
        agents.append(
            AgentApproval(
                name=str(item.get("name", "")),
                address=str(item.get("address", "")).lower(),
                valid_until_ms=valid_until if isinstance(valid_until, int) else 0,
            )
        )
    return agents


def parse_user_role(payload: object) -> tuple[str, str | None]:
    """``userRole``: (role, owner address for an agent else None). Roles: user, agent, vault, subAccount, missing."""
    body = _obj(payload, "userRole")
    data = body.get("data")
    owner = data.get("user") if isinstance(data, dict) else None
    return str(body.get("role", "missing")), (str(owner).lower() if owner else None)
