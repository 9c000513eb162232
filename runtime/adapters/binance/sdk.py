"""python-binance plumbing: the blocking ``Client`` pointed at our endpoints, and a guard for order calls.

python-binance builds URLs from class attributes copied onto the instance: ``FUTURES_URL`` for ``/fapi`` and
``MARGIN_API_URL`` for ``/sapi`` (the key-permission call); both are overridden here. Timeouts are requests'
``timeout`` (``requests_params``), recvWindow is ``REQUEST_RECVWINDOW``. Construction does no network I/O.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from binance.client import Client

from runtime.adapters.binance.config import BinanceConfig

# requests' timeout is a fraction of our deadline, so the worker thread gives up first and frees its slot.
SDK_TIMEOUT_FRACTION = 0.8


def sdk_timeout(deadline_s: float) -> float:
    return deadline_s * SDK_TIMEOUT_FRACTION


def build_sdk_client(config: BinanceConfig) -> Client:
    """python-binance's Client pointed at the configured endpoints; no network I/O (``ping=False``)."""
    timeout = {"timeout": sdk_timeout(config.timeout_s)}
    sdk = Client(config.api_key, config.api_secret, ping=False, requests_params=timeout)
    sdk.FUTURES_URL = config.endpoints.futures_url
    if config.endpoints.sapi_url is not None:
        sdk.MARGIN_API_URL = config.endpoints.sapi_url
    sdk.REQUEST_RECVWINDOW = config.recv_window_ms
    return sdk


class NeverSent(Exception):
    """The order call was abandoned before its thread started: nothing went out (nobody awaits this)."""


class SendGuard:
    """Tells whether a blocking order call actually started, and stops it from starting once abandoned.

    A call queued behind a saturated executor may miss its deadline before it runs; without the guard it could
    still go out later, after the look-up had already concluded the order was never placed.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._abandoned = False
        self.started_at: float | None = None

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def run(**params: Any) -> Any:
            with self._lock:
                if self._abandoned:
                    raise NeverSent()
                self.started_at = time.monotonic()
            return fn(**params)

        return run

    def abandon(self) -> float | None:
        """Forbid a late start; returns when the call started (monotonic), or None if it never did."""
        with self._lock:
            self._abandoned = True
            return self.started_at
