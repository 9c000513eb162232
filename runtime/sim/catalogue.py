"""The instruments each simulated venue lists, with that venue's own (different) trading rules.

Figures follow the live venues' published instrument info closely enough to exercise the engine's shaping:
Bybit ``instruments-info`` lot/price filters, Binance USD-M ``exchangeInfo`` filters (LOT_SIZE, MARKET_LOT_SIZE,
MIN_NOTIONAL) and Hyperliquid ``meta`` (szDecimals, maxLeverage; prices at most 5 significant figures and
``6 - szDecimals`` decimals; minimum order value $10). Hyperliquid has no tick size: ``tick_size`` there is the
smallest price increment the decimals rule allows, and the Hyperliquid layer checks the significant-figure rule.
The asset index of a Hyperliquid coin is its position in the catalogue (the universe ``meta`` serves).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.instruments import InstrumentRules
from runtime.domain.values import Venue

D = Decimal


@dataclass(frozen=True)
class SimInstrument:
    """One listed instrument: the generic rules plus what only some venues need."""

    rules: InstrumentRules
    base_coin: str
    quote_coin: str
    default_mark: Decimal
    sz_decimals: int | None = None  # Hyperliquid only: size decimals
    asset_index: int | None = None  # Hyperliquid only: the asset id orders carry

    @property
    def symbol(self) -> str:
        return self.rules.symbol


class Catalogue:
    """The instruments of one venue, in listing order."""

    def __init__(self, venue: Venue, instruments: list[SimInstrument]) -> None:
        self.venue = venue
        self._by_symbol = {item.symbol: item for item in instruments}
        if len(self._by_symbol) != len(instruments):
            raise ValueError(f"{venue.value} catalogue lists a symbol twice")

    def get(self, symbol: str) -> SimInstrument | None:
        return self._by_symbol.get(symbol)

    def rules(self, symbol: str) -> InstrumentRules | None:
        item = self._by_symbol.get(symbol)
        return item.rules if item is not None else None

    def symbols(self) -> list[str]:
        return list(self._by_symbol)

    def __iter__(self) -> Iterator[SimInstrument]:
        return iter(self._by_symbol.values())

    def __contains__(self, symbol: object) -> bool:
        return symbol in self._by_symbol


def _rules(
    venue: Venue,
    symbol: str,
    *,
    step: str,
    tick: str,
    min_qty: str,
    max_qty: str,
    max_mkt: str,
    min_notional: str,
    max_lev: str,
    multiplier: str = "1",
) -> InstrumentRules:
    return InstrumentRules(
        venue=venue,
        symbol=symbol,
        qty_step=D(step),
        tick_size=D(tick),
        min_qty=D(min_qty),
        max_qty=D(max_qty),
        max_market_qty=D(max_mkt),
        min_notional=D(min_notional),
        max_leverage=D(max_lev),
        unit_multiplier=D(multiplier),
        # All three let a reduce-only order close a position worth less than the minimum order value.
        reduce_only_exempt_min_notional=True,
        reduce_only_exempt_min_qty=False,
    )


# Default marks shared by the three venues (per-unit prices: the thousand-unit contracts quote 1000 tokens).
DEFAULT_MARKS = {
    "BTC": D("60000"),
    "ETH": D("3000"),
    "SOL": D("150"),
    "XRP": D("0.6"),
    "DOGE": D("0.15"),
    "PEPE1000": D("0.012"),
}


def bybit_catalogue() -> Catalogue:
    v = Venue.BYBIT
    items = [
        (
            "BTCUSDT",
            "BTC",
            dict(
                step="0.001",
                tick="0.1",
                min_qty="0.001",
                max_qty="1190",
                max_mkt="500",
                min_notional="5",
                max_lev="100",
            ),
        ),
        (
            "ETHUSDT",
            "ETH",
            dict(
                step="0.01", tick="0.01", min_qty="0.01", max_qty="7240", max_mkt="724", min_notional="5", max_lev="100"
            ),
        ),
        (
            "SOLUSDT",
            "SOL",
            dict(
                step="0.1", tick="0.01", min_qty="0.1", max_qty="79770", max_mkt="7977", min_notional="5", max_lev="100"
            ),
        ),
        (
            "XRPUSDT",
            "XRP",
            dict(
                step="1",
                tick="0.0001",
                min_qty="1",
                max_qty="2940000",
                max_mkt="294000",
                min_notional="5",
                max_lev="75",
            ),
        ),
        (
            "DOGEUSDT",
            "DOGE",
            dict(
                step="1",
                tick="0.00001",
                min_qty="1",
                max_qty="18950000",
                max_mkt="1895000",
                min_notional="5",
                max_lev="75",
            ),
        ),
        (
            "1000PEPEUSDT",
            "1000PEPE",
            dict(
                step="100",
                tick="0.0000001",
                min_qty="100",
                max_qty="245000000",
                max_mkt="24500000",
                min_notional="5",
                max_lev="25",
                multiplier="1000",
            ),
        ),
    ]
    return Catalogue(v, [_listing(v, symbol, base, "USDT", spec) for symbol, base, spec in items])


def binance_catalogue() -> Catalogue:
    v = Venue.BINANCE
    items = [
        (
            "BTCUSDT",
            "BTC",
            dict(
                step="0.001",
                tick="0.1",
                min_qty="0.001",
                max_qty="1000",
                max_mkt="120",
                min_notional="100",
                max_lev="125",
            ),
        ),
        (
            "ETHUSDT",
            "ETH",
            dict(
                step="0.001",
                tick="0.01",
                min_qty="0.001",
                max_qty="10000",
                max_mkt="2000",
                min_notional="20",
                max_lev="125",
            ),
        ),
        (
            "SOLUSDT",
            "SOL",
            dict(step="1", tick="0.01", min_qty="1", max_qty="1000000", max_mkt="5000", min_notional="5", max_lev="75"),
        ),
        (
            "XRPUSDT",
            "XRP",
            dict(
                step="0.1",
                tick="0.0001",
                min_qty="0.1",
                max_qty="10000000",
                max_mkt="2000000",
                min_notional="5",
                max_lev="75",
            ),
        ),
        (
            "DOGEUSDT",
            "DOGE",
            dict(
                step="1",
                tick="0.00001",
                min_qty="1",
                max_qty="50000000",
                max_mkt="30000000",
                min_notional="5",
                max_lev="75",
            ),
        ),
        (
            "1000PEPEUSDT",
            "1000PEPE",
            dict(
                step="1",
                tick="0.0000001",
                min_qty="1",
                max_qty="80000000",
                max_mkt="20000000",
                min_notional="5",
                max_lev="50",
                multiplier="1000",
            ),
        ),
    ]
    return Catalogue(v, [_listing(v, symbol, base, "USDT", spec) for symbol, base, spec in items])


def hyperliquid_catalogue() -> Catalogue:
    v = Venue.HYPERLIQUID
    # (coin, szDecimals, maxLeverage); index in this list = asset id.
    coins = [
        ("BTC", 5, "40"),
        ("ETH", 4, "25"),
        ("SOL", 2, "20"),
        ("XRP", 0, "20"),
        ("DOGE", 0, "10"),
        ("kPEPE", 0, "10"),
    ]
    listed: list[SimInstrument] = []
    for index, (coin, sz_decimals, max_lev) in enumerate(coins):
        step = D(1).scaleb(-sz_decimals)
        rules = InstrumentRules(
            venue=v,
            symbol=coin,
            qty_step=step,
            tick_size=D(1).scaleb(-(6 - sz_decimals)),
            min_qty=step,
            # No published size cap: large enough never to bind on a copy order.
            max_qty=D("1000000000"),
            max_market_qty=D("1000000000"),
            min_notional=D("10"),
            max_leverage=D(max_lev),
            unit_multiplier=D(1000) if coin == "kPEPE" else D(1),
            reduce_only_exempt_min_notional=True,
            reduce_only_exempt_min_qty=False,
        )
        mark_key = "PEPE1000" if coin == "kPEPE" else coin
        listed.append(SimInstrument(rules, coin, "USD", DEFAULT_MARKS[mark_key], sz_decimals, index))
    return Catalogue(v, listed)


def catalogue_for(venue: Venue) -> Catalogue:
    """A fresh catalogue of ``venue`` (each simulator owns its own)."""
    builders = {
        Venue.BYBIT: bybit_catalogue,
        Venue.BINANCE: binance_catalogue,
        Venue.HYPERLIQUID: hyperliquid_catalogue,
    }
    return builders[venue]()


def _listing(venue: Venue, symbol: str, base: str, quote: str, spec: dict[str, str]) -> SimInstrument:
    mark_key = "PEPE1000" if base == "1000PEPE" else base
    return SimInstrument(_rules(venue, symbol, **spec), base, quote, DEFAULT_MARKS[mark_key])
