"""Alerting (encrypted SNS topic, notifier with retries and a failure queue) and observability (the dashboard's
widgets and the alarms, all notifying the topic when they fire and when they clear)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import contract
from tests.infrastructure.synth import Synthesized

TOPIC = "topic:copytrader-dev-alerts"
EXPECTED_ALARMS = {
    "copytrader-dev-dlq-master-changes",
    "copytrader-dev-dlq-follower-orders",
    "copytrader-dev-dlq-notifier-failures",
    "copytrader-dev-orders-failed",
    "copytrader-dev-copy-latency-p99",
    "copytrader-dev-listener-silent-main",
    "copytrader-dev-dispatcher-errors",
    "copytrader-dev-executor-errors",
    "copytrader-dev-audit-errors",
    "copytrader-dev-notifier-errors",
    "copytrader-dev-master-changes-stalled",
    "copytrader-dev-follower-orders-stalled",
}


def _alarms(synth: Synthesized) -> dict[str, dict[str, Any]]:
    return {
        a["Properties"]["AlarmName"]: a["Properties"]
        for a in synth.resources("monitoring", "AWS::CloudWatch::Alarm").values()
    }


def _custom_metric(alarm: dict[str, Any]) -> dict[str, Any]:
    (query,) = alarm["Metrics"]
    return dict(query["MetricStat"])


def _dashboard(synth: Synthesized) -> dict[str, Any]:
    (dashboard,) = synth.resources("monitoring", "AWS::CloudWatch::Dashboard").values()
    return dict(json.loads(synth.resolve("monitoring", dashboard["Properties"]["DashboardBody"])))


def test_topic_is_encrypted_with_a_rotating_key_cloudwatch_may_use(dev: Synthesized) -> None:
    (topic,) = dev.resources("alerting", "AWS::SNS::Topic").values()
    assert dev.resolve("alerting", topic["Properties"]["KmsMasterKeyId"]).startswith("key:AlertsKey")
    (key,) = dev.resources("alerting", "AWS::KMS::Key").values()
    assert key["Properties"]["EnableKeyRotation"] is True
    cloudwatch = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Principal") == {"Service": "cloudwatch.amazonaws.com"}
    ]
    assert len(cloudwatch) == 1 and set(cloudwatch[0]["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    (policy,) = dev.resources("alerting", "AWS::SNS::TopicPolicy").values()
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny" and statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_notifier_is_subscribed_retries_and_parks_failures(dev: Synthesized) -> None:
    (subscription,) = dev.resources("alerting", "AWS::SNS::Subscription").values()
    props = subscription["Properties"]
    assert props["Protocol"] == "lambda"
    assert dev.resolve("alerting", props["Endpoint"]) == "function:copytrader-dev-notifier"
    failures = "queue:copytrader-dev-notifier-failures"
    assert dev.resolve("alerting", props["RedrivePolicy"]["deadLetterTargetArn"]) == failures
    (invoke,) = dev.resources("alerting", "AWS::Lambda::EventInvokeConfig").values()
    assert invoke["Properties"]["MaximumRetryAttempts"] == 2
    failure = invoke["Properties"]["DestinationConfig"]["OnFailure"]["Destination"]
    assert dev.resolve("alerting", failure) == failures
    (function,) = dev.resources("alerting", "AWS::Lambda::Function").values()
    variables = function["Properties"]["Environment"]["Variables"]
    assert function["Properties"]["Handler"] == "lambdas.notifier.handler.handler"
    assert dev.resolve("alerting", variables["TELEGRAM_SECRET_ARN"]) == "secret:copytrader/dev/alerts/telegram"
    assert dev.resolve("alerting", variables["TWILIO_SECRET_ARN"]) == "secret:copytrader/dev/alerts/twilio"


def test_every_alarm_notifies_the_topic_on_fire_and_clear(dev: Synthesized) -> None:
    alarms = _alarms(dev)
    assert set(alarms) == EXPECTED_ALARMS
    for name, alarm in alarms.items():
        assert [dev.resolve("monitoring", a) for a in alarm["AlarmActions"]] == [TOPIC], name
        assert [dev.resolve("monitoring", a) for a in alarm["OKActions"]] == [TOPIC], name


def test_dead_letter_alarms_fire_on_the_first_message(dev: Synthesized) -> None:
    alarms = _alarms(dev)
    for queue in ("master-changes-dlq.fifo", "follower-orders-dlq.fifo", "notifier-failures"):
        name = "copytrader-dev-dlq-" + queue.removesuffix("-dlq.fifo")
        alarm = alarms[name]
        assert alarm["MetricName"] == "ApproximateNumberOfMessagesVisible"
        (dimension,) = alarm["Dimensions"]
        assert dev.resolve("monitoring", dimension["Value"]) == f"queue:copytrader-dev-{queue}"
        assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (1, "GreaterThanOrEqualToThreshold")


def test_silent_listener_alarm_treats_missing_heartbeats_as_breaching(dev: Synthesized) -> None:
    alarm = _alarms(dev)["copytrader-dev-listener-silent-main"]
    assert alarm["TreatMissingData"] == "breaching"
    assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["EvaluationPeriods"]) == ("LessThanThreshold", 1, 3)
    metric = _custom_metric(alarm)["Metric"]
    assert metric["MetricName"] == contract.LISTENER_HEARTBEAT
    assert {d["Name"]: d["Value"] for d in metric["Dimensions"]} == {"Master": "main", "service": "copytrader-dev"}


@pytest.mark.parametrize(("env_fixture", "threshold"), [("dev", 5000), ("prod", 3000)])
def test_latency_alarm_on_end_to_end_p99(env_fixture: str, threshold: int, request: pytest.FixtureRequest) -> None:
    synth: Synthesized = request.getfixturevalue(env_fixture)
    alarm = _alarms(synth)[f"{synth.config.prefix}-copy-latency-p99"]
    stat = _custom_metric(alarm)
    assert stat["Stat"] == "p99" and alarm["Threshold"] == threshold
    assert stat["Metric"]["Namespace"] == contract.METRICS_NAMESPACE
    dimensions = {d["Name"]: d["Value"] for d in stat["Metric"]["Dimensions"]}
    assert dimensions == {"Hop": "end_to_end", "service": contract.service_name(synth.config.name)}


def test_dashboard_shows_every_required_series(dev: Synthesized) -> None:
    widgets = _dashboard(dev)["widgets"]
    series: dict[str, list[list[Any]]] = {
        w["properties"]["title"]: w["properties"]["metrics"] for w in widgets if w["type"] == "metric"
    }
    for percentile in ("p50", "p99"):
        lines = series[f"Copy latency {percentile} per hop (ms)"]
        assert {line[3] for line in lines} == {hop.value for hop in contract.Hop}
        assert all(line[-1]["stat"] == percentile and line[:2] == ["CopyTrader", "CopyLatencyMs"] for line in lines)
    assert [line[1] for line in series["Orders: ok / refused / failed"]] == [
        "OrdersPlaced",
        "OrdersRefused",
        "OrdersFailed",
    ]
    assert len(series["Dead-letter queue depth"]) == 3
    assert [line[1] for line in series["Audit discrepancies"]] == ["AuditDiscrepancies"]
    assert [line[1] for line in series["Master stream: reconnects and gap replays"]] == [
        "StreamReconnects",
        "GapReplays",
    ]
    assert [line[1] for line in series["Listener heartbeats per minute"]] == ["ListenerHeartbeat"]
    for title in ("Lambda errors", "Lambda throttles", "Lambda duration p99 (ms)"):
        assert len(series[title]) == 4
    custom = [line for lines in series.values() for line in lines if line[0] == contract.METRICS_NAMESPACE]
    assert all("service" in line and "copytrader-dev" in line for line in custom)  # the dimension emitters add
