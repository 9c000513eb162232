"""Amazon SNS through boto3: one ``Publish`` per alert to the configured topic.

The message uses SNS's per-protocol structure: queues, Lambdas and HTTP subscribers get the alert as JSON
(``Alert.to_json``), e-mail gets readable text, SMS the headline. ``severity`` and ``kind`` are message attributes,
so a subscription's filter policy can pick, say, critical alerts only. boto3 blocks: calls run in this channel's
own small thread pool, with botocore's retries off (the dispatcher retries) and socket timeouts under ours.
"""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.adapters.notifiers.http import describe
from runtime.services.alerts.model import Alert, DeliveryError

MAX_SUBJECT_CHARS = 100  # SNS: ASCII, no line breaks, under 100 characters
_RETRYABLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "InternalError",
        "InternalFailure",
        "ServiceUnavailable",
        "RequestTimeout",
        "KMSThrottling",
    }
)
_NOT_SUBJECT = re.compile(r"[^\x20-\x7e]")


def topic_region(topic_arn: str) -> str:
    """The region named in ``arn:aws:sns:<region>:<account>:<topic>``."""
    parts = topic_arn.split(":")
    if len(parts) < 6 or not parts[3]:
        raise ValueError(f"not an SNS topic ARN: {topic_arn!r}; expected arn:aws:sns:REGION:ACCOUNT:TOPIC")
    return parts[3]


class SnsNotifier:
    def __init__(
        self,
        topic_arn: str,
        *,
        region: str | None = None,
        endpoint_url: str | None = None,
        request_timeout_s: float = 10.0,
    ) -> None:
        self._topic_arn = topic_arn
        self._timeout_s = request_timeout_s
        config = Config(
            connect_timeout=request_timeout_s,
            read_timeout=request_timeout_s,
            retries={"mode": "standard", "max_attempts": 1},  # standard mode counts the first try
        )
        # Its own session: boto3's default session is shared and not safe to build clients from in threads.
        session = boto3.session.Session()
        self._client: Any = session.client(
            "sns", region_name=region or topic_region(topic_arn), endpoint_url=endpoint_url, config=config
        )
        self._runner = BlockingCallRunner(max_workers=2, thread_name_prefix="alerts-sns")

    @property
    def name(self) -> str:
        return "sns"

    async def send(self, alert: Alert) -> None:
        await self._runner.call(self._timeout_s + 1.0, self._publish, alert)

    def _publish(self, alert: Alert) -> str:
        message = {
            "default": json.dumps(alert.to_json()),
            "email": alert.as_text(),
            "sms": alert.headline(),
        }
        try:
            answer = self._client.publish(
                TopicArn=self._topic_arn,
                Subject=subject_line(alert),
                Message=json.dumps(message),
                MessageStructure="json",
                MessageAttributes={
                    "severity": {"DataType": "String", "StringValue": alert.severity.value},
                    "kind": {"DataType": "String", "StringValue": alert.kind},
                },
            )
        except NoCredentialsError:
            raise DeliveryError(
                self.name,
                "no AWS credentials found; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, or run with "
                "a role that may sns:Publish to the topic",
                retryable=False,
            ) from None
        except ClientError as exc:
            raise _refusal(self.name, exc, self._topic_arn) from None
        except BotoCoreError as exc:  # endpoint unreachable, socket timeouts: transient
            raise DeliveryError(self.name, describe(exc), retryable=True) from None
        return str(answer.get("MessageId", ""))

    async def close(self) -> None:
        self._runner.shutdown()


def subject_line(alert: Alert) -> str:
    """The headline made SNS-safe: printable ASCII only, one line, under the length limit."""
    subject = _NOT_SUBJECT.sub("?", alert.headline())
    return subject if len(subject) < MAX_SUBJECT_CHARS else subject[: MAX_SUBJECT_CHARS - 2] + "~"


def _refusal(channel: str, exc: ClientError, topic_arn: str) -> DeliveryError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "?"))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))
    text = f"{code}: {error.get('Message', '')}".rstrip(": ")
    if code in _RETRYABLE_CODES or status >= 500:
        return DeliveryError(channel, text, retryable=True)
    return DeliveryError(
        channel,
        f"SNS refused the publish ({text}); check alerts.sns.topic_arn ({topic_arn}) exists in that region and that "
        "the credentials may sns:Publish to it",
        retryable=False,
    )
