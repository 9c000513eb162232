"""One local AWS for the module's tests, and a fresh FIFO queue pair per test (short visibility and a low
maxReceiveCount, so redelivery and the dead-letter queue are reached in about a second)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from runtime.hosts.aws_local.moto_world import FifoQueue, MotoWorld, MotoWorldSettings, QueueSettings

_numbers = itertools.count()


@pytest.fixture(scope="module")
def world() -> Iterator[MotoWorld]:
    with MotoWorld(MotoWorldSettings(env_name="unit-poller")) as started:
        yield started


@pytest.fixture
def sqs(world: MotoWorld) -> Any:
    return world.client("sqs")


@pytest.fixture
def new_queue(world: MotoWorld) -> Callable[..., FifoQueue]:
    def make(visibility_timeout_s: int = 1, max_receive_count: int = 3) -> FifoQueue:
        return world.create_fifo_queue(f"q{next(_numbers)}", QueueSettings(visibility_timeout_s, max_receive_count))

    return make
