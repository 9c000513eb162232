from decimal import Decimal

import pytest

from runtime.domain.values import Venue
from runtime.sim.accounts import EngineSettings
from runtime.sim.catalogue import catalogue_for
from runtime.sim.events import EventBatch
from runtime.sim.matching import MatchingEngine


class Recorder:
    def __init__(self) -> None:
        self.batches: list[EventBatch] = []

    def __call__(self, batch: EventBatch) -> None:
        self.batches.append(batch)

    def kinds(self, index: int = -1) -> list[str]:
        return [type(event).__name__ for event in self.batches[index]]


def make_engine(venue: Venue = Venue.BYBIT, **settings: object) -> MatchingEngine:
    engine = MatchingEngine(catalogue_for(venue), EngineSettings(**settings), clock=lambda: 1_700_000_000_000)  # type: ignore[arg-type]
    return engine


@pytest.fixture
def engine() -> MatchingEngine:
    """Bybit catalogue, BTCUSDT mark 50000, account "alice" with 10000 USDT in one-way mode (leverage 10)."""
    sim = make_engine()
    sim.set_mark("BTCUSDT", Decimal("50000"))
    sim.create_account("alice", Decimal("10000"))
    return sim


@pytest.fixture
def events(engine: MatchingEngine) -> Recorder:
    recorder = Recorder()
    engine.bus.subscribe(recorder)
    return recorder
