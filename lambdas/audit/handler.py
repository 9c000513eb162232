"""Audit Lambda: EventBridge schedule -> one ``AuditService.run_once`` over the registered followers.

Discrepancies are alerted through the alerts topic (deduplicated in the alert-state table); with ``AUDIT_HEAL=true``
each open one also becomes a HEAL job on ``follower-orders.fifo``. Returns the run's report as JSON.
"""

from __future__ import annotations

from typing import Any

from runtime.hosts.aws import current_services
from runtime.hosts.aws_audit import run_audit
from runtime.hosts.aws_observability import LambdaEntry

entry = LambdaEntry("copytrader-audit")


def _work(event: dict[str, Any], context: Any) -> dict[str, Any]:
    services = current_services()
    report = services.run(run_audit(services, entry.metrics))
    entry.logger.info(
        "audit done",
        extra={"followers": len(report.followers_audited), "discrepancies": len(report.discrepancies)},
    )
    return report.to_dict()


handler = entry.handler(_work)
