"""Fixtures of the executor-against-simulators suite.

A venue's test module provides a module-scoped ``harness`` fixture (the adapter suite's ``VenueHarness`` for that
venue, started once per module); ``venue`` hands it to each test and afterwards closes the test's clients and resets
the simulator. ``store`` is a fresh SQLite store on a temp file per test.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from runtime.adapters.sqlite_store import SqliteStore
from tests.integration.adapters.harness import VenueHarness


@pytest_asyncio.fixture(loop_scope="module")
async def venue(harness: VenueHarness) -> AsyncIterator[VenueHarness]:
    yield harness
    await harness.close_clients()
    await harness.reset()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "state.db", synchronous="NORMAL") as opened:
        yield opened
