"""The local AWS account mirrors the stacks: names from infra/contract.py, queue settings from the messaging stack,
the environment the functions get; and it leaves nothing behind."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from moto.dynamodb.responses import DynamoHandler
from moto.sqs.responses import SQSResponse

from infra import contract
from infra import function_settings as infra_settings
from infra.stacks import messaging_stack
from runtime.adapters.dynamodb.schema import TableNames
from runtime.hosts.aws_local import moto_lock, moto_world, names
from runtime.hosts.aws_local.moto_world import MotoWorld, MotoWorldError, MotoWorldSettings

pytestmark = pytest.mark.timeout(30)


def test_the_names_are_the_contracts() -> None:
    for env in ("local", "prod"):
        assert names.resource_prefix(env) == contract.resource_prefix(env)
        for spec, suffix in ((contract.MASTER_CHANGES, names.MASTER_CHANGES_SUFFIX),
                             (contract.FOLLOWER_ORDERS, names.FOLLOWER_ORDERS_SUFFIX)):  # fmt: skip
            assert names.queue_name(env, suffix) == spec.queue_name(env)
            assert names.dead_letter_queue_name(env, suffix) == spec.dead_letter_queue_name(env)
        assert names.follower_secret_prefix(env) == contract.follower_secret_prefix(env)
        assert names.master_secret_name(env, "main") == contract.master_secret_name(env, "main")
        assert names.alert_secret_name(env, "telegram") == contract.alert_secret_name(env, "telegram")
        assert TableNames.from_prefix(names.resource_prefix(env)).as_env() == {
            spec.env_var: spec.table_name(env) for spec in contract.TABLES
        }


def test_the_queue_settings_are_the_messaging_stacks() -> None:
    factor = messaging_stack.VISIBILITY_FACTOR
    assert moto_world.MAX_RECEIVE_COUNT == messaging_stack.MAX_RECEIVE_COUNT
    assert infra_settings.DISPATCHER_TIMEOUT.to_seconds() * factor == moto_world.DISPATCHER_VISIBILITY_S
    assert infra_settings.EXECUTOR_TIMEOUT.to_seconds() * factor == moto_world.EXECUTOR_VISIBILITY_S


def test_the_world_creates_the_resources_the_stacks_would(world: MotoWorld) -> None:
    sqs = world.client("sqs")
    for queue, visibility in ((world.master_changes, "60"), (world.follower_orders, "120")):
        attributes = sqs.get_queue_attributes(QueueUrl=queue.url, AttributeNames=["All"])["Attributes"]
        assert attributes["FifoQueue"] == "true" and attributes["ContentBasedDeduplication"] == "false"
        assert attributes["VisibilityTimeout"] == visibility
        assert json.loads(attributes["RedrivePolicy"]) == {"deadLetterTargetArn": queue.dlq_arn, "maxReceiveCount": 5}
        assert queue.dlq_url.endswith("-dlq.fifo")
    # moto's backends are process-wide, so other tests' tables may be there too: list every page.
    pages = world.client("dynamodb").get_paginator("list_tables").paginate()
    tables = [name for page in pages for name in page["TableNames"]]
    assert set(world.tables.as_env().values()) <= set(tables)
    assert world.topic_arn.endswith(":copytrader-unit-poller-alerts")


def test_the_function_environment_names_every_resource(world: MotoWorld) -> None:
    env = world.function_environment()
    assert env[contract.MASTER_CHANGES.url_env_var] == world.master_changes.url
    assert env[contract.FOLLOWER_ORDERS.url_env_var] == world.follower_orders.url
    assert env[contract.ALERTS_TOPIC_ARN] == world.topic_arn
    assert env[contract.FOLLOWER_SECRET_PREFIX] == "copytrader/unit-poller/followers/"
    assert env[contract.ENV_NAME] == "unit-poller" and env[contract.MASTER_ID] == "main"
    assert all(env[spec.env_var] == spec.table_name("unit-poller") for spec in contract.TABLES)
    assert env["AWS_ENDPOINT_URL"] == world.endpoint_url.rstrip("/")
    assert all(os.environ[name] == value for name, value in env.items())  # boto3 in this process uses it


def test_a_follower_secret_is_readable_where_the_functions_look(world: MotoWorld) -> None:
    name = world.put_follower_secret("alice", {"api_key": "k", "api_secret": "s"})
    world.put_follower_secret("alice", {"api_key": "k2", "api_secret": "s2"})  # overwriting is allowed
    value: Any = world.client("secretsmanager").get_secret_value(SecretId=name)
    assert name == "copytrader/unit-poller/followers/alice"
    assert json.loads(value["SecretString"]) == {"api_key": "k2", "api_secret": "s2"}


def test_stop_restores_the_environment_and_a_new_world_starts_empty(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "someone")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    first = MotoWorld(MotoWorldSettings(env_name="unit-restart"))
    with first:
        assert "AWS_PROFILE" not in os.environ  # no real account's profile while the local one runs
        first.client("sqs").send_message(
            QueueUrl=first.follower_orders.url, MessageBody="left over", MessageGroupId="g", MessageDeduplicationId="d"
        )
    assert os.environ["AWS_PROFILE"] == "someone" and "AWS_ENDPOINT_URL" not in os.environ
    with pytest.raises(MotoWorldError, match="not running"):
        _ = first.endpoint_url
    with MotoWorld(MotoWorldSettings(env_name="unit-restart")) as second:
        assert second.queue_counts(second.follower_orders.url) == (0, 0)


def test_moto_requests_are_serialised_while_a_world_runs_and_restored_after() -> None:
    def installed() -> tuple[object, object]:
        return DynamoHandler.__dict__.get("call_action"), SQSResponse.__dict__.get("call_action")

    before = installed()  # the module's world may hold the locks already (they are reference-counted)
    moto_lock.acquire()
    moto_lock.acquire()
    try:
        assert all("_serialised" in getattr(method, "__qualname__", "") for method in installed())
        moto_lock.release()
        assert all("_serialised" in getattr(method, "__qualname__", "") for method in installed())
    finally:
        moto_lock.release()
    assert installed() == before
