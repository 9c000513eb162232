"""Alerts and channels for the pipeline's tests: a channel that records, fails or hangs on cue."""

from __future__ import annotations

import asyncio
import itertools

from runtime.services.alerts.model import Alert, Severity

_keys = itertools.count(1)


def make_alert(severity: Severity = Severity.WARNING, *, key: str | None = None, kind: str = "SizeMismatch") -> Alert:
    number = next(_keys)
    return Alert(
        key=key or f"audit:{kind}:alice:BTCUSDT:{number}",
        kind=kind,
        severity=severity,
        title=f"Size mismatch #{number}",
        text="follower holds 0.010 BTC, expected 0.012 BTC (-16.7%)",
        created_ms=1_700_000_000_000 + number,
        follower_id="alice",
        symbol="BTCUSDT",
    )


HANG = "hang"


class FakeChannel:
    """Delivers (records) unless the next scripted outcome is an exception to raise or ``HANG``."""

    def __init__(self, name: str, outcomes: list[BaseException | str] | None = None) -> None:
        self._name = name
        self.outcomes = list(outcomes or [])
        self.delivered: list[Alert] = []
        self.attempts = 0
        self.closed = False

    @property
    def name(self) -> str:
        return self._name

    async def send(self, alert: Alert) -> None:
        self.attempts += 1
        outcome = self.outcomes.pop(0) if self.outcomes else None
        if outcome == HANG:
            await asyncio.Event().wait()
        if isinstance(outcome, BaseException):
            raise outcome
        self.delivered.append(alert)

    async def close(self) -> None:
        self.closed = True
