"""The in-process alert feed: the newest alerts kept in memory for a live view, a dashboard or a run report."""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from runtime.services.alerts.model import Alert

log = logging.getLogger(__name__)

Listener = Callable[[Alert], None]


class AlertFeed:
    """Keeps the last ``capacity`` alerts and calls listeners as each one fires. A listener that raises is logged
    once and kept: a broken view must not stop the feed."""

    def __init__(self, capacity: int = 200) -> None:
        if capacity < 1:
            raise ValueError(f"AlertFeed capacity must be >= 1, got {capacity}")
        self._alerts: deque[Alert] = deque(maxlen=capacity)
        self._listeners: list[Listener] = []
        self._reported: set[int] = set()

    @property
    def name(self) -> str:
        return "feed"

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def recent(self) -> list[Alert]:
        """Oldest first."""
        return list(self._alerts)

    async def send(self, alert: Alert) -> None:
        self._alerts.append(alert)
        for listener in self._listeners:
            try:
                listener(alert)
            except Exception:
                if id(listener) not in self._reported:
                    self._reported.add(id(listener))
                    log.exception("alert feed listener %r failed (reported once)", listener)

    async def close(self) -> None:
        return None
