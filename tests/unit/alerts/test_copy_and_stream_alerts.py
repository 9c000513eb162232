"""The engine's own alerts: copies refused, leverage syncs and copies that failed (deduplicated per follower, symbol
and reason until the follower goes through again), and the master stream's gap replays and reconnect storms."""

from __future__ import annotations

from decimal import Decimal

from runtime.domain.values import PositionIdx, Side, Venue
from runtime.listener.stream_stats import StreamStats
from runtime.services.alerts.model import Alert, Severity
from runtime.services.copy_alerts import CopyAlerts
from runtime.services.jobs import FollowerJob, JobOutcome, OrderRecord, OrderStatus, SkipReason
from runtime.services.stream_alerts import MasterStreamWatch, StreamAlertSettings

D = Decimal
JOB = FollowerJob("dave", "BTCUSDT", PositionIdx.ONE_WAY, trigger_seq=1)


def order(status: OrderStatus, reason: str = "", message: str = "", qty: str = "0.001") -> OrderRecord:
    return OrderRecord(f"cid-{status}-{reason}", Side.BUY, D(qty), False, status, reason_code=reason, message=message)


def outcome(
    *orders: OrderRecord,
    follower: str = "dave",
    symbol: str = "BTCUSDT",
    skip: SkipReason | None = None,
    message: str = "",
    leverage: str = "10",
    blocked: bool = False,
) -> JobOutcome:
    return JobOutcome(
        follower_id=follower,
        venue=Venue.BINANCE,
        master_symbol=symbol,
        venue_symbol=symbol,
        position_idx=PositionIdx.ONE_WAY,
        trigger_seq=1,
        orders=orders,
        skip_reason=skip,
        message=message,
        leverage=D(leverage),
        leverage_blocked=blocked,
    )


def refused(reason: str = "below_min_notional", **kw: object) -> JobOutcome:
    return outcome(order(OrderStatus.REFUSED, reason, f"{reason}: raise the follower's sizing"), **kw)  # type: ignore[arg-type]


def watcher() -> tuple[CopyAlerts, list[Alert]]:
    sent: list[Alert] = []
    return CopyAlerts(sent.append, clock_ms=lambda: 1_700_000_000_000), sent


def test_a_standing_refusal_alerts_once_then_again_only_after_the_follower_went_through() -> None:
    alerts, sent = watcher()
    for _ in range(3):  # the master's next changes keep producing the same refusal: one alert
        alerts.job_finished(JOB, refused())
    assert [(a.kind, a.severity, a.follower_id, a.symbol) for a in sent] == [
        ("CopyRefused", Severity.WARNING, "dave", "BTCUSDT")
    ]
    assert sent[0].title == "Copy refused: below_min_notional" and "raise the follower's sizing" in sent[0].text
    alerts.job_finished(JOB, outcome(skip=SkipReason.ALREADY_DONE))  # did nothing: the refusal still stands
    alerts.job_finished(JOB, refused())
    assert len(sent) == 1
    alerts.job_finished(JOB, outcome(order(OrderStatus.PLACED)))  # the copy went through: the condition cleared
    alerts.job_finished(JOB, refused())
    assert len(sent) == 2


def test_refusals_are_deduplicated_per_follower_symbol_and_reason() -> None:
    alerts, sent = watcher()
    alerts.job_finished(JOB, refused())
    alerts.job_finished(JOB, refused(symbol="ETHUSDT"))
    alerts.job_finished(JOB, refused(follower="erin"))
    alerts.job_finished(JOB, refused("max_notional_exceeded"))
    alerts.job_finished(JOB, refused("max_notional_exceeded"))
    assert [(a.follower_id, a.symbol, a.title.removeprefix("Copy refused: ")) for a in sent] == [
        ("dave", "BTCUSDT", "below_min_notional"),
        ("dave", "ETHUSDT", "below_min_notional"),
        ("erin", "BTCUSDT", "below_min_notional"),
        ("dave", "BTCUSDT", "max_notional_exceeded"),
    ]
    assert len({a.key for a in sent}) == 4


def test_a_paused_follower_refusal_is_news_not_a_problem() -> None:
    alerts, sent = watcher()
    alerts.job_finished(JOB, refused("copying_paused"))
    assert [(a.kind, a.severity) for a in sent] == [("CopyRefused", Severity.INFO)]


