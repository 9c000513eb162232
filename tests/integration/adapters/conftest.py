"""Fixtures of the shared adapter suite.

A venue's test module provides a module-scoped ``harness`` fixture (its ``VenueHarness`` subclass, started once
per module); the ``venue`` fixture below hands it to each test and cleans up after it: the test's clients are
closed and the simulator is reset (accounts, keys, faults and marks), so no test sees another's state.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.integration.adapters.harness import VenueHarness


@pytest_asyncio.fixture(loop_scope="module")
async def venue(harness: VenueHarness) -> AsyncIterator[VenueHarness]:
    yield harness
    await harness.close_clients()
    await harness.reset()
