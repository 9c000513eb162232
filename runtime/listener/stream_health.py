"""Pure timing logic of the master stream: the reconnect backoff schedule and the heartbeat (zombie) watchdog.

No I/O and no clock of their own: every method takes ``now`` (monotonic seconds) so the schedules are unit-tested
exactly, and the RNG of the backoff is injected.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class BackoffPolicy:
    """Capped exponential backoff with "equal jitter": attempt n waits uniform(c/2, c), c = min(max, initial*mult^n).

    Half the ceiling is always waited (so a flapping venue is never hammered) and the other half is random (so many
    listeners cut at once do not reconnect in lockstep). A connection that stayed healthy for ``reset_after_s``
    starts the schedule again from ``initial_s``.
    """

    initial_s: float = 0.5
    max_s: float = 30.0
    multiplier: float = 2.0
    reset_after_s: float = 60.0

    def __post_init__(self) -> None:
        if self.initial_s <= 0 or self.max_s < self.initial_s or self.multiplier < 1 or self.reset_after_s < 0:
            raise ValueError(
                f"backoff needs 0 < initial_s <= max_s, multiplier >= 1 and reset_after_s >= 0; got {self}"
            )

    def ceiling(self, attempt: int) -> float:
        """The largest delay of attempt ``attempt`` (0-based), before jitter."""
        # Cap the exponent so a long outage cannot overflow the float.
        return min(self.max_s, self.initial_s * self.multiplier ** min(attempt, 64))


class Backoff:
    """The reconnect schedule of one stream: ``next_delay`` after each failure, ``reset`` after a healthy session."""

    def __init__(self, policy: BackoffPolicy, rng: random.Random | None = None) -> None:
        self.policy = policy
        self._rng = rng or random.Random()
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling = self.policy.ceiling(self.attempt)
        self.attempt += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempt = 0

    def after_session(self, healthy_for_s: float | None) -> None:
        """Called when a session ends; ``healthy_for_s`` is how long it was established (None: never was)."""
        if healthy_for_s is not None and healthy_for_s >= self.policy.reset_after_s:
            self.reset()


@dataclass(frozen=True)
class HeartbeatPolicy:
    """Application-level pings and the bounds after which an open socket is declared a zombie.

    A connection that goes silent at t0 is detected by ``t0 + detection_bound_s`` at the latest: the next ping goes
    out within ``ping_interval_s`` and its pong is due ``pong_timeout_s`` later; ``silence_timeout_s`` (no frame at
    all, pongs included) is a second, independent guard and defaults to the same bound.
    """

    ping_interval_s: float = 20.0
    pong_timeout_s: float = 10.0
    silence_timeout_s: float | None = None  # None: ping_interval_s + pong_timeout_s

    def __post_init__(self) -> None:
        if self.ping_interval_s <= 0 or self.pong_timeout_s <= 0:
            raise ValueError(f"ping interval and pong timeout must be positive; got {self}")
        if self.silence_timeout_s is not None and self.silence_timeout_s <= 0:
            raise ValueError(f"silence_timeout_s must be positive; got {self.silence_timeout_s}")

    @property
    def silence_bound_s(self) -> float:
        if self.silence_timeout_s is not None:
            return self.silence_timeout_s
        return self.ping_interval_s + self.pong_timeout_s

    @property
    def detection_bound_s(self) -> float:
        """The longest time between the last frame of a dead connection and its detection."""
        return min(self.ping_interval_s + self.pong_timeout_s, self.silence_bound_s)


class Heartbeat:
    """The watchdog state of one connection."""

    def __init__(self, policy: HeartbeatPolicy, now: float) -> None:
        self.policy = policy
        self._last_frame_at = now
        self._last_ping_at = now
        self._oldest_unanswered_ping_at: float | None = None

    def on_frame(self, now: float) -> None:
        """Any frame received (data, ack or pong) proves the socket delivers."""
        self._last_frame_at = now

    def on_pong(self, now: float) -> None:
        # A pong answers every ping sent before it: pings and pongs travel in order on one socket.
        self._last_frame_at = now
        self._oldest_unanswered_ping_at = None

    def ping_due(self, now: float) -> bool:
        return now - self._last_ping_at >= self.policy.ping_interval_s

    def on_ping_sent(self, now: float) -> None:
        self._last_ping_at = now
        if self._oldest_unanswered_ping_at is None:
            self._oldest_unanswered_ping_at = now

    def failure(self, now: float) -> str | None:
        """Why the connection must be replaced now, or None while it is healthy."""
        unanswered = self._oldest_unanswered_ping_at
        if unanswered is not None and now - unanswered >= self.policy.pong_timeout_s:
            return f"no pong within {self.policy.pong_timeout_s:g} s"
        if now - self._last_frame_at >= self.policy.silence_bound_s:
            return f"no traffic for {self.policy.silence_bound_s:g} s"
        return None

    def next_check_in(self, now: float) -> float:
        """Seconds until the next thing can happen: a ping falls due or a deadline passes."""
        policy = self.policy
        deadlines = [self._last_ping_at + policy.ping_interval_s, self._last_frame_at + policy.silence_bound_s]
        if self._oldest_unanswered_ping_at is not None:
            deadlines.append(self._oldest_unanswered_ping_at + self.policy.pong_timeout_s)
        return max(0.0, min(deadlines) - now)
