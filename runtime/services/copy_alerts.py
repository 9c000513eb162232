"""Alerts about the copy path itself (the audit raises its own): a follower's copy refused by one of its risk
controls or a venue minimum, a leverage sync that failed, a copy that failed. ``CopyAlerts`` is an observer of the
pipeline: it never steers it, and every alert goes to the non-blocking ``notify`` (``AlertDispatcher.notify``).

Deduplication, so a standing condition does not spam: one alert per follower + master symbol + reason while the
condition stands (the master's next changes keep producing the same refusal; one message says it). It clears when
a later job of that follower and symbol goes through without it (orders placed, or already on target); a
recurrence after that alerts again.

Severities: a refusal, a failed leverage sync or a failed copy is a **warning** (the follower is not where the
master is); a refusal because the follower is paused is **info** (someone pulled the kill switch on purpose).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from runtime.domain.refusals import RefusalReason
from runtime.services.alerts.model import Alert, Severity
from runtime.services.jobs import FAILED_SKIPS, FollowerJob, JobOutcome, SkipReason
from runtime.services.observers import EngineObserver

log = logging.getLogger(__name__)

Notify = Callable[[Alert], None]

# The leverage sync's own refusal is reported once as a LeverageSyncFailed alert, not again as a refusal.
_NOT_A_REFUSAL_ALERT = frozenset({RefusalReason.LEVERAGE_SYNC_FAILED.value})
_INFO_REFUSALS = frozenset({RefusalReason.COPYING_PAUSED.value})
# A job that ends like this went through: the follower holds what the master asks (or tried and placed orders).
_WENT_THROUGH = frozenset({SkipReason.ON_TARGET, SkipReason.FLAT})


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass
class CopyAlerts(EngineObserver):
    """Turns job outcomes into deduplicated alerts. ``open_keys`` are the conditions alerted and not yet cleared."""

    notify: Notify
    clock_ms: Callable[[], int] = wall_clock_ms
    open_keys: set[str] = field(default_factory=set)

    def job_finished(self, job: FollowerJob, outcome: JobOutcome) -> None:
        follower, symbol = outcome.follower_id, outcome.master_symbol
        refused: dict[str, str] = {}
        for order in outcome.refusals:
            if order.reason_code and order.reason_code not in _NOT_A_REFUSAL_ALERT:
                refused.setdefault(order.reason_code, order.message)
        went_through = bool(outcome.placed) or outcome.skip_reason in _WENT_THROUGH
        self._refusals(follower, symbol, refused, went_through)
        self._leverage(follower, symbol, outcome)
        self._failure(follower, symbol, outcome)

    def job_failed(self, job: FollowerJob, error: BaseException) -> None:
        detail = f"the executor raised {type(error).__name__}: {error}; the next master change or audit heal retries"
        key = _failed_key(job.follower_id, job.symbol)
        self._raise(key, "CopyFailed", Severity.WARNING, "Copy failed", detail, job.follower_id, job.symbol)

    # --- the three conditions ----------------------------------------------------------------------------------

    def _refusals(self, follower: str, symbol: str, refused: dict[str, str], went_through: bool) -> None:
        for reason, message in refused.items():
            severity = Severity.INFO if reason in _INFO_REFUSALS else Severity.WARNING
            key = _refusal_key(follower, symbol, reason)
            self._raise(key, "CopyRefused", severity, f"Copy refused: {reason}", message, follower, symbol)
        if went_through:  # what did not come back this time has cleared
            prefix = _refusal_key(follower, symbol, "")
            cleared = {key for key in self.open_keys if key.startswith(prefix) and key[len(prefix) :] not in refused}
            self.open_keys -= cleared

    def _leverage(self, follower: str, symbol: str, outcome: JobOutcome) -> None:
        key = _leverage_key(follower, symbol)
        if outcome.leverage_blocked:
            message = next(
                (o.message for o in outcome.refusals if o.reason_code == RefusalReason.LEVERAGE_SYNC_FAILED.value),
                outcome.message,
            )
            text = message or "the follower's leverage could not be set; opens and increases are held back"
            self._raise(key, "LeverageSyncFailed", Severity.WARNING, "Leverage sync failed", text, follower, symbol)
        elif outcome.leverage > 0:
            self.open_keys.discard(key)

    def _failure(self, follower: str, symbol: str, outcome: JobOutcome) -> None:
        key = _failed_key(follower, symbol)
        if outcome.ok:
            if outcome.placed or outcome.skip_reason in _WENT_THROUGH:
                self.open_keys.discard(key)
            return
        if outcome.skip_reason in FAILED_SKIPS:
            text = outcome.message
        else:
            failed = outcome.failures[0]
            text = failed.message or f"the {failed.side.value} order of {failed.qty} failed ({failed.error_kind})"
        self._raise(key, "CopyFailed", Severity.WARNING, "Copy failed", text, follower, symbol)

    def _raise(
        self, key: str, kind: str, severity: Severity, title: str, text: str, follower: str, symbol: str
    ) -> None:
        if key in self.open_keys:
            return
        self.open_keys.add(key)
        alert = Alert(key, kind, severity, title, text, self.clock_ms(), follower_id=follower, symbol=symbol)
        try:
            self.notify(alert)
        except Exception:  # notify never raises by contract; a stand-in that does must not break the observer hub
            log.exception("could not hand alert %s to the notifier", key)


def _refusal_key(follower: str, symbol: str, reason: str) -> str:
    return f"copy-refused:{follower}:{symbol}:{reason}"


def _leverage_key(follower: str, symbol: str) -> str:
    return f"leverage-sync:{follower}:{symbol}"


def _failed_key(follower: str, symbol: str) -> str:
    return f"copy-failed:{follower}:{symbol}"
