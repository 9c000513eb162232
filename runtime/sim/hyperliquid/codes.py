"""Hyperliquid's answers: the per-order error strings and the response envelopes of ``/exchange``.

The order and cancel strings are the venue's published ones (gitbook "Error responses"). Hyperliquid answers
``/exchange`` with HTTP 200 and either ``{"status":"ok","response":{...}}`` (order and cancel batches carry one
status per element, which may itself be ``{"error": "..."}``) or an action-level ``{"status":"err","response":msg}``.
Messages marked UNCONFIRMED are not published by the venue; they say plainly what went wrong.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class OrderRejection(StrEnum):
    """Per-order errors, as they appear in ``statuses[i]["error"]``."""

    TICK = "Price must be divisible by tick size."
    MIN_TRADE_NTL = "Order must have minimum value of $10."
    PERP_MARGIN = "Insufficient margin to place order."
    REDUCE_ONLY = "Reduce only order would increase position."
    BAD_ALO_PX = "Post only order would have immediately matched, bbo was {bbo}."
    IOC_CANCEL = "Order could not immediately match against any resting orders."
    NO_LIQUIDITY = "No liquidity available for market order."
    PERP_MAX_POSITION = "Order would cause position to exceed margin tier limit at current leverage"
    # UNCONFIRMED wordings below.
    INVALID_SIZE = "Order has invalid size."
    DUPLICATE_CLOID = "Order has a duplicate cloid: an order with this cloid was already placed by this user."
    UNKNOWN_ASSET = "Unknown asset: the asset id is not an index of the meta universe."


# Per-cancel error (gitbook "Error responses": Cancel / MissingOrder).
MISSING_ORDER = "Order was never placed, already canceled, or filled."

# Action-level errors.
UNKNOWN_SIGNER = "User or API Wallet {address} does not exist."
# UNCONFIRMED wordings below.
AGENT_CANNOT_APPROVE = "Only the account's own wallet can approve an agent; {address} is an agent wallet."
VAULT_UNSUPPORTED = "Vault trading is not supported by this simulator: send vaultAddress null."
EXPIRED_ACTION = "Action expired: expiresAfter {expires_after} is before server time {now_ms}."
LEVERAGE_TOO_HIGH = "Invalid leverage value: {leverage} is above the maximum leverage {max_leverage} of {coin}."
LEVERAGE_NEEDS_MARGIN = "Insufficient margin to set leverage {leverage} on {coin}: its higher margin is not available."
MARGIN_TYPE_WITH_POSITION = "Cannot switch leverage type with open position on {coin}: close it first."
LEVERAGE_INVALID = "Invalid leverage value: leverage must be a positive integer."
UNSUPPORTED_ACTION = "Unsupported action type {action_type!r}: this simulator accepts {supported}."


def ok_orders(statuses: list[dict[str, Any]]) -> dict[str, Any]:
    return {"status": "ok", "response": {"type": "order", "data": {"statuses": statuses}}}


def ok_cancels(statuses: list[Any]) -> dict[str, Any]:
    return {"status": "ok", "response": {"type": "cancel", "data": {"statuses": statuses}}}


def ok_default() -> dict[str, Any]:
    return {"status": "ok", "response": {"type": "default"}}


def action_error(message: str) -> dict[str, Any]:
    return {"status": "err", "response": message}


def order_error(message: str) -> dict[str, Any]:
    return {"error": message}


def resting(oid: int, cloid: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"oid": oid}
    if cloid is not None:
        body["cloid"] = cloid
    return {"resting": body}


def filled(total_sz: str, avg_px: str, oid: int, cloid: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"totalSz": total_sz, "avgPx": avg_px, "oid": oid}
    if cloid is not None:
        body["cloid"] = cloid
    return {"filled": body}
