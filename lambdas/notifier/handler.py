"""Notifier Lambda: SNS alerts topic -> Telegram (every severity) and Twilio SMS (critical only).

Raises when a channel could not deliver, so Lambda's asynchronous retries (then the notifier-failures queue) take
over; see ``runtime.hosts.aws_notify``.
"""

from __future__ import annotations

from typing import Any

from runtime.hosts.aws import current_services
from runtime.hosts.aws_notify import alerts_from_sns_event, notify_people
from runtime.hosts.aws_observability import LambdaEntry

entry = LambdaEntry("copytrader-notifier")


def _work(event: dict[str, Any], context: Any) -> dict[str, Any]:
    services = current_services()
    alerts = alerts_from_sns_event(event)
    sent = services.run(notify_people(services, alerts))
    return {"alerts": len(alerts), "sent": sent}


handler = entry.handler(_work)
