"""Binance USD-M futures follower adapter on python-binance."""

from runtime.adapters.binance.client import BinanceClient
from runtime.adapters.binance.config import BinanceConfig, BinanceEndpoints, BinanceRateLimits

__all__ = ["BinanceClient", "BinanceConfig", "BinanceEndpoints", "BinanceRateLimits"]
