"""Cross-venue symbol mapping: the master's Bybit symbol -> each follower venue's symbol and unit multiplier.

The same market has different names and sometimes different units: ``1000PEPEUSDT`` on Bybit and Binance and
``kPEPE`` on Hyperliquid each count 1000 PEPE per unit of quantity, while Bybit's ``SHIB1000USDT`` is Binance's
``1000SHIBUSDT``. ``unit_multiplier`` is the number of base tokens one unit of quantity stands for; a master size
converts to follower units by ``unit_ratio`` = master multiplier / follower multiplier.

Resolution order: configuration overrides, then the built-in table, then a derivation rule by base asset
(``XXXUSDT`` -> ``XXXUSDT`` on Binance and ``XXX`` on Hyperliquid; ``1000XXXUSDT`` -> ``1000XXXUSDT`` and ``kXXX``).
A symbol none of them covers raises ``UnmappedSymbolError``, whose message says how to add it to the config.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from runtime.domain.values import Venue, to_decimal

ONE = Decimal(1)
THOUSAND = Decimal(1000)

_QUOTE = "USDT"
_SCALED_STEM = re.compile(r"(?P<scale>10{3,})(?P<base>[A-Z][A-Z0-9]*)")  # 1000PEPE, 10000SATS
_PLAIN_STEM = re.compile(r"[A-Z0-9]*[A-Z][A-Z0-9]*")  # BTC, 1INCH


@dataclass(frozen=True)
class VenueSymbol:
    """A venue's name for a market and how many base tokens one unit of its quantity stands for."""

    symbol: str
    unit_multiplier: Decimal = ONE

    def __post_init__(self) -> None:
        if not self.symbol:
            raise ValueError("a venue symbol cannot be empty")
        if not isinstance(self.unit_multiplier, Decimal) or self.unit_multiplier <= 0:
            raise ValueError(f"{self.symbol}: unit_multiplier must be a positive Decimal, got {self.unit_multiplier!r}")


class UnmappedSymbolError(LookupError):
    """The master trades a symbol the engine cannot name on a follower venue."""

    def __init__(self, master_symbol: str, venue: Venue) -> None:
        self.master_symbol = master_symbol
        self.venue = venue
        super().__init__(
            f"no {venue.value} symbol is known for the master's {master_symbol}: it is neither built in nor "
            f"derivable from its base asset. Add it to the config, e.g.\n"
            f"  [symbols.{master_symbol}]\n"
            f'  {venue.value} = {{ symbol = "<{venue.value} name>", unit_multiplier = "<base tokens per unit>" }}'
        )


def _table(bybit: str, binance: str, hyperliquid: str, multiplier: Decimal = ONE) -> dict[Venue, VenueSymbol]:
    return {
        Venue.BYBIT: VenueSymbol(bybit, multiplier),
        Venue.BINANCE: VenueSymbol(binance, multiplier),
        Venue.HYPERLIQUID: VenueSymbol(hyperliquid, multiplier),
    }


# Markets checked by hand; the derivation rule would give the same for most, the table pins them down.
BUILTIN_SYMBOLS: Mapping[str, Mapping[Venue, VenueSymbol]] = {
    "BTCUSDT": _table("BTCUSDT", "BTCUSDT", "BTC"),
    "ETHUSDT": _table("ETHUSDT", "ETHUSDT", "ETH"),
    "SOLUSDT": _table("SOLUSDT", "SOLUSDT", "SOL"),
    "XRPUSDT": _table("XRPUSDT", "XRPUSDT", "XRP"),
    "DOGEUSDT": _table("DOGEUSDT", "DOGEUSDT", "DOGE"),
    "1000PEPEUSDT": _table("1000PEPEUSDT", "1000PEPEUSDT", "kPEPE", THOUSAND),
    "SHIB1000USDT": _table("SHIB1000USDT", "1000SHIBUSDT", "kSHIB", THOUSAND),  # Bybit puts the 1000 after
}


