"""The local host's supervision: a start-up refusal raised as a critical alert, the audit's heal reaching the
follower's queue as a HEAL job, and the ``Supervisor`` (an audit pass on demand with its own grace period, the
periodic pass one interval after the start, alerts delivered on close)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import cast

import pytest

from runtime.adapters.notifiers.feed import AlertFeed
from runtime.adapters.sqlite_store import SqliteStore
from runtime.domain.audit import DiscrepancyKind
from runtime.domain.events import Lifecycle
from runtime.domain.symbols import SymbolMap
from runtime.domain.values import PositionIdx, PositionMode, Venue
from runtime.hosts.local import ChangeSink, LocalHost, StartupError
from runtime.hosts.supervision import Supervisor
from runtime.ports.exchange import ExchangeClient, KeyPermissions
from runtime.ports.store import MasterSnapshot
from runtime.services.alerts.dispatcher import AlertDispatcher
from runtime.services.alerts.model import Alert, Severity
from runtime.services.alerts.router import AlertRouter, Route
from runtime.services.audit import AuditService, AuditSettings
from runtime.services.audit_legs import SkipReason
from runtime.services.jobs import FollowerJob, JobOutcome, JobReason
from runtime.services.stream_alerts import MasterStreamWatch
from runtime.services.workers import UnknownFollowerError
from tests.unit.audit.test_audit_service import FakeClient as AuditedClient
from tests.unit.audit.test_audit_service import follower
from tests.unit.pipeline.fakes import FakeExecutor
from tests.unit.pipeline.test_local_host import FakeClient, FakeCorrelator, FakeFeed, FakeRest, account, leg_state

D = Decimal
NOW_MS = 1_700_000_000_000


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "state.db") as opened:
        yield opened


def host_with(
    store: SqliteStore, clients: dict[str, FakeClient], alerts: list[Alert], executor: FakeExecutor | None = None
) -> LocalHost:
    def factory(sink: ChangeSink) -> FakeFeed:
        return FakeFeed(sink, FakeCorrelator((leg_state("0.5", 3),)), FakeRest())

    return LocalHost(
        master_id="m",
        store=store,
        followers=[account(name, client, client.mode) for name, client in clients.items()],
        executor=executor or FakeExecutor(),
        feed_factory=factory,
        wall_ms=lambda: NOW_MS,
        notify=alerts.append,
    )


async def test_a_key_refused_at_start_up_is_a_critical_alert_naming_every_problem(store: SqliteStore) -> None:
    alerts: list[Alert] = []
    clients = {
        "a": FakeClient(permissions=KeyPermissions(True, True, True)),
        "b": FakeClient(permissions=KeyPermissions(False, False, False, "bad signature")),
    }
    with pytest.raises(StartupError):
        await host_with(store, clients, alerts).start()
    (alert,) = alerts
    assert (alert.kind, alert.severity, alert.key) == ("KeyRefused", Severity.CRITICAL, "startup:m:KeyRefused")
    assert "follower a" in alert.text and "WITHDRAW" in alert.text and "bad signature" in alert.text


async def test_a_position_mode_that_cannot_be_set_is_a_critical_alert(store: SqliteStore) -> None:
    alerts: list[Alert] = []
    stuck = FakeClient(Venue.BINANCE, refuse_mode_switch=True)  # one-way, configured hedge, refuses the switch
    host = host_with(store, {}, alerts)
    host.followers = (account("b", stuck, PositionMode.HEDGE),)
    with pytest.raises(StartupError):
        await host.start()
    assert [(a.kind, a.severity) for a in alerts] == [("PositionModeRefused", Severity.CRITICAL)]


class RecordingExecutor(FakeExecutor):
    """Also keeps each job's reason and sync round."""

    def __init__(self) -> None:
        super().__init__()
        self.jobs: list[tuple[JobReason, str]] = []

    async def execute(self, job: FollowerJob) -> JobOutcome:
        self.jobs.append((job.reason, job.sync_round))
        return await super().execute(job)


