"""Notifier Lambda: SNS alerts topic -> Telegram (every severity) and Twilio SMS (critical only).

Raises when a channel could not deliver, so Lambda's asynchronous retries (then the notifier-failures queue) take
over; see ``runtime.hosts.aws_notify``.
"""

from __future__ import annotations

from typing import Any

from runtime.hosts.aws import current_services
from runtime.hosts.aws_notify import alerts_from_sns_event, notify_people
from runtime.hosts.aws_observability import (
    LocalLambdaContext,
    configure_lambda_logging,
    lambda_logger,
    lambda_tracer,
)

logger = lambda_logger()
tracer = lambda_tracer()


def handler(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
    response: dict[str, Any] = _handle(event, context or LocalLambdaContext("copytrader-notifier"))
    return response


@logger.inject_lambda_context
@tracer.capture_lambda_handler
def _handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
    configure_lambda_logging(logger)
    services = current_services()
    alerts = alerts_from_sns_event(event)
    sent = services.run(notify_people(services, alerts))
    return {"alerts": len(alerts), "sent": sent}
