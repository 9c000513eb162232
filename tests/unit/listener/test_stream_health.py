"""The reconnect backoff schedule (with an injected RNG) and the heartbeat watchdog, on a hand-driven clock."""

from __future__ import annotations

import random

import pytest

from runtime.listener.stream_health import Backoff, BackoffPolicy, Heartbeat, HeartbeatPolicy


class EdgeRng(random.Random):
    """uniform(a, b) returns a point ``fraction`` of the way from a to b."""

    def __init__(self, fraction: float) -> None:
        super().__init__(0)
        self.fraction = fraction
        self.calls: list[tuple[float, float]] = []

    def uniform(self, a: float, b: float) -> float:
        self.calls.append((a, b))
        return a + (b - a) * self.fraction


def test_the_backoff_doubles_up_to_its_cap_with_equal_jitter() -> None:
    policy = BackoffPolicy(initial_s=0.5, max_s=30.0, multiplier=2.0)
    top = Backoff(policy, EdgeRng(1.0))
    assert [top.next_delay() for _ in range(9)] == [0.5, 1, 2, 4, 8, 16, 30, 30, 30]
    bottom = Backoff(policy, EdgeRng(0.0))
    assert [bottom.next_delay() for _ in range(8)] == [0.25, 0.5, 1, 2, 4, 8, 15, 15]


def test_every_delay_is_drawn_between_half_the_ceiling_and_the_ceiling() -> None:
    rng = EdgeRng(0.5)
    backoff = Backoff(BackoffPolicy(initial_s=1.0, max_s=4.0), rng)
    delays = [backoff.next_delay() for _ in range(4)]
    assert rng.calls == [(0.5, 1.0), (1.0, 2.0), (2.0, 4.0), (2.0, 4.0)]
    assert delays == [0.75, 1.5, 3.0, 3.0]


def test_seeded_jitter_stays_inside_the_band() -> None:
    backoff = Backoff(BackoffPolicy(initial_s=0.5, max_s=8.0), random.Random(42))
    for attempt in range(30):
        ceiling = min(8.0, 0.5 * 2**attempt)
        assert ceiling / 2 <= backoff.next_delay() <= ceiling


def test_a_healthy_session_resets_the_schedule_and_a_short_one_does_not() -> None:
    backoff = Backoff(BackoffPolicy(initial_s=0.5, max_s=30.0, reset_after_s=60.0), EdgeRng(1.0))
    for _ in range(4):
        backoff.next_delay()
    backoff.after_session(None)  # never established
    backoff.after_session(59.9)  # flapping
    assert backoff.next_delay() == 8.0
    backoff.after_session(60.0)
    assert backoff.next_delay() == 0.5


def test_a_long_outage_does_not_overflow() -> None:
    backoff = Backoff(BackoffPolicy(initial_s=1.0, max_s=30.0), EdgeRng(1.0))
    backoff.attempt = 10_000
    assert backoff.next_delay() == 30.0


@pytest.mark.parametrize(
    "kwargs", [{"initial_s": 0}, {"initial_s": 5, "max_s": 1}, {"multiplier": 0.5}, {"reset_after_s": -1}]
)
def test_nonsense_backoff_settings_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="backoff needs"):
        BackoffPolicy(**kwargs)


def test_pings_fall_due_every_interval() -> None:
    heartbeat = Heartbeat(HeartbeatPolicy(ping_interval_s=20, pong_timeout_s=10), now=0.0)
    assert not heartbeat.ping_due(19.9)
    assert heartbeat.ping_due(20.0)
    heartbeat.on_ping_sent(20.0)
    assert not heartbeat.ping_due(39.0)
    assert heartbeat.ping_due(40.0)


def test_a_late_pong_is_a_zombie_and_a_timely_one_is_not() -> None:
    heartbeat = Heartbeat(HeartbeatPolicy(ping_interval_s=20, pong_timeout_s=10), now=0.0)
    heartbeat.on_ping_sent(20.0)
    assert heartbeat.failure(29.9) is None
    assert heartbeat.failure(30.0) == "no pong within 10 s"
    heartbeat.on_pong(30.0)
    assert heartbeat.failure(30.0) is None


def test_data_frames_do_not_answer_a_ping() -> None:
    heartbeat = Heartbeat(HeartbeatPolicy(ping_interval_s=20, pong_timeout_s=10), now=0.0)
    heartbeat.on_ping_sent(20.0)
    heartbeat.on_frame(25.0)  # data keeps arriving, but the ping is never answered: the venue is broken
    assert heartbeat.failure(30.0) == "no pong within 10 s"


def test_the_oldest_unanswered_ping_sets_the_deadline() -> None:
    heartbeat = Heartbeat(HeartbeatPolicy(ping_interval_s=1, pong_timeout_s=5, silence_timeout_s=100), now=0.0)
    heartbeat.on_ping_sent(1.0)
    heartbeat.on_ping_sent(2.0)
    heartbeat.on_ping_sent(3.0)
    assert heartbeat.failure(5.9) is None
    assert heartbeat.failure(6.0) == "no pong within 5 s"


def test_silence_alone_is_a_zombie() -> None:
    heartbeat = Heartbeat(HeartbeatPolicy(ping_interval_s=20, pong_timeout_s=10, silence_timeout_s=15), now=0.0)
    heartbeat.on_frame(5.0)
    assert heartbeat.failure(19.9) is None
    assert heartbeat.failure(20.0) == "no traffic for 15 s"


def test_the_detection_bound_is_ping_interval_plus_pong_timeout() -> None:
    policy = HeartbeatPolicy(ping_interval_s=0.2, pong_timeout_s=0.5)
    assert policy.detection_bound_s == pytest.approx(0.7)
    assert HeartbeatPolicy().detection_bound_s == 30.0
    assert HeartbeatPolicy(silence_timeout_s=12).detection_bound_s == 12.0
    # Walk a silent connection on the watchdog's own schedule: detected exactly at the bound.
    heartbeat = Heartbeat(policy, now=0.0)
    now = 0.0
    while (failure := heartbeat.failure(now)) is None:
        if heartbeat.ping_due(now):
            heartbeat.on_ping_sent(now)
        now += heartbeat.next_check_in(now)
    assert now == pytest.approx(0.7)
    assert failure in ("no pong within 0.5 s", "no traffic for 0.7 s")  # both deadlines meet at the bound


def test_next_check_is_the_nearest_deadline() -> None:
    heartbeat = Heartbeat(HeartbeatPolicy(ping_interval_s=20, pong_timeout_s=10), now=0.0)
    assert heartbeat.next_check_in(5.0) == 15.0
    heartbeat.on_ping_sent(20.0)
    assert heartbeat.next_check_in(21.0) == 9.0  # the pong deadline at 30
    heartbeat.on_pong(22.0)
    assert heartbeat.next_check_in(22.0) == 18.0  # the next ping at 40
