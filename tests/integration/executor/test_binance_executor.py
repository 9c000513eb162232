"""The executor against the Binance simulator through the Binance adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.integration.adapters.binance_harness import BinanceHarness
from tests.integration.adapters.harness import VenueHarness, started
from tests.integration.executor.executor_suite import ExecutorSuite


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def harness() -> AsyncIterator[VenueHarness]:
    async with started(BinanceHarness()) as running:
        yield running


class TestBinanceExecutor(ExecutorSuite):
    pass
