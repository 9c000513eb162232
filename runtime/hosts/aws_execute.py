"""The executor Lambda's work: one queue-2 follower job -> ``FollowerExecutor.execute`` -> retry or done.

What SQS should do with the message follows from the outcome:
- done (delete it): orders placed or reconciled, skips (on target, already done, paused, leverage only, ...) and
  refusals with a reason (venue rules, margin, risk limits). They are recorded outcomes, not failures: sending the
  same job again would be refused or skipped the same way.
- retry (raise ``RetryableJobError``, the batch processor reports the record failed, SQS redelivers it after the
  visibility timeout and, after five receives, moves it to the dead-letter queue): an order FAILED (known not to be
  at the venue), the follower's venue could not be read, an unexpected error, or the follower's client could not be
  made ready. A redelivered job cannot place twice: its client ids are claimed, and an unfinished claim is looked up
  at the venue before anything is sent.
A job for a follower that is no longer registered (or disabled) is dropped with a log line; a follower whose key is
refused (it can withdraw) gets a critical alert and its jobs are dropped until the key is replaced. Refusals and
failures reach people through ``CopyAlerts`` (deduplicated per warm process) and the alerts topic.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from runtime.adapters.sqs.messages import FollowerJobMessage
from runtime.hosts.aws_followers import FollowerSetupError
from runtime.hosts.aws_observability import CopyMetrics
from runtime.services.alerts.dispatcher import AlertDispatcher
from runtime.services.alerts.model import Alert, Severity
from runtime.services.copy_alerts import CopyAlerts
from runtime.services.executor import FollowerExecutor
from runtime.services.jobs import JobOutcome, SkipReason

if TYPE_CHECKING:
    from runtime.hosts.aws import AwsServices

log = logging.getLogger(__name__)

# Skips that say "could not do it now", as opposed to "nothing to do" (FOLLOWER_UNKNOWN is handled before execute).
RETRYABLE_SKIPS = frozenset({SkipReason.READ_FAILED, SkipReason.ERROR})


class RetryableJobError(Exception):
    """The job did not complete for a reason that may pass; SQS should deliver it again."""


def is_retryable(outcome: JobOutcome) -> bool:
    return bool(outcome.failures) or outcome.skip_reason in RETRYABLE_SKIPS


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


async def handle_job(services: AwsServices, message: FollowerJobMessage, metrics: CopyMetrics) -> JobOutcome | None:
    """The executor Lambda's record: make the follower's client ready, execute, decide. Raises
    ``RetryableJobError`` when SQS should deliver the job again."""
    try:
        executor = await services.executor_for(message.job.follower_id)
    except FollowerSetupError as exc:
        setup_failed(exc, message, services.alerts())
        return None
    return await execute_job(executor, message, metrics, services.copy_alerts())


async def execute_job(
    executor: FollowerExecutor | None, message: FollowerJobMessage, metrics: CopyMetrics, alerts: CopyAlerts
) -> JobOutcome | None:
    """Execute one job with an executor that knows its follower (None: not registered); raises
    ``RetryableJobError`` when SQS should deliver it again."""
    job = message.job
    if executor is None:
        log.warning(
            "job for follower %s (%s seq %d) dropped: the follower is not registered or is disabled",
            job.follower_id,
            job.symbol,
            job.trigger_seq,
        )
        return None
    outcome = await executor.execute(job)
    metrics.outcome(outcome)
    alerts.job_finished(job, outcome)
    log.info(
        "follower %s %s seq %d: %d placed, %d refused, %d failed%s",
        job.follower_id,
        job.symbol,
        job.trigger_seq,
        len(outcome.placed),
        len(outcome.refusals),
        len(outcome.failures),
        f"; skipped ({outcome.skip_reason.value}): {outcome.message}" if outcome.skip_reason else "",
    )
    if is_retryable(outcome):
        detail = outcome.message or "; ".join(order.message for order in outcome.failures)
        raise RetryableJobError(f"follower {job.follower_id} {job.symbol} seq {job.trigger_seq}: {detail}")
    return outcome


def setup_failed(error: FollowerSetupError, message: FollowerJobMessage, alerts: AlertDispatcher) -> None:
    """A follower whose client could not be made ready: retry, unless its key was refused (then alert, drop)."""
    job = message.job
    if not error.permanent:
        raise RetryableJobError(str(error)) from error
    log.error("job for follower %s dropped: %s", job.follower_id, error)
    alerts.notify(
        Alert(
            key=f"key:{job.follower_id}",
            kind="FollowerKeyRefused",
            severity=Severity.CRITICAL,
            title="Follower key refused",
            text=str(error),
            created_ms=wall_clock_ms(),
            follower_id=job.follower_id,
            symbol=job.symbol,
        )
    )
