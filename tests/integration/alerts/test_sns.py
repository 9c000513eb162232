"""The SNS channel on a local AWS (moto server): publish to a topic, read the message from a subscribed queue."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from typing import Any

import boto3
import pytest

from runtime.adapters.notifiers.sns import SnsNotifier, subject_line, topic_region
from runtime.services.alerts.model import DeliveryError, Severity
from tests.integration.alerts.capture import refused_port
from tests.unit.alerts.fakes import make_alert

REGION = "eu-west-1"


def aws(service: str, endpoint: str) -> Any:
    return boto3.session.Session().client(service, region_name=REGION, endpoint_url=endpoint)


@pytest.fixture
def topic_and_queue(moto_endpoint: str, aws_env: None) -> tuple[str, str]:
    """A fresh topic with a fresh SQS queue subscribed to it: (topic ARN, queue URL)."""
    sns, sqs = aws("sns", moto_endpoint), aws("sqs", moto_endpoint)
    name = f"copytrader-alerts-{uuid.uuid4().hex[:8]}"
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url


async def test_publish_reaches_a_subscribed_queue_as_json(moto_endpoint: str, topic_and_queue: tuple[str, str]) -> None:
    topic_arn, queue_url = topic_and_queue
    channel = SnsNotifier(topic_arn, endpoint_url=moto_endpoint, request_timeout_s=5)
    alert = make_alert(Severity.CRITICAL)
    try:
        await channel.send(alert)
    finally:
        await channel.close()
    answer = aws("sqs", moto_endpoint).receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    [message] = answer["Messages"]
    envelope = json.loads(message["Body"])  # SNS's notification envelope around our message
    assert envelope["TopicArn"] == topic_arn
    assert envelope["Subject"] == alert.headline()
    assert json.loads(envelope["Message"]) == alert.to_json()  # the "default" (machine) form
    assert envelope["MessageAttributes"]["severity"] == {"Type": "String", "Value": "critical"}
    assert envelope["MessageAttributes"]["kind"] == {"Type": "String", "Value": "SizeMismatch"}


async def test_botos_endpoint_variable_also_points_the_channel_at_a_local_server(
    moto_endpoint: str, topic_and_queue: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    topic_arn, queue_url = topic_and_queue
    monkeypatch.setenv("AWS_ENDPOINT_URL_SNS", moto_endpoint)
    channel = SnsNotifier(topic_arn, request_timeout_s=5)
    try:
        await channel.send(alert := make_alert())
    finally:
        await channel.close()
    [message] = aws("sqs", moto_endpoint).receive_message(QueueUrl=queue_url, WaitTimeSeconds=1)["Messages"]
    assert json.loads(json.loads(message["Body"])["Message"])["key"] == alert.key


async def test_a_missing_topic_is_a_permanent_error(moto_endpoint: str, aws_env: None) -> None:
    channel = SnsNotifier(f"arn:aws:sns:{REGION}:123456789012:no-such-topic", endpoint_url=moto_endpoint)
    try:
        with pytest.raises(DeliveryError) as caught:
            await channel.send(make_alert())
    finally:
        await channel.close()
    assert not caught.value.retryable
    assert "NotFound" in str(caught.value) and "check alerts.sns.topic_arn" in str(caught.value)


async def test_an_unreachable_endpoint_is_retryable(aws_env: None) -> None:
    arn = f"arn:aws:sns:{REGION}:123456789012:alerts"
    channel = SnsNotifier(arn, endpoint_url=f"http://127.0.0.1:{refused_port()}", request_timeout_s=1)
    try:
        with pytest.raises(DeliveryError) as caught:
            await channel.send(make_alert())
    finally:
        await channel.close()
    assert caught.value.retryable
    assert "EndpointConnectionError" in str(caught.value)


def test_region_comes_from_the_arn_and_the_subject_is_sns_safe() -> None:
    assert topic_region("arn:aws:sns:ap-southeast-1:123456789012:alerts") == "ap-southeast-1"
    with pytest.raises(ValueError, match="expected arn:aws:sns:REGION:ACCOUNT:TOPIC"):
        topic_region("arn:aws:sns")
    alert = make_alert()
    long_unicode = replace(alert, title="Größe " + "x" * 200)
    subject = subject_line(long_unicode)
    assert len(subject) < 100 and subject.isascii() and "\n" not in subject
    assert subject.startswith("[WARNING] Gr??e xxx")
