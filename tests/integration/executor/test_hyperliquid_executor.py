"""The executor against the Hyperliquid simulator through the Hyperliquid adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.integration.adapters.harness import VenueHarness, started
from tests.integration.adapters.hyperliquid_harness import HyperliquidHarness
from tests.integration.executor.executor_suite import ExecutorSuite


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def harness() -> AsyncIterator[VenueHarness]:
    async with started(HyperliquidHarness()) as running:
        yield running


class TestHyperliquidExecutor(ExecutorSuite):
    pass
