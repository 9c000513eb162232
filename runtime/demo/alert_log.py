"""The alerts a demo run raised, in the order they fired: for the live view, each check's records and the report.

``AlertLog`` subscribes to the engine's ``AlertFeed`` (the in-memory channel of the alert pipeline), so what it
shows is what every other channel was handed, after the same routing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from runtime.adapters.notifiers.feed import AlertFeed
from runtime.services.alerts.model import Alert


@dataclass(frozen=True)
class AlertSeen:
    severity: str
    kind: str
    title: str
    text: str
    follower_id: str | None
    symbol: str | None
    created_ms: int
    at_s: float  # seconds since the first step, like the steps' at_s (raised during start-up: since the demo began)

    def headline(self) -> str:
        context = ", ".join(part for part in (self.follower_id or "", self.symbol or "") if part)
        return f"[{self.severity.upper()}] {self.title}" + (f" ({context})" if context else "")

    def to_json(self) -> dict[str, Any]:
        return {
            "severity": self.severity,
            "kind": self.kind,
            "title": self.title,
            "text": self.text,
            "follower": self.follower_id,
            "symbol": self.symbol,
            "created_ms": self.created_ms,
            "at_s": round(self.at_s, 3),
        }


Listener = Callable[[AlertSeen], None]


@dataclass
class AlertLog:
    """Every alert, oldest first; ``listeners`` (the live view) are told of each as it arrives."""

    clock: Callable[[], float] = time.monotonic
    alerts: list[AlertSeen] = field(default_factory=list)
    listeners: list[Listener] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._started = self.clock()

    def start_clock(self) -> None:
        """Count ``at_s`` from now (the scenario's first step), like the steps' times in the report."""
        self._started = self.clock()

    def attach(self, feed: AlertFeed) -> AlertFeed:
        feed.subscribe(self.on_alert)
        return feed

    def on_alert(self, alert: Alert) -> None:
        seen = AlertSeen(
            severity=alert.severity.value,
            kind=alert.kind,
            title=alert.title,
            text=alert.text,
            follower_id=alert.follower_id,
            symbol=alert.symbol,
            created_ms=alert.created_ms,
            at_s=self.clock() - self._started,
        )
        self.alerts.append(seen)
        for listener in self.listeners:
            listener(seen)  # the feed isolates a listener that raises

    def since(self, cursor: int) -> tuple[list[AlertSeen], int]:
        """The alerts after ``cursor`` and the new cursor."""
        return self.alerts[cursor:], len(self.alerts)
