"""Hyperliquid perps follower adapter (hyperliquid-python-sdk, trading through an agent wallet)."""

from runtime.adapters.hyperliquid.client import HyperliquidClient
from runtime.adapters.hyperliquid.config import HyperliquidConfig, HyperliquidCredentials

__all__ = ["HyperliquidClient", "HyperliquidConfig", "HyperliquidCredentials"]
