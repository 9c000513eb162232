"""The Bybit v5 simulator (category=linear, unified account) that pybit accepts unchanged."""

from runtime.sim.bybit.server import BybitCredentials, BybitSimulator

__all__ = ["BybitCredentials", "BybitSimulator"]