async def test_a_clean_start_raises_no_alert_and_heal_queues_a_heal_job(store: SqliteStore) -> None:
    alerts: list[Alert] = []
    executor = RecordingExecutor()
    host = host_with(store, {"a": FakeClient()}, alerts, executor)
    await host.start()
    try:
        assert await host.wait_idle(2)
        await host.enqueue_heal("a", "BTCUSDT", PositionIdx.ONE_WAY, "audit-42")
        assert await host.wait_idle(2)
        assert executor.seqs("a") == [0, 3]  # the start-up SYNC, then the HEAL job traced to the snapshot's seq
        assert executor.jobs == [(JobReason.SYNC, "startup-1700000000000"), (JobReason.HEAL, "audit-42")]
        with pytest.raises(UnknownFollowerError):
            await host.enqueue_heal("zed", "BTCUSDT", PositionIdx.ONE_WAY, "audit-42")
    finally:
        await host.stop()
    assert alerts == []


# --- the Supervisor -------------------------------------------------------------------------------------------------


def recent_master(store: SqliteStore, now_ms: int, ago_ms: int) -> None:
    life = Lifecycle("BTCUSDT:0:1", D(6000), D(100000), 1)
    at = now_ms - ago_ms
    store.put_master_snapshot(
        MasterSnapshot("m", "BTCUSDT", PositionIdx.ONE_WAY, 1, D(1), D(0), D(10), D(60000), life, at, at)
    )
    store.get_or_set_ratio("alice", life.id, D("0.1"))


def supervisor(store: SqliteStore, feed: AlertFeed, **settings: object) -> Supervisor:
    alerts = AlertDispatcher(AlertRouter([Route(feed, Severity.INFO)]))
    audit = AuditService(
        store,
        {"alice": cast(ExchangeClient, AuditedClient())},
        {"alice": follower()},
        SymbolMap(),
        "m",
        notify=alerts.notify,
        settings=AuditSettings(**settings),  # type: ignore[arg-type]
        clock_ms=lambda: NOW_MS,
    )
    return Supervisor(alerts, audit, MasterStreamWatch(lambda: None, alerts.notify, master_id="m"))


async def test_an_audit_on_demand_honours_its_own_grace_period(store: SqliteStore) -> None:
    recent_master(store, NOW_MS, ago_ms=5_000)  # the master moved 5 s ago; the follower holds nothing
    feed = AlertFeed()
    watch = supervisor(store, feed, grace_s=60.0)
    await watch.start_alerts()
    try:
        graced = await watch.audit_once()
        assert graced.findings == () and [s.reason for s in graced.skipped] == [SkipReason.IN_GRACE]
        judged = await watch.audit_once(grace_s=0)
        assert [f.kind for f in judged.findings] == [DiscrepancyKind.MISSING_POSITION]
        assert watch.audit.settings.grace_s == 60.0  # the override was for that pass only
    finally:
        await watch.close_alerts()
    assert [alert.kind for alert in feed.recent()] == ["MissingPosition"]  # delivered on close at the latest


async def test_the_periodic_audit_runs_one_interval_after_the_start_and_stops_with_the_watchers(
    store: SqliteStore,
) -> None:
    recent_master(store, NOW_MS, ago_ms=120_000)
    feed = AlertFeed()
    watch = supervisor(store, feed, interval_s=0.2, grace_s=0.0)
    await watch.start_alerts()
    watch.start_watchers()
    await asyncio.sleep(0.05)
    assert store.get_alert("audit:alice:BTCUSDT:0") is None  # not at the start: the start-up sync lands first
    await asyncio.sleep(0.3)
    assert store.get_alert("audit:alice:BTCUSDT:0") is not None
    await watch.stop_watchers()
    await watch.close_alerts()
    assert [alert.kind for alert in feed.recent()] == ["MissingPosition"]
