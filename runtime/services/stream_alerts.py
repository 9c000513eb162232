"""Alerts about the master's private stream: a gap replayed after a reconnect, and a reconnect storm.

The stream reconnects and replays the gap over REST on its own (docs/master-stream.md); nobody needs to act, but
someone watching wants to know (both are **info**). ``MasterStreamWatch`` reads the stream's ``StreamStats``
counters every ``poll_interval_s`` rather than hooking into the stream: the copy path's code stays untouched and a
slow notifier can never hold up a reconnect.

- **MasterGapReplayed**: the first completed gap replay after a reconnect (the replay that follows the very first
  connection, covering the seed -> subscribe gap, is routine and not alerted).
- **MasterReconnectStorm**: ``storm_reconnects`` reconnects within ``storm_window_s``; alerted again only after
  another full window, so a flapping link says so once per window.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from runtime.listener.stream_stats import StreamStats
from runtime.services.alerts.model import Alert, Severity

log = logging.getLogger(__name__)

Notify = Callable[[Alert], None]


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class StreamAlertSettings:
    poll_interval_s: float = 1.0
    storm_reconnects: int = 5
    storm_window_s: float = 300.0


class MasterStreamWatch:
    """Polls ``stats()`` (None while the feed is not built yet) and notifies on a gap replay or a storm."""

    def __init__(
        self,
        stats: Callable[[], StreamStats | None],
        notify: Notify,
        *,
        master_id: str,
        settings: StreamAlertSettings | None = None,
        clock: Callable[[], float] = time.monotonic,
        clock_ms: Callable[[], int] = wall_clock_ms,
    ) -> None:
        self._stats = stats
        self._notify = notify
        self.master_id = master_id
        self.settings = settings or StreamAlertSettings()
        self._clock = clock
        self._clock_ms = clock_ms
        self._reconnects = 0
        self._replays = 0
        self._awaiting_replay = False
        self._recent: deque[float] = deque()
        self._last_storm_at: float | None = None

    def poll(self) -> list[Alert]:
        """Compare the counters with the last poll; notify and return the alerts raised."""
        stats = self._stats()
        if stats is None:
            return []
        now = self._clock()
        alerts: list[Alert] = []
        new_reconnects = stats.reconnects - self._reconnects
        if new_reconnects > 0:
            self._recent.extend([now] * new_reconnects)
            self._awaiting_replay = True
        if stats.gap_replays > self._replays and self._awaiting_replay:
            self._awaiting_replay = False
            alerts.append(self._gap_replayed(stats))
        self._reconnects, self._replays = stats.reconnects, stats.gap_replays
        window = self.settings.storm_window_s
        while self._recent and now - self._recent[0] > window:
            self._recent.popleft()
        quiet = self._last_storm_at is None or now - self._last_storm_at >= window
        if len(self._recent) >= self.settings.storm_reconnects and quiet:
            self._last_storm_at = now
            alerts.append(self._storm(len(self._recent), stats))
        for alert in alerts:
            try:
                self._notify(alert)
            except Exception:  # notify never raises by contract; the watch must outlive a stand-in that does
                log.exception("could not hand alert %s to the notifier", alert.key)
        return alerts

    async def run_forever(self, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        while True:
            await sleep(self.settings.poll_interval_s)
            self.poll()

    def _gap_replayed(self, stats: StreamStats) -> Alert:
        reasons = ", ".join(f"{reason} x{count}" for reason, count in sorted(stats.disconnect_reasons.items()))
        text = (
            f"The master's private stream was lost and re-established (reconnect #{stats.reconnects}; "
            f"disconnects so far: {reasons or 'none recorded'}). The gap was replayed over REST (replay "
            f"#{stats.gap_replays}): changes made while it was down are copied. Nothing to do."
        )
        return self._alert(f"gap:{stats.reconnects}", "MasterGapReplayed", "Master stream gap replayed", text)

    def _storm(self, count: int, stats: StreamStats) -> Alert:
        window = self.settings.storm_window_s
        text = (
            f"The master's private stream reconnected {count} times in the last {window:g} s "
            f"({stats.reconnects} in all). Each gap is replayed over REST, but copies arrive late while it flaps: "
            "check this host's network and Bybit's status page."
        )
        return self._alert(f"storm:{stats.reconnects}", "MasterReconnectStorm", "Master stream reconnect storm", text)

    def _alert(self, suffix: str, kind: str, title: str, text: str) -> Alert:
        return Alert(f"stream:{self.master_id}:{suffix}", kind, Severity.INFO, title, text, self._clock_ms())
