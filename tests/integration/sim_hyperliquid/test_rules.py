"""Hyperliquid's nonce and precision rules as the simulator applies them (pure functions, no server)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runtime.sim.hyperliquid.nonces import MAX_AGE_MS, MAX_AHEAD_MS, NonceBook, NonceRejected
from runtime.sim.hyperliquid.payloads import fill_direction, liquidation_price
from runtime.sim.hyperliquid.wire import Tif, WireError, parse_order_wire, price_is_valid, size_is_valid

NOW = 1_700_000_000_000


def test_a_nonce_is_used_once_per_signer_but_signers_are_independent():
    book = NonceBook()
    book.use("0xagent", NOW, NOW)
    with pytest.raises(NonceRejected, match="duplicate nonce"):
        book.use("0xagent", NOW, NOW)
    book.use("0xmain", NOW, NOW)  # another signer has its own set


def test_nonce_at_or_below_the_smallest_kept_is_refused_once_the_set_is_full():
    book = NonceBook(kept_per_signer=3)
    for nonce in (NOW + 10, NOW + 20, NOW + 30):
        book.use("0xa", nonce, NOW)
    book.use("0xa", NOW + 15, NOW)  # above the smallest (10): accepted, 10 drops out
    with pytest.raises(NonceRejected, match="not above the smallest"):
        book.use("0xa", NOW + 12, NOW)


@pytest.mark.parametrize("nonce", [NOW - MAX_AGE_MS, NOW + MAX_AHEAD_MS, 0])
def test_nonce_outside_the_time_window_is_refused(nonce):
    with pytest.raises(NonceRejected, match="window"):
        NonceBook().use("0xa", nonce, NOW)


@pytest.mark.parametrize(
    ("price", "sz_decimals", "valid"),
    [
        ("30135", 5, True),  # integer: always valid
        ("1234567", 5, True),  # integer with more than 5 figures: still valid
        ("30135.5", 5, False),  # 6 significant figures
        ("301.35", 5, False),  # 5 figures but 2 decimals > 6 - 5
        ("3013.5", 4, True),
        ("0.12345", 0, True),
        ("0.123456", 0, False),  # 6 figures
        ("0.000012", 0, True),  # 6 decimals with szDecimals 0
        ("0.0000123", 0, False),  # 7 decimals
        ("0", 2, False),
        ("-10", 2, False),
    ],
)
def test_price_rule(price, sz_decimals, valid):
    assert price_is_valid(Decimal(price), sz_decimals) is valid


@pytest.mark.parametrize(
    ("size", "sz_decimals", "valid"),
    [("0.001", 3, True), ("0.0001", 3, False), ("10", 0, True), ("10.5", 0, False), ("0", 3, False)],
)
def test_size_rule(size, sz_decimals, valid):
    assert size_is_valid(Decimal(size), sz_decimals) is valid


def test_order_wire_is_read_into_decimals():
    wire = parse_order_wire(
        {"a": 0, "b": True, "p": "30135", "s": "0.001", "r": False, "t": {"limit": {"tif": "Ioc"}},
         "c": "0x000000000000000000000000000000AB"}
    )  # fmt: skip
    assert (wire.price, wire.size, wire.tif, wire.cloid) == (
        Decimal("30135"),
        Decimal("0.001"),
        Tif.IOC,
        "0x000000000000000000000000000000ab",
    )


@pytest.mark.parametrize(
    "raw",
    [
        {"a": 0, "b": True, "p": 1.5, "s": "1", "r": False, "t": {"limit": {"tif": "Gtc"}}},
        {"a": 0, "b": True, "p": "1", "s": "1", "r": False, "t": {"trigger": {}}},
        {"a": 0, "b": True, "p": "1", "s": "1", "r": False, "t": {"limit": {"tif": "Fok"}}},
        {"a": 0, "b": True, "p": "1", "s": "1", "r": False, "t": {"limit": {"tif": "Gtc"}}, "c": "0x12"},
    ],
)
def test_unreadable_order_wires_are_refused(raw):
    with pytest.raises(WireError):
        parse_order_wire(raw)


@pytest.mark.parametrize(
    ("start", "end", "direction"),
    [
        ("0", "1", "Open Long"),
        ("1", "2", "Open Long"),
        ("2", "1", "Close Long"),
        ("1", "0", "Close Long"),
        ("0", "-1", "Open Short"),
        ("-1", "-0.5", "Close Short"),
        ("1", "-1", "Long > Short"),
        ("-1", "2", "Short > Long"),
    ],
)
def test_fill_direction(start, end, direction):
    assert fill_direction(Decimal(start), Decimal(end)) == direction


def test_liquidation_price_of_a_long_and_a_short():
    # Long 1 at mark 100 with account value 20 and max leverage 10 (maintenance 5%): P = (100 - 20) / 0.95.
    assert liquidation_price(Decimal(1), Decimal(100), Decimal(20), Decimal(10)) == Decimal(80) / Decimal("0.95")
    # Short 1 at 100 with 20: P = (100 + 20) / 1.05.
    assert liquidation_price(Decimal(-1), Decimal(100), Decimal(20), Decimal(10)) == Decimal(120) / Decimal("1.05")
    # A long the account could carry to zero has none.
    assert liquidation_price(Decimal(1), Decimal(100), Decimal(500), Decimal(10)) is None