def test_a_failed_leverage_sync_alerts_once_and_is_not_repeated_as_a_refusal() -> None:
    alerts, sent = watcher()
    blocked = outcome(
        order(OrderStatus.REFUSED, "leverage_sync_failed", "Could not set binance BTCUSDT leverage to 10x"),
        blocked=True,
        leverage="0",
    )
    alerts.job_finished(JOB, blocked)
    alerts.job_finished(JOB, blocked)
    assert [(a.kind, a.severity, a.text) for a in sent] == [
        ("LeverageSyncFailed", Severity.WARNING, "Could not set binance BTCUSDT leverage to 10x")
    ]
    alerts.job_finished(JOB, outcome(order(OrderStatus.PLACED)))  # synced at 10x: cleared
    alerts.job_finished(JOB, blocked)
    assert [a.kind for a in sent] == ["LeverageSyncFailed", "LeverageSyncFailed"]


def test_a_failed_copy_alerts_until_a_job_succeeds_and_an_executor_crash_too() -> None:
    alerts, sent = watcher()
    read_failed = outcome(skip=SkipReason.READ_FAILED, message="could not read the equity of follower dave")
    alerts.job_finished(JOB, read_failed)
    alerts.job_finished(JOB, outcome(order(OrderStatus.FAILED)))
    assert [(a.kind, a.text) for a in sent] == [("CopyFailed", "could not read the equity of follower dave")]
    alerts.job_finished(JOB, outcome(skip=SkipReason.ON_TARGET))
    alerts.job_failed(JOB, RuntimeError("store is gone"))
    assert [a.kind for a in sent] == ["CopyFailed", "CopyFailed"] and "store is gone" in sent[1].text


def test_placed_orders_and_deliberate_skips_raise_nothing() -> None:
    alerts, sent = watcher()
    alerts.job_finished(JOB, outcome(order(OrderStatus.PLACED), order(OrderStatus.RECONCILED)))
    for skip in (SkipReason.ON_TARGET, SkipReason.FLAT, SkipReason.ALREADY_DONE, SkipReason.PAUSED):
        alerts.job_finished(JOB, outcome(skip=skip))
    assert sent == []


def test_a_notifier_that_raises_does_not_escape_the_observer() -> None:
    def broken(alert: Alert) -> None:
        raise RuntimeError("down")

    CopyAlerts(broken).job_finished(JOB, refused())  # logged, not raised


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def stream_watch(
    stats: StreamStats | None, clock: Clock, settings: StreamAlertSettings | None = None
) -> tuple[MasterStreamWatch, list[Alert]]:
    sent: list[Alert] = []
    watch = MasterStreamWatch(lambda: stats, sent.append, master_id="m", settings=settings, clock=clock)
    return watch, sent


def test_a_gap_replayed_after_a_reconnect_is_told_once_and_the_first_connection_is_routine() -> None:
    stats, clock = StreamStats(master="m"), Clock()
    watch, sent = stream_watch(stats, clock)
    stats.record_established()
    stats.record_replay(0, 0, 1)  # the seed -> subscribe replay of the first connection
    assert watch.poll() == []
    stats.record_loss("closed", "the server closed it", established=True)
    stats.record_established()
    assert watch.poll() == []  # reconnected; its replay has not completed yet
    stats.record_replay(1, 1, 1)
    (alert,) = watch.poll()
    assert (alert.kind, alert.severity, alert.follower_id) == ("MasterGapReplayed", Severity.INFO, None)
    assert "reconnect #1" in alert.text and "closed x1" in alert.text
    stats.record_replay(0, 0, 0)  # an offline replay without a reconnect: nothing new to say
    assert watch.poll() == [] and len(sent) == 1


def test_a_reconnect_storm_is_told_once_per_window() -> None:
    stats, clock = StreamStats(master="m"), Clock()
    watch, sent = stream_watch(stats, clock, StreamAlertSettings(storm_reconnects=3, storm_window_s=60.0))
    stats.record_established()
    for _ in range(2):
        stats.record_established()
        clock.now += 10
        watch.poll()
    assert [a.kind for a in sent] == []
    stats.record_established()  # the third reconnect within 60 s
    watch.poll()
    stats.record_established()
    clock.now += 10
    watch.poll()
    assert [a.kind for a in sent] == ["MasterReconnectStorm"]
    clock.now += 61  # a full window later, still flapping: told again
    for _ in range(3):
        stats.record_established()
    watch.poll()
    assert [a.kind for a in sent] == ["MasterReconnectStorm", "MasterReconnectStorm"]
    assert "3 times in the last 60 s" in sent[1].text


def test_no_feed_yet_means_nothing_to_watch() -> None:
    watch, sent = stream_watch(None, Clock())
    assert watch.poll() == [] and sent == []
