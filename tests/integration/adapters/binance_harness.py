"""The Binance USD-M harness for the shared adapter suite: the Binance simulator and ``BinanceClient`` against it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from runtime.adapters.binance import BinanceClient, BinanceConfig, BinanceEndpoints
from runtime.adapters.common.rate_limit import RateLimiterRegistry
from runtime.domain.values import Venue
from runtime.sim.binance import BinanceSimulator
from tests.integration.adapters.harness import ClientTuning, SimAccount, VenueHarness

# The simulator handles a request completely before it answers (or never handles it, when a fault drops it), so
# "not found" is final as soon as the connection is gone: no need to wait out Binance's recvWindow in tests.
SIM_SETTLE_S = 0.3


class BinanceHarness(VenueHarness):
    venue = Venue.BINANCE
    supports_hedge = True
    rate_limit_gives_hint = True  # 429 carries Retry-After

    def __init__(self, *, limiter: RateLimiterRegistry | None = None) -> None:
        super().__init__()
        # None: every client gets its own buckets, so one test's rate-limit penalty never slows the next.
        self.limiter = limiter

    def build_simulator(self) -> BinanceSimulator:
        return BinanceSimulator()

    def config(self, account: SimAccount, tuning: ClientTuning, *, secret: str | None = None) -> BinanceConfig:
        return BinanceConfig(
            api_key=account.credentials["api_key"],
            api_secret=secret if secret is not None else account.credentials["api_secret"],
            endpoints=BinanceEndpoints.at(self.base_url),
            timeout_s=tuning.timeout_s,
            order_timeout_s=tuning.timeout_s,
            ambiguous_settle_s=SIM_SETTLE_S,
            retry=tuning.retry,
        )

    def build_client(self, account: SimAccount, tuning: ClientTuning) -> BinanceClient:
        return BinanceClient(self.config(account, tuning), runner=self.runner, limiter=self.limiter)

    def build_client_with_bad_secret(self, account: SimAccount, tuning: ClientTuning) -> BinanceClient:
        config = self.config(account, tuning, secret="not-the-secret-" + "0" * 48)
        return BinanceClient(config, runner=self.runner, limiter=self.limiter)

    def build_client_with(self, account: SimAccount, tuning: ClientTuning, **changes: Any) -> BinanceClient:
        """A client whose config differs from the standard one by ``changes`` (closed after the test)."""
        made = BinanceClient(replace(self.config(account, tuning), **changes), runner=self.runner, limiter=self.limiter)
        self._clients.append(made)
        return made
