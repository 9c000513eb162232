"""Fault injection for the simulators: latency and errors per endpoint class, reproducible through a seed.

Latency is added *after* the request was processed and before the response is written, like a slow venue whose
order still lands: a client that gives up early leaves the order placed and must resolve it by look-up. Injected
errors are rendered by the venue's own formatter, so the SDKs see the venue's real error shapes. Timings are
floats (seconds): they never touch money.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from aiohttp import web
from aiohttp.typedefs import Middleware

log = logging.getLogger(__name__)

ALL_CLASSES = "*"  # a latency or error rule for every endpoint class


class EndpointClass(StrEnum):
    """The usual classes; a venue may use other strings too."""

    ORDER = "order"  # place, cancel, amend
    READ = "read"  # order look-up, positions, fills
    ACCOUNT = "account"  # wallet, leverage, position mode, keys
    PUBLIC = "public"  # instruments, time, marks
    WS = "ws"  # WebSocket upgrade (errors only: latency makes no sense on a long-lived socket)


class InjectedError(StrEnum):
    SERVER_ERROR = "server_error"  # 5xx
    RATE_LIMIT = "rate_limit"  # Bybit 10006, Binance 429, Hyperliquid 429
    TIMEOUT = "timeout"  # hold the response, then drop the connection without answering


@dataclass(frozen=True)
class LatencySpec:
    """A fixed delay, or uniform(low, high) x scale drawn from the plan's seeded RNG. Seconds."""

    fixed_s: Decimal | None = None
    low_s: Decimal = Decimal(0)
    high_s: Decimal = Decimal(0)
    scale: Decimal = Decimal(1)

    def __post_init__(self) -> None:
        if self.fixed_s is not None and self.fixed_s < 0:
            raise ValueError(f"latency must be >= 0 s, got {self.fixed_s}")
        if self.fixed_s is None and not Decimal(0) <= self.low_s <= self.high_s:
            raise ValueError(f"uniform latency needs 0 <= low <= high, got {self.low_s}..{self.high_s}")
        if self.scale < 0:
            raise ValueError(f"latency scale must be >= 0, got {self.scale}")

    def sample(self, rng: random.Random) -> float:
        if self.fixed_s is not None:
            return float(self.fixed_s * self.scale)
        return rng.uniform(float(self.low_s), float(self.high_s)) * float(self.scale)


@dataclass
class ErrorRule:
    """Inject ``kind`` on the next ``count`` calls, or on each call with ``probability`` (seeded).

    ``process_first``: handle the request before failing (the order lands but the client never hears of it).
    Defaults: timeouts process first, 5xx and rate limits do not.
    """

    kind: InjectedError
    count: int | None = None
    probability: Decimal | None = None
    process_first: bool | None = None

    @property
    def processes_first(self) -> bool:
        return self.kind is InjectedError.TIMEOUT if self.process_first is None else self.process_first

    def __post_init__(self) -> None:
        if (self.count is None) == (self.probability is None):
            raise ValueError("an error rule needs exactly one of count or probability")
        if self.count is not None and self.count < 1:
            raise ValueError(f"count must be >= 1, got {self.count}")
        if self.probability is not None and not Decimal(0) <= self.probability <= Decimal(1):
            raise ValueError(f"probability must be between 0 and 1, got {self.probability}")


class FaultPlan:
    """The faults currently armed on one simulator."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.latency: dict[str, LatencySpec] = {}
        self.errors: dict[str, list[ErrorRule]] = {}
        self.timeout_hold_s: float = 10.0
        # Set on shutdown so held "timeout" requests let go at once instead of delaying the stop.
        self.released = asyncio.Event()

    def reseed(self, seed: int) -> None:
        self.rng.seed(seed)

    def clear(self) -> None:
        self.latency.clear()
        self.errors.clear()

    def set_latency(self, endpoint_class: str, spec: LatencySpec | None) -> None:
        if spec is None:
            self.latency.pop(endpoint_class, None)
        else:
            self.latency[endpoint_class] = spec

    def add_error(self, endpoint_class: str, rule: ErrorRule) -> None:
        self.errors.setdefault(endpoint_class, []).append(rule)

    def delay_for(self, endpoint_class: str) -> float:
        spec = self.latency.get(endpoint_class) or self.latency.get(ALL_CLASSES)
        return spec.sample(self.rng) if spec is not None else 0.0

    def take_error(self, endpoint_class: str) -> ErrorRule | None:
        """The error to inject on this call, if any; a counted rule is used up one call at a time."""
        for key in (endpoint_class, ALL_CLASSES):
            rules = self.errors.get(key, [])
            for rule in list(rules):
                if rule.count is not None:
                    rule.count -= 1
                    if rule.count <= 0:
                        rules.remove(rule)
                    return rule
                if rule.probability is not None and self.rng.random() < float(rule.probability):
                    return rule
        return None


Classifier = Callable[[web.Request], str]
ErrorFormatter = Callable[[InjectedError, web.Request], web.StreamResponse]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def fault_middleware(plan: FaultPlan, classify: Classifier, format_error: ErrorFormatter) -> Middleware:
    """aiohttp middleware applying ``plan`` to every request outside /admin."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/admin"):
            return await handler(request)
        endpoint_class = classify(request)
        rule = plan.take_error(endpoint_class)
        if rule is not None:
            if rule.processes_first and endpoint_class != EndpointClass.WS:
                await handler(request)
            if rule.kind is InjectedError.TIMEOUT:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(plan.released.wait(), plan.timeout_hold_s)
                _drop_connection(request)
                # The client already lost the connection; this answer is never delivered.
                return web.Response(status=504)
            return format_error(rule.kind, request)
        response = await handler(request)
        if endpoint_class != EndpointClass.WS:
            delay = plan.delay_for(endpoint_class)
            if delay > 0:
                await asyncio.sleep(delay)
        return response

    return middleware


def _drop_connection(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()
