"""Symbol mapping across venues: built-ins, the derivation rule, config overrides and unit ratios."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runtime.domain.symbols import (
    SymbolMap,
    UnmappedSymbolError,
    VenueSymbol,
    derive_venue_symbol,
    parse_symbol_overrides,
)
from runtime.domain.values import Venue

K = Decimal(1000)


@pytest.mark.parametrize(
    ("master", "bybit", "binance", "hyperliquid", "multiplier"),
    [
        ("BTCUSDT", "BTCUSDT", "BTCUSDT", "BTC", Decimal(1)),
        ("ETHUSDT", "ETHUSDT", "ETHUSDT", "ETH", Decimal(1)),
        ("SOLUSDT", "SOLUSDT", "SOLUSDT", "SOL", Decimal(1)),
        ("XRPUSDT", "XRPUSDT", "XRPUSDT", "XRP", Decimal(1)),
        ("DOGEUSDT", "DOGEUSDT", "DOGEUSDT", "DOGE", Decimal(1)),
        ("1000PEPEUSDT", "1000PEPEUSDT", "1000PEPEUSDT", "kPEPE", K),
        ("SHIB1000USDT", "SHIB1000USDT", "1000SHIBUSDT", "kSHIB", K),
    ],
)
def test_builtin_symbols(master: str, bybit: str, binance: str, hyperliquid: str, multiplier: Decimal) -> None:
    symbols = SymbolMap()
    assert symbols.resolve(master, Venue.BYBIT) == VenueSymbol(bybit, multiplier)
    assert symbols.resolve(master, Venue.BINANCE) == VenueSymbol(binance, multiplier)
    assert symbols.resolve(master, Venue.HYPERLIQUID) == VenueSymbol(hyperliquid, multiplier)
    for venue in Venue:
        assert symbols.unit_ratio(master, venue) == 1


@pytest.mark.parametrize(
    ("master", "venue", "expected"),
    [
        ("AVAXUSDT", Venue.BINANCE, VenueSymbol("AVAXUSDT")),
        ("AVAXUSDT", Venue.HYPERLIQUID, VenueSymbol("AVAX")),
        ("AVAXUSDT", Venue.BYBIT, VenueSymbol("AVAXUSDT")),
        ("1INCHUSDT", Venue.HYPERLIQUID, VenueSymbol("1INCH")),
        ("1000BONKUSDT", Venue.BINANCE, VenueSymbol("1000BONKUSDT", K)),
        ("1000BONKUSDT", Venue.HYPERLIQUID, VenueSymbol("kBONK", K)),
        ("10000SATSUSDT", Venue.BYBIT, VenueSymbol("10000SATSUSDT", Decimal(10000))),
        ("10000SATSUSDT", Venue.HYPERLIQUID, None),
        ("10000SATSUSDT", Venue.BINANCE, None),
        ("BTCPERP", Venue.HYPERLIQUID, None),
        ("BTCPERP", Venue.BYBIT, None),
    ],
)
def test_derivation_rule_by_base_asset(master: str, venue: Venue, expected: VenueSymbol | None) -> None:
    assert derive_venue_symbol(master, venue) == expected


def test_unmapped_symbol_error_names_symbol_venue_and_the_config_fix() -> None:
    with pytest.raises(UnmappedSymbolError) as caught:
        SymbolMap().resolve("10000SATSUSDT", Venue.HYPERLIQUID)
    message = str(caught.value)
    assert "10000SATSUSDT" in message and "hyperliquid" in message
    assert "[symbols.10000SATSUSDT]" in message and "unit_multiplier" in message
    assert (caught.value.master_symbol, caught.value.venue) == ("10000SATSUSDT", Venue.HYPERLIQUID)
    assert not SymbolMap().is_mapped("10000SATSUSDT", Venue.HYPERLIQUID)
    assert SymbolMap().is_mapped("10000SATSUSDT", Venue.BYBIT)


def test_overrides_win_and_unit_ratio_converts_master_units() -> None:
    symbols = SymbolMap(
        {
            "1000PEPEUSDT": {Venue.HYPERLIQUID: VenueSymbol("PEPE", Decimal(1))},  # a venue listing the raw token
            "10000SATSUSDT": {"binance": VenueSymbol("1000SATSUSDT", K)},
        }
    )
    assert symbols.resolve("1000PEPEUSDT", Venue.HYPERLIQUID) == VenueSymbol("PEPE")
    assert symbols.unit_ratio("1000PEPEUSDT", Venue.HYPERLIQUID) == K
    assert symbols.unit_ratio("1000PEPEUSDT", Venue.BINANCE) == 1
    assert symbols.unit_ratio("10000SATSUSDT", Venue.BINANCE) == Decimal(10)


def test_derivation_can_be_switched_off() -> None:
    symbols = SymbolMap(derive=False)
    assert symbols.resolve("BTCUSDT", Venue.HYPERLIQUID) == VenueSymbol("BTC")
    with pytest.raises(UnmappedSymbolError):
        symbols.resolve("AVAXUSDT", Venue.BINANCE)


def test_unknown_venue_in_overrides_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown venue 'okx'"):
        SymbolMap({"BTCUSDT": {"okx": VenueSymbol("BTC-USDT-SWAP")}})


def test_config_overrides_parse_strings_and_tables() -> None:
    parsed = parse_symbol_overrides(
        {"SHIB1000USDT": {"hyperliquid": {"symbol": "kSHIB", "unit_multiplier": "1000"}, "binance": "1000SHIBUSDT"}}
    )
    assert parsed == {
        "SHIB1000USDT": {Venue.HYPERLIQUID: VenueSymbol("kSHIB", K), Venue.BINANCE: VenueSymbol("1000SHIBUSDT")}
    }
    with pytest.raises(ValueError, match=r"symbols\.X\.binance"):
        parse_symbol_overrides({"X": {"binance": {"unit_multiplier": "10"}}})
    with pytest.raises(TypeError, match="refusing float"):
        parse_symbol_overrides({"X": {"binance": {"symbol": "X", "unit_multiplier": 0.1}}})


def test_venue_symbol_refuses_bad_multipliers() -> None:
    with pytest.raises(ValueError, match="positive Decimal"):
        VenueSymbol("BTC", Decimal(0))
