"""The Binance USD-M futures simulator (fapi) that python-binance accepts unchanged."""

from runtime.sim.binance.server import BinanceSimulator

__all__ = ["BinanceSimulator"]
