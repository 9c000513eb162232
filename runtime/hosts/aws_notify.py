"""The notifier Lambda's work: SNS records -> ``Alert`` -> Telegram / Twilio SMS.

Two kinds of message arrive on the alerts topic:
- the engine's own (``SnsNotifier``): the Lambda protocol gets ``Alert.to_json()``; the ``severity`` message
  attribute says how severe;
- CloudWatch alarm notifications: JSON with ``AlarmName``, ``NewStateValue``, ``NewStateReason`` and no severity
  attribute; they count as critical (an alarm returning to OK is info).
Anything else is passed on as text, critical unless its ``severity`` attribute says otherwise.

Delivery is at least once: if a channel still fails after the dispatcher's retries, ``deliver`` raises so Lambda
retries the event (twice) and then parks it in the notifier-failures queue. A channel that already delivered may
then deliver the same alert again (Twilio remembers what it sent in a warm process); a duplicate beats a lost
critical alert.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from runtime.services.alerts.dispatcher import AlertDispatcher
from runtime.services.alerts.model import Alert, Severity

if TYPE_CHECKING:
    from runtime.hosts.aws import AwsServices

ALARM_KIND = "CloudWatchAlarm"
DELIVERY_TIMEOUT_S = 20.0  # within the notifier's 30 s timeout


class NotificationError(Exception):
    """Some alert could not be delivered on some channel; Lambda's async retries take it from here."""


def alerts_from_sns_event(event: Mapping[str, Any]) -> list[Alert]:
    return [alert_from_sns(record.get("Sns", {})) for record in event.get("Records", [])]


def alert_from_sns(sns: Mapping[str, Any]) -> Alert:
    text = str(sns.get("Message", ""))
    attributes = sns.get("MessageAttributes") or {}
    severity_text = str((attributes.get("severity") or {}).get("Value", "")).lower()
    severity = Severity(severity_text) if severity_text in {s.value for s in Severity} else None
    created_ms = time.time_ns() // 1_000_000
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        body = None
    if isinstance(body, dict) and {"key", "kind", "severity", "title"} <= body.keys():
        return Alert(
            key=str(body["key"]),
            kind=str(body["kind"]),
            severity=Severity(str(body["severity"])),
            title=str(body["title"]),
            text=str(body.get("text") or ""),
            created_ms=int(body.get("created_ms") or created_ms),
            follower_id=body.get("follower_id"),
            symbol=body.get("symbol"),
        )
    if isinstance(body, dict) and "AlarmName" in body:
        state = str(body.get("NewStateValue", ""))
        return Alert(
            key=f"alarm:{body['AlarmName']}",
            kind=ALARM_KIND,
            severity=severity or (Severity.INFO if state == "OK" else Severity.CRITICAL),
            title=f"Alarm {body['AlarmName']} is {state}",
            text=str(body.get("NewStateReason") or body.get("AlarmDescription") or ""),
            created_ms=created_ms,
        )
    subject = str(sns.get("Subject") or "Notification")
    return Alert(
        key=f"sns:{sns.get('MessageId', created_ms)}",
        kind="SnsMessage",
        severity=severity or Severity.CRITICAL,
        title=subject,
        text=text,
        created_ms=created_ms,
    )


async def deliver(dispatcher: AlertDispatcher, alerts: list[Alert]) -> int:
    """Send every alert on the channels its severity reaches; returns the sends made. Raises
    ``NotificationError`` when a send failed for good or was dropped."""
    before = dispatcher.stats()
    for alert in alerts:
        dispatcher.notify(alert)
    drained = await dispatcher.drain(DELIVERY_TIMEOUT_S)
    after = dispatcher.stats()
    sent = sum(after[name].sent - before[name].sent for name in after)
    failed = {
        name: (after[name].failed - before[name].failed) + (after[name].dropped - before[name].dropped)
        for name in after
    }
    bad = {name: count for name, count in failed.items() if count}
    if bad or not drained:
        detail = ", ".join(f"{name}: {count} failed" for name, count in sorted(bad.items())) or "delivery timed out"
        raise NotificationError(f"alerts not delivered ({detail}); Lambda retries the event")
    return sent


async def notify_people(services: AwsServices, alerts: list[Alert]) -> int:
    """Deliver ``alerts`` on the notifier's channels; returns the sends made (see ``deliver``)."""
    return await deliver(await services.notifier(), alerts)