def _split_master_symbol(master_symbol: str) -> tuple[str, Decimal] | None:
    """``1000PEPEUSDT`` -> (``PEPE``, 1000); ``BTCUSDT`` -> (``BTC``, 1); None when not ``<stem>USDT``."""
    if not master_symbol.endswith(_QUOTE):
        return None
    stem = master_symbol[: -len(_QUOTE)]
    scaled = _SCALED_STEM.fullmatch(stem)
    if scaled:
        return scaled["base"], Decimal(scaled["scale"])
    if _PLAIN_STEM.fullmatch(stem):
        return stem, ONE
    return None


def derive_venue_symbol(master_symbol: str, venue: Venue) -> VenueSymbol | None:
    """The derivation rule by base asset, or None when it does not apply (then a config mapping is needed)."""
    split = _split_master_symbol(master_symbol)
    if split is None:
        return None
    base, scale = split
    if venue is Venue.BYBIT:
        return VenueSymbol(master_symbol, scale)
    if scale not in (ONE, THOUSAND):  # 10000SATS and the like are named differently venue by venue
        return None
    if venue is Venue.BINANCE:
        return VenueSymbol(master_symbol, scale)
    return VenueSymbol(base if scale == ONE else f"k{base}", scale)


class SymbolMap:
    """Resolves master symbols to follower venue symbols: overrides, then built-ins, then derivation."""

    def __init__(
        self,
        overrides: Mapping[str, Mapping[Venue | str, VenueSymbol]] | None = None,
        *,
        derive: bool = True,
    ) -> None:
        self._derive = derive
        self._overrides: dict[str, dict[Venue, VenueSymbol]] = {}
        for master_symbol, venues in (overrides or {}).items():
            self._overrides[master_symbol] = {_venue(name, master_symbol): mapped for name, mapped in venues.items()}

    def resolve(self, master_symbol: str, venue: Venue) -> VenueSymbol:
        for table in (self._overrides, BUILTIN_SYMBOLS):
            mapped = table.get(master_symbol, {}).get(venue)
            if mapped is not None:
                return mapped
        # No guess past this point: a wrong multiplier would size a follower 1000 times off.
        derived = derive_venue_symbol(master_symbol, venue) if self._derive else None
        if derived is None:
            raise UnmappedSymbolError(master_symbol, venue)
        return derived

    def is_mapped(self, master_symbol: str, venue: Venue) -> bool:
        try:
            self.resolve(master_symbol, venue)
        except UnmappedSymbolError:
            return False
        return True

    def unit_ratio(self, master_symbol: str, venue: Venue) -> Decimal:
        """Follower units per master unit: master multiplier / follower multiplier (1000PEPEUSDT -> PEPE: 1000)."""
        master = self.resolve(master_symbol, Venue.BYBIT)
        follower = self.resolve(master_symbol, venue)
        return master.unit_multiplier / follower.unit_multiplier


def _venue(name: Venue | str, master_symbol: str) -> Venue:
    if isinstance(name, Venue):
        return name
    try:
        return Venue(name.strip().lower())
    except ValueError as exc:
        known = ", ".join(v.value for v in Venue)
        raise ValueError(f"symbols.{master_symbol}: unknown venue {name!r}; use one of {known}") from exc


def parse_symbol_overrides(raw: Mapping[str, Mapping[str, object]]) -> dict[str, dict[Venue, VenueSymbol]]:
    """Read the config's ``[symbols]`` table: ``{master: {venue: "NAME" | {symbol, unit_multiplier}}}``."""
    parsed: dict[str, dict[Venue, VenueSymbol]] = {}
    for master_symbol, venues in raw.items():
        entry: dict[Venue, VenueSymbol] = {}
        for name, value in venues.items():
            where = f"symbols.{master_symbol}.{name}"
            if isinstance(value, str):
                entry[_venue(name, master_symbol)] = VenueSymbol(value)
                continue
            if not isinstance(value, Mapping) or not isinstance(value.get("symbol"), str):
                raise ValueError(f'{where}: expected "NAME" or {{ symbol = "NAME", unit_multiplier = "1000" }}')
            multiplier = to_decimal(value.get("unit_multiplier", 1), field=f"{where}.unit_multiplier")
            entry[_venue(name, master_symbol)] = VenueSymbol(str(value["symbol"]), multiplier)
        parsed[master_symbol] = entry
    return parsed
