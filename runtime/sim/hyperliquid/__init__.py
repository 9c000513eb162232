"""The Hyperliquid perps simulator that hyperliquid-python-sdk accepts unchanged (see docs/simulators.md)."""

from runtime.sim.hyperliquid.server import HyperliquidCredentials, HyperliquidSimulator

__all__ = ["HyperliquidCredentials", "HyperliquidSimulator"]
