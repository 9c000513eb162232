"""The Bybit follower adapter (pybit HTTP, category=linear)."""

from runtime.adapters.bybit.client import BybitClient
from runtime.adapters.bybit.config import BybitConfig, BybitCredentials

__all__ = ["BybitClient", "BybitConfig", "BybitCredentials"]
