"""The audit Lambda's work: one ``AuditService.run_once`` over the registered followers; in heal mode every open
discrepancy becomes a HEAL job on queue 2, so the fix goes through the normal executor path (claims, rules, order
log) like any other copy."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from runtime.adapters.sqs.messages import follower_job_message
from runtime.adapters.sqs.publisher import SqsFifoPublisher
from runtime.domain.values import PositionIdx
from runtime.hosts import aws_names as names
from runtime.hosts.aws_observability import CopyMetrics
from runtime.services.audit import HealCallback
from runtime.services.audit_report import AuditReport
from runtime.services.jobs import FollowerJob, JobReason

if TYPE_CHECKING:
    from runtime.hosts.aws import AwsServices


log = logging.getLogger(__name__)

# An executor invocation lives at most 60 s (infra/function_settings.py); a claim unfinished for three times that
# cannot still be in flight, so the audit may look it up at the venue and record what it finds.
STALE_CLAIM_AGE_MS = 180_000


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def heal_publisher(
    publisher: Callable[[], SqsFifoPublisher], *, wall_ms: Callable[[], int] = wall_clock_ms
) -> HealCallback:
    """The audit's ``heal``: one HEAL job per discrepancy, sent to queue 2. ``publisher`` is asked for lazily, so an
    audit without heal mode needs no queue URL. A send that fails raises: the audit records it as the finding's
    ``heal_error`` and the next run (a minute later) asks again."""

    async def heal(follower_id: str, symbol: str, position_idx: PositionIdx, sync_round: str) -> None:
        now_ms = wall_ms()
        job = FollowerJob(
            follower_id=follower_id,
            symbol=symbol,
            position_idx=position_idx,
            trigger_seq=0,  # a heal targets whatever snapshot is latest when it runs
            reason=JobReason.HEAL,
            sync_round=sync_round,
        )
        publisher().publish_message(follower_job_message(job, master_confirmed_ms=0, enqueued_ms=now_ms))

    return heal


async def resolve_stale_claims(services: AwsServices, *, older_than_ms: int = STALE_CLAIM_AGE_MS) -> int:
    """Resolve claims an executor left unfinished (it died between the exchange call and the record).

    The local host does this at start-up; Lambdas have no start-up, and a redelivered job that finds the follower
    already on target never reaches its old claim, so the scheduled audit does it. Each claim is looked up at the
    venue by client id: found -> RECONCILED, never seen -> FAILED. Returns how many were resolved.
    """
    stale = services.store.unfinished_claims(older_than_ms=older_than_ms)
    if not stale:
        return 0
    for follower_id in sorted({claim.follower_id for claim in stale}):
        try:
            await services.executor_for(follower_id)  # the executor needs the follower's client to look it up
        except Exception:
            log.exception("%s: cannot resolve its unfinished claims now; the next audit tries again", follower_id)
    report = await services.executor().recover(older_than_ms=older_than_ms)
    if report.claims:
        log.warning(
            "resolved %d unfinished claims: %d reconciled, %d never reached the venue",
            len(report.claims),
            len(report.reconciled),
            len(report.failed),
        )
    return len(report.claims)


async def run_audit(services: AwsServices, metrics: CopyMetrics) -> AuditReport:
    """One audit pass, after resolving stale claims; its alerts are delivered (to SNS) before this returns."""
    await resolve_stale_claims(services)
    audit = await services.audit(heal=heal_publisher(services.follower_orders))
    try:
        report = await audit.run_once()
    finally:
        await services.flush_alerts()
    metrics.count(names.AUDIT_DISCREPANCIES, len(report.discrepancies))
    return report
