"""Client order ids: deterministic, distinct for every input, and valid in each venue's format."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from runtime.domain.client_ids import (
    ClientOrderKey,
    InvalidClientOrderIdError,
    OrderPart,
    OrderPhase,
    binance_client_order_id,
    bybit_order_link_id,
    client_order_id,
    hyperliquid_cloid,
    is_valid_binance_client_order_id,
    is_valid_bybit_order_link_id,
    is_valid_hyperliquid_cloid,
    validate_client_order_id,
)
from runtime.domain.positions import LegKey
from runtime.domain.values import PositionIdx, Venue

KEY = ClientOrderKey("follower-1", "BTCUSDT:0:11", 11, LegKey("BTCUSDT"), OrderPart())


def test_same_key_gives_the_same_id_on_every_venue() -> None:
    twin = ClientOrderKey("follower-1", "BTCUSDT:0:11", 11, LegKey("BTCUSDT"), OrderPart())
    for venue in Venue:
        assert client_order_id(KEY, venue) == client_order_id(twin, venue)
    assert bybit_order_link_id(KEY) == "ct" + KEY.digest()[:16].hex()


@pytest.mark.parametrize(
    "changed",
    [
        replace(KEY, follower_id="follower-2"),
        replace(KEY, lifecycle_id="BTCUSDT:0:12"),
        replace(KEY, lifecycle_id=None),
        replace(KEY, master_seq=12),
        replace(KEY, leg=LegKey("ETHUSDT")),
        replace(KEY, leg=LegKey("BTCUSDT", PositionIdx.HEDGE_LONG)),
        replace(KEY, part=OrderPart(OrderPhase.CLOSE)),
        replace(KEY, part=OrderPart(OrderPhase.OPEN)),
        replace(KEY, part=OrderPart(OrderPhase.ADJUST, child=1)),
        replace(KEY, part=OrderPart(OrderPhase.SYNC)),
    ],
)
def test_every_input_changes_the_id(changed: ClientOrderKey) -> None:
    for venue in Venue:
        assert client_order_id(changed, venue) != client_order_id(KEY, venue)


def test_field_boundaries_cannot_be_shifted_to_collide() -> None:
    left = ClientOrderKey("a:b", "c", 1, LegKey("X"))
    right = ClientOrderKey("a", "b:c", 1, LegKey("X"))
    assert left.digest() != right.digest()


def test_formats_per_venue() -> None:
    link_id, client_id, cloid = bybit_order_link_id(KEY), binance_client_order_id(KEY), hyperliquid_cloid(KEY)
    assert len(link_id) == len(client_id) == 34
    assert cloid.startswith("0x") and len(cloid) == 34 and cloid == cloid.lower()
    assert validate_client_order_id(link_id, Venue.BYBIT) == link_id
    assert validate_client_order_id(client_id, Venue.BINANCE) == client_id
    assert validate_client_order_id(cloid, Venue.HYPERLIQUID) == cloid


@pytest.mark.parametrize(
    ("value", "bybit", "binance", "hyperliquid"),
    [
        ("ct0123", True, True, False),
        ("a" * 36, True, True, False),
        ("a" * 37, False, False, False),
        ("", False, False, False),
        ("has.dot:colon/slash", False, True, False),
        ("spaces not allowed", False, False, False),
        ("0x" + "ab" * 16, True, True, True),
        ("0x" + "AB" * 16, True, True, False),
        ("0x" + "ab" * 15, True, True, False),
        ("ct0123\n", False, False, False),
    ],
)
def test_validators(value: str, bybit: bool, binance: bool, hyperliquid: bool) -> None:
    assert is_valid_bybit_order_link_id(value) is bybit
    assert is_valid_binance_client_order_id(value) is binance
    assert is_valid_hyperliquid_cloid(value) is hyperliquid


def test_invalid_id_error_names_the_venue_and_rule() -> None:
    with pytest.raises(InvalidClientOrderIdError, match=r"hyperliquid.*0x followed by 32 lowercase hex"):
        validate_client_order_id("ct0123", Venue.HYPERLIQUID)


def test_negative_child_index_is_refused() -> None:
    with pytest.raises(ValueError, match="child index"):
        OrderPart(child=-1)


keys = st.builds(
    ClientOrderKey,
    follower_id=st.text(min_size=1, max_size=40),
    lifecycle_id=st.none() | st.text(max_size=40),
    master_seq=st.integers(min_value=-1, max_value=2**63),
    leg=st.builds(LegKey, st.text(min_size=1, max_size=20), st.sampled_from(PositionIdx)),
    part=st.builds(OrderPart, st.sampled_from(OrderPhase), st.integers(min_value=0, max_value=1000)),
)


@settings(max_examples=300, deadline=None)
@given(key=keys, other=keys)
def test_random_keys_give_valid_deterministic_ids(key: ClientOrderKey, other: ClientOrderKey) -> None:
    for venue in Venue:
        value = client_order_id(key, venue)
        assert validate_client_order_id(value, venue) == value
        assert client_order_id(replace(key), venue) == value
        assert (client_order_id(other, venue) == value) is (other == key)
