"""A local AWS account on a moto server: the tables, the two FIFO queues with their dead-letter queues, the alerts
topic and the secrets, under the names ``infra/contract.py`` gives an environment (``copytrader-local-...``;
``aws_local.names`` holds the runtime's copy of those names).

``MotoWorld.start`` starts ``ThreadedMotoServer`` on 127.0.0.1 (a free port) and points boto3 in this process at it
through the standard variables (``AWS_ENDPOINT_URL``, region, dummy credentials), together with the variables the
stacks give the functions (table names, queue URLs, topic ARN, secret prefix). ``stop`` deletes what it created,
stops the server and puts every variable back as it was, so nothing outlives the world and no call can reach a real
account while it runs.

Queue settings mirror ``infra/stacks/messaging_stack.py``: visibility timeout = twice the consumer's function
timeout, maxReceiveCount 5, content-based deduplication off. (They are copied, not imported: importing the CDK
starts a Node process; ``tests/unit/aws_local`` checks that the copies agree.)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from runtime.adapters.dynamodb.schema import TableNames
from runtime.adapters.dynamodb.tables import create_tables, delete_tables
from runtime.hosts import aws_names
from runtime.hosts.aws_local import moto_lock, names

REGION = "us-east-1"
MAX_RECEIVE_COUNT = 5  # infra/stacks/messaging_stack.py
DISPATCHER_VISIBILITY_S = 60  # 2 x the dispatcher's 30 s timeout (infra/function_settings.py)
EXECUTOR_VISIBILITY_S = 120  # 2 x the executor's 60 s timeout
CHANNEL_OFF = "REPLACE_ME"  # a placeholder alert secret keeps that channel off, as after a fresh deploy
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=64)
_SDK_VARIABLES = ("AWS_ENDPOINT_URL", "AWS_DEFAULT_REGION", "AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
_CLEARED_VARIABLES = ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


@dataclass(frozen=True)
class QueueSettings:
    visibility_timeout_s: int
    max_receive_count: int = MAX_RECEIVE_COUNT


@dataclass(frozen=True)
class MotoWorldSettings:
    env_name: str = "local"
    master_id: str = "main"
    master_changes: QueueSettings = QueueSettings(DISPATCHER_VISIBILITY_S)
    follower_orders: QueueSettings = QueueSettings(EXECUTOR_VISIBILITY_S)


@dataclass(frozen=True)
class FifoQueue:
    """One FIFO queue and its dead-letter queue as created."""

    name: str
    url: str
    arn: str
    dlq_url: str
    dlq_arn: str
    settings: QueueSettings


@dataclass
class _Created:
    queues: list[str] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    tables: TableNames | None = None


class MotoWorldError(RuntimeError):
    """The local AWS could not be used as asked (not started, or a resource could not be created)."""


class MotoWorld:
    """The local AWS account. Use ``with MotoWorld() as world:`` or ``start()`` / ``stop()``."""

    def __init__(self, settings: MotoWorldSettings | None = None) -> None:
        self.settings = settings or MotoWorldSettings()
        self.prefix = names.resource_prefix(self.settings.env_name)
        self.tables = TableNames.from_prefix(self.prefix)
        self._server: ThreadedMotoServer | None = None
        self._endpoint_url = ""
        self._saved_env: dict[str, str | None] = {}
        self._created = _Created()
        self._master_changes: FifoQueue | None = None
        self._follower_orders: FifoQueue | None = None
        self._topic_arn = ""
        self._saved_werkzeug_level = logging.NOTSET

    # --- lifecycle ---------------------------------------------------------------------------------------------

    def start(self) -> None:
        if self._server is not None:
            raise MotoWorldError("the local AWS is already running: stop() it before starting it again")
        # werkzeug logs every request at INFO to stderr unless its logger already has a level.
        werkzeug = logging.getLogger("werkzeug")
        self._saved_werkzeug_level = werkzeug.level
        werkzeug.setLevel(logging.WARNING)
        moto_lock.acquire()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        try:
            server.start()
        except BaseException:
            moto_lock.release()
            werkzeug.setLevel(self._saved_werkzeug_level)
            raise
        self._server = server
        try:
            host, port = server.get_host_and_port()
            self._endpoint_url = f"http://{host}:{port}"
            self._set_env(self._sdk_environment())
            self._create_resources()
            self._set_env(self.function_environment())
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Delete what ``start`` created, stop the server, restore the environment (safe to call twice)."""
        server = self._server
        if server is None:
            return
        try:
            self._delete_resources()
        finally:
            self._server = None
            server.stop()
            for name, value in self._saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
            self._saved_env = {}
            logging.getLogger("werkzeug").setLevel(self._saved_werkzeug_level)
            moto_lock.release()

    def __enter__(self) -> MotoWorld:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- what the world offers ---------------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        self._require_running()
        return self._endpoint_url

    @property
    def master_changes(self) -> FifoQueue:
        self._require_running()
        assert self._master_changes is not None
        return self._master_changes

    @property
    def follower_orders(self) -> FifoQueue:
        self._require_running()
        assert self._follower_orders is not None
        return self._follower_orders

    @property
    def topic_arn(self) -> str:
        self._require_running()
        return self._topic_arn

    def client(self, service: str) -> Any:
        """A boto3 client on the local AWS (explicit endpoint, so it never reaches a real account)."""
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url, config=_CLIENT_CONFIG)

    def function_environment(self) -> dict[str, str]:
        """What the stacks put into the functions' and the listener's environment (``infra/contract.py``)."""
        env = self.settings.env_name
        return {
            **self._sdk_environment(),
            **self.tables.as_env(),
            aws_names.ENV_NAME: env,
            aws_names.MASTER_ID: self.settings.master_id,
            aws_names.MASTER_CHANGES_QUEUE_URL: self.master_changes.url,
            aws_names.FOLLOWER_ORDERS_QUEUE_URL: self.follower_orders.url,
            aws_names.ALERTS_TOPIC_ARN: self.topic_arn,
            aws_names.FOLLOWER_SECRET_PREFIX: names.follower_secret_prefix(env),
            aws_names.TELEGRAM_SECRET_ARN: names.alert_secret_name(env, "telegram"),
            aws_names.TWILIO_SECRET_ARN: names.alert_secret_name(env, "twilio"),
            aws_names.BYBIT_TESTNET: "false",
        }

    def put_secret(self, name: str, values: Mapping[str, str]) -> str:
        """Create (or overwrite) a JSON secret; returns its name."""
        secrets = self.client("secretsmanager")
        text = json.dumps(dict(values))
        try:
            secrets.create_secret(Name=name, SecretString=text)
        except secrets.exceptions.ResourceExistsException:
            secrets.put_secret_value(SecretId=name, SecretString=text)
        if name not in self._created.secrets:
            self._created.secrets.append(name)
        return name

    def put_follower_secret(self, follower_id: str, values: Mapping[str, str]) -> str:
        """A follower's keys where the executor and the audit look for them: the follower prefix + its id."""
        return self.put_secret(names.follower_secret_prefix(self.settings.env_name) + follower_id, values)

    def queue_counts(self, queue_url: str) -> tuple[int, int]:
        """(visible, in flight) messages of a queue; moto counts exactly where SQS approximates."""
        answer = self.client("sqs").get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(answer["ApproximateNumberOfMessages"]), int(answer["ApproximateNumberOfMessagesNotVisible"])

    # --- internals ---------------------------------------------------------------------------------------------

    def _require_running(self) -> None:
        if self._server is None:
            raise MotoWorldError("the local AWS is not running: call start() first (or use it as a context manager)")

    def _sdk_environment(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self._endpoint_url,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }

    def _set_env(self, values: Mapping[str, str]) -> None:
        for name in (*values, *_CLEARED_VARIABLES):
            if name not in self._saved_env:
                self._saved_env[name] = os.environ.get(name)
        for name in _CLEARED_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(values)

    def _create_resources(self) -> None:
        env = self.settings.env_name
        create_tables(self.client("dynamodb"), self.tables)
        self._created.tables = self.tables
        self._master_changes = self.create_fifo_queue(names.MASTER_CHANGES_SUFFIX, self.settings.master_changes)
        self._follower_orders = self.create_fifo_queue(names.FOLLOWER_ORDERS_SUFFIX, self.settings.follower_orders)
        self._topic_arn = self.client("sns").create_topic(Name=names.alerts_topic_name(env))["TopicArn"]
        self._created.topics.append(self._topic_arn)
        for channel in ("telegram", "twilio"):
            self.put_secret(names.alert_secret_name(env, channel), {"bot_token": CHANNEL_OFF})

    def create_fifo_queue(self, suffix: str, settings: QueueSettings) -> FifoQueue:
        """``copytrader-<env>-<suffix>.fifo`` with its dead-letter queue and redrive, as the messaging stack makes
        them (``stop`` deletes it)."""
        sqs = self.client("sqs")
        env = self.settings.env_name
        dlq_url = sqs.create_queue(
            QueueName=names.dead_letter_queue_name(env, suffix),
            Attributes={"FifoQueue": "true", "MessageRetentionPeriod": str(14 * 86_400)},
        )["QueueUrl"]
        self._created.queues.append(dlq_url)
        dlq_arn = self._queue_arn(dlq_url)
        name = names.queue_name(env, suffix)
        url = sqs.create_queue(
            QueueName=name,
            Attributes={
                "FifoQueue": "true",
                "ContentBasedDeduplication": "false",
                "DeduplicationScope": "messageGroup",
                "FifoThroughputLimit": "perMessageGroupId",
                "VisibilityTimeout": str(settings.visibility_timeout_s),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receive_count}
                ),
            },
        )["QueueUrl"]
        self._created.queues.append(url)
        return FifoQueue(name, url, self._queue_arn(url), dlq_url, dlq_arn, settings)

    def _queue_arn(self, url: str) -> str:
        answer = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(answer["Attributes"]["QueueArn"])

    def _delete_resources(self) -> None:
        """Best effort: moto's state lives as long as this process, so a later world must start empty."""
        created, self._created = self._created, _Created()
        with _ignoring_errors():
            sqs = self.client("sqs")
            for url in reversed(created.queues):
                with _ignoring_errors():
                    sqs.delete_queue(QueueUrl=url)
            for arn in created.topics:
                with _ignoring_errors():
                    self.client("sns").delete_topic(TopicArn=arn)
            secrets = self.client("secretsmanager")
            for name in created.secrets:
                with _ignoring_errors():
                    secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
            if created.tables is not None:
                delete_tables(self.client("dynamodb"), created.tables)


def _ignoring_errors() -> contextlib.suppress:
    """Cleanup of an in-process moto: nothing there is worth reporting to the user."""
    return contextlib.suppress(Exception)
