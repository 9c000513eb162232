"""Counters of the master stream's health: every disconnect, reconnect, zombie and gap replay is counted and logged.

One ``StreamStats`` is shared by the stream (connection lifecycle) and the feed (replays, REST reads, emissions).
The ``record_*`` methods both count and log, so a counter can never move without a log line saying why; the
counters are for tests, dashboards and the CloudWatch metrics the Fargate host publishes.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class StreamStats:
    """Mutable counters (one instance per master stream). Read them; change them only through ``record_*``."""

    master: str = "master"
    connect_attempts: int = 0
    connections: int = 0  # sessions that reached "authenticated and every subscription acknowledged"
    reconnects: int = 0  # such sessions after the first one
    disconnects: int = 0  # losses of a session that had been established
    connect_failures: int = 0  # attempts that failed before being established (refused, auth, no acks)
    zombie_detections: int = 0  # no pong or no traffic on an open socket
    ack_timeouts: int = 0  # auth or subscription not acknowledged in time
    auth_failures: int = 0
    gap_replays: int = 0  # completed REST replays (the first one covers the seed -> subscribe gap)
    replay_failures: int = 0
    rest_fetches: int = 0  # REST position reads asked for by the correlator (parked fills timed out)
    rest_failures: int = 0
    frames: int = 0
    bad_frames: int = 0  # frames that could not be read (logged; they also trigger a resync)
    changes_emitted: int = 0
    sink_failures: int = 0
    disconnect_reasons: Counter[str] = field(default_factory=Counter)
    connected: bool = False
    last_delay_s: float = 0.0

    # --- connection lifecycle (master_stream) ---------------------------------------------------------------------

    def record_connect_attempt(self, url: str) -> None:
        self.connect_attempts += 1
        log.debug("%s: connecting to %s (attempt %d)", self.master, url, self.connect_attempts)

    def record_established(self) -> None:
        self.connections += 1
        self.connected = True
        if self.connections > 1:
            self.reconnects += 1
            log.warning("%s: private stream re-established (reconnect #%d)", self.master, self.reconnects)
        else:
            log.info("%s: private stream established", self.master)

    def record_loss(self, category: str, detail: str, *, established: bool) -> None:
        """A session ended. ``category`` is a short key ("closed", "zombie", "ack timeout", ...)."""
        self.connected = False
        self.disconnect_reasons[category] += 1
        if established:
            self.disconnects += 1
            log.warning("%s: private stream lost (%s); disconnect #%d", self.master, detail, self.disconnects)
        else:
            self.connect_failures += 1
            log.warning("%s: private stream could not be established (%s)", self.master, detail)

    def record_stopped(self) -> None:
        if self.connected:
            log.info("%s: private stream closed (stopping)", self.master)
        self.connected = False

    def record_zombie(self, detail: str) -> None:
        self.zombie_detections += 1
        log.warning("%s: zombie connection detected (%s); replacing it", self.master, detail)

    def record_ack_timeout(self, what: str) -> None:
        self.ack_timeouts += 1
        log.warning("%s: %s not acknowledged in time; reconnecting", self.master, what)

    def record_auth_failure(self, message: str) -> None:
        self.auth_failures += 1
        log.error(
            "%s: Bybit refused the private stream login (%s). Check the master's API key and secret and that this "
            "host's clock is in sync; retrying with backoff",
            self.master,
            message,
        )

    def record_backoff(self, delay_s: float) -> None:
        self.last_delay_s = delay_s
        log.info("%s: reconnecting in %.2f s", self.master, delay_s)

    # --- data and gap replay (master_feed) ------------------------------------------------------------------------

    def record_frame(self) -> None:
        self.frames += 1

    def record_bad_frame(self, detail: str) -> None:
        self.bad_frames += 1
        log.error("%s: unreadable private stream frame (%s); resynchronising over REST", self.master, detail)

    def record_replay(self, changes: int, executions: int, positions: int) -> None:
        self.gap_replays += 1
        log.info(
            "%s: gap replay #%d: %d executions and %d positions read over REST, %d changes emitted",
            self.master,
            self.gap_replays,
            executions,
            positions,
            changes,
        )

    def record_replay_failure(self, detail: str) -> None:
        self.replay_failures += 1
        log.warning("%s: gap replay failed (%s); it will be retried", self.master, detail)

    def record_rest_fetch(self, symbols: tuple[str, ...]) -> None:
        self.rest_fetches += 1
        log.info("%s: parked fills timed out; reading positions of %s over REST", self.master, ", ".join(symbols))

    def record_rest_failure(self, detail: str) -> None:
        self.rest_failures += 1
        log.warning("%s: REST position read failed (%s); the correlator will ask again", self.master, detail)

    def record_change(self) -> None:
        self.changes_emitted += 1

    def record_sink_failure(self, detail: str) -> None:
        self.sink_failures += 1
        log.error("%s: the change consumer raised (%s); the change is retried", self.master, detail)

    def as_dict(self) -> dict[str, int]:
        """The integer counters, for metrics and status output."""
        return {
            "connect_attempts": self.connect_attempts,
            "connections": self.connections,
            "reconnects": self.reconnects,
            "disconnects": self.disconnects,
            "connect_failures": self.connect_failures,
            "zombie_detections": self.zombie_detections,
            "ack_timeouts": self.ack_timeouts,
            "auth_failures": self.auth_failures,
            "gap_replays": self.gap_replays,
            "replay_failures": self.replay_failures,
            "rest_fetches": self.rest_fetches,
            "rest_failures": self.rest_failures,
            "frames": self.frames,
            "bad_frames": self.bad_frames,
            "changes_emitted": self.changes_emitted,
            "sink_failures": self.sink_failures,
        }
