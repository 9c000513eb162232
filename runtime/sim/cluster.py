"""Hosts the three exchange simulators in one process (tests, the demo, paper trading and `copytrader sim`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from runtime.sim.binance import BinanceSimulator
    from runtime.sim.bybit import BybitSimulator
    from runtime.sim.hyperliquid import HyperliquidSimulator


@dataclass
class SimulatorCluster:
    """Bybit, Binance and Hyperliquid simulators on 127.0.0.1. Port 0 picks a free port."""

    bybit_port: int = 0
    binance_port: int = 0
    hyperliquid_port: int = 0
    bybit: BybitSimulator | None = field(default=None, init=False)
    binance: BinanceSimulator | None = field(default=None, init=False)
    hyperliquid: HyperliquidSimulator | None = field(default=None, init=False)

    async def start(self) -> None:
        # Imported here: the simulators pull in aiohttp and eth_account, which a plain `copytrader --help` should not.
        from runtime.sim.binance import BinanceSimulator
        from runtime.sim.bybit import BybitSimulator
        from runtime.sim.hyperliquid import HyperliquidSimulator

        self.bybit = BybitSimulator()
        self.binance = BinanceSimulator()
        self.hyperliquid = HyperliquidSimulator()
        try:
            await self.bybit.start(port=self.bybit_port)
            await self.binance.start(port=self.binance_port)
            await self.hyperliquid.start(port=self.hyperliquid_port)
        except OSError:
            await self.stop()
            raise

    async def stop(self) -> None:
        for sim in (self.hyperliquid, self.binance, self.bybit):
            if sim is not None:
                await sim.stop()

    def describe(self) -> list[tuple[str, str, str]]:
        """(venue, REST base URL, WebSocket URL) for each running simulator."""
        rows: list[tuple[str, str, str]] = []
        if self.bybit is not None:
            rows.append(("bybit", self.bybit.base_url, self.bybit.ws_url))
        if self.binance is not None:
            rows.append(("binance", self.binance.base_url, self.binance.ws_url))
        if self.hyperliquid is not None:
            rows.append(("hyperliquid", self.hyperliquid.base_url, self.hyperliquid.ws_url))
        return rows
