"""Fixtures of the end-to-end tests: the three simulators, started once per test module (``sim_cluster``).

A module using it runs its tests on the module's event loop (``pytest.mark.asyncio(loop_scope="module")``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from runtime.sim.cluster import SimulatorCluster


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sim_cluster() -> AsyncIterator[SimulatorCluster]:
    cluster = SimulatorCluster()
    await cluster.start()
    try:
        yield cluster
    finally:
        await cluster.stop()
