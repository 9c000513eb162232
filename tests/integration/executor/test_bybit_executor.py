"""The executor against the Bybit simulator through the Bybit adapter."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.integration.adapters.harness import VenueHarness, started
from tests.integration.adapters.test_bybit_adapter import BybitHarness
from tests.integration.executor.executor_suite import ExecutorSuite


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def harness() -> AsyncIterator[VenueHarness]:
    async with started(BybitHarness()) as running:
        yield running


class TestBybitExecutor(ExecutorSuite):
    pass
