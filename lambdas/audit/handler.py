"""Audit Lambda: EventBridge schedule -> one ``AuditService.run_once`` over the registered followers.

Discrepancies are alerted through the alerts topic (deduplicated in the alert-state table); with ``AUDIT_HEAL=true``
each open one also becomes a HEAL job on ``follower-orders.fifo``. Returns the run's report as JSON.
"""

from __future__ import annotations

from typing import Any

from runtime.hosts.aws import current_services
from runtime.hosts.aws_audit import run_audit
from runtime.hosts.aws_observability import (
    CopyMetrics,
    LocalLambdaContext,
    configure_lambda_logging,
    lambda_logger,
    lambda_tracer,
)

logger = lambda_logger()
tracer = lambda_tracer()
copy_metrics = CopyMetrics()


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    response: dict[str, Any] = _handle(event, context or LocalLambdaContext("copytrader-audit"))
    return response


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def _handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    configure_lambda_logging(logger)
    try:
        return _work(event, context)
    finally:
        copy_metrics.flush()  # EMF to stdout (only when something was counted)


def _work(event: dict[str, Any], context: Any) -> dict[str, Any]:
    services = current_services()
    report = services.run(run_audit(services, copy_metrics))
    logger.info(
        "audit done",
        extra={"followers": len(report.followers_audited), "discrepancies": len(report.discrepancies)},
    )
    return report.to_dict()
