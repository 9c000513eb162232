"""A local AWS account (moto server) and the exchange simulators, for calling the Lambda handlers the way the SQS
event source mapping and EventBridge call them.

One moto server and one ``SimulatorCluster`` serve the whole test package (both start in well under a second); each
test gets its own tables, FIFO queues with dead-letter queues, alerts topic (with an SQS queue subscribed, to read
what was published), secrets prefix and simulator account names, so tests never see each other's state.
The simulators run on their own thread's event loop: the handlers block their caller while the services' own loop
talks to the simulators, exactly as a Lambda invocation would.
"""

from __future__ import annotations

import json
import urllib.request
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

from runtime.adapters.dynamodb.followers import FollowerRegistry
from runtime.adapters.dynamodb.schema import TableNames
from runtime.adapters.dynamodb.tables import create_tables
from runtime.adapters.sqs.messages import master_change_message
from runtime.adapters.sqs.publisher import SqsFifoPublisher
from runtime.config.model import FollowerConfig
from runtime.domain.events import Lifecycle, MasterPositionChanged
from runtime.domain.values import PositionIdx, PositionMode, Venue, decimal_str
from runtime.hosts.aws import AwsOverrides, AwsServices, install_services, reset_services
from runtime.hosts.aws_listener import ListenerSink
from runtime.hosts.aws_loop import LoopThread
from runtime.sim.cluster import SimulatorCluster
from tests.integration.aws.local_aws import REGION, LocalAws

T = TypeVar("T")
MASTER = "main"
SYMBOL = "BTCUSDT"
MARK = Decimal(60000)


class Simulators:
    """The three venue simulators on a thread of their own, with a synchronous admin client."""

    def __init__(self) -> None:
        self._thread = LoopThread("simulators")
        self.cluster = SimulatorCluster()

    def start(self) -> None:
        self.run(self.cluster.start())

    def stop(self) -> None:
        self.run(self.cluster.stop())
        self._thread.close()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._thread.run(coro, timeout_s=30)

    def url(self, venue: Venue) -> str:
        sim = {Venue.BYBIT: self.cluster.bybit, Venue.BINANCE: self.cluster.binance}.get(
            venue, self.cluster.hyperliquid
        )
        assert sim is not None
        return sim.base_url

    def admin(self, venue: Venue, path: str, body: dict[str, Any] | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(f"{self.url(venue)}/admin/{path}", data=data, method="POST" if data else "GET")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def orders(self, venue: Venue, account: str) -> list[dict[str, Any]]:
        return list(self.admin(venue, f"accounts/{account}")["orders"])

    def position(self, venue: Venue, account: str) -> Decimal:
        positions = self.admin(venue, f"accounts/{account}")["positions"]
        return sum((Decimal(p["size"]) * (1 if p["side"] == "Buy" else -1) for p in positions), Decimal(0))

    def set_mark(self, symbol: str, price: Decimal) -> None:
        for venue in (Venue.BYBIT, Venue.BINANCE):
            self.admin(venue, "marks", {"symbol": symbol, "price": decimal_str(price)})


@dataclass
class HandlerWorld:
    """One test's AWS resources and followers. ``env`` is what the stacks would give the functions."""

    aws: LocalAws
    sims: Simulators
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:10])
    env: dict[str, str] = field(default_factory=dict)
    followers: dict[str, Venue] = field(default_factory=dict)
    _services: AwsServices | None = None

    def __post_init__(self) -> None:
        self.tables = TableNames.from_prefix(f"h{self.tag}")
        create_tables(self.aws.client("dynamodb"), self.tables)
        self.sqs = self.aws.client("sqs")
        self.master_queue = self._fifo_queue("master-changes")
        self.orders_queue = self._fifo_queue("follower-orders")
        self.alerts_queue = self.sqs.create_queue(QueueName=f"alerts-{self.tag}")["QueueUrl"]
        sns = self.aws.client("sns")
        self.topic_arn = sns.create_topic(Name=f"alerts-{self.tag}")["TopicArn"]
        alerts_arn = self.sqs.get_queue_attributes(QueueUrl=self.alerts_queue, AttributeNames=["QueueArn"])
        sns.subscribe(
            TopicArn=self.topic_arn,
            Protocol="sqs",
            Endpoint=alerts_arn["Attributes"]["QueueArn"],
            Attributes={"RawMessageDelivery": "true"},
        )
        self.secret_prefix = f"copytrader/{self.tag}/followers/"
        self.env = {
            **self.tables.as_env(),
            "COPYTRADER_ENV": self.tag,
            "MASTER_ID": MASTER,
            "MASTER_CHANGES_QUEUE_URL": self.master_queue,
            "FOLLOWER_ORDERS_QUEUE_URL": self.orders_queue,
            "ALERTS_TOPIC_ARN": self.topic_arn,
            "FOLLOWER_SECRET_PREFIX": self.secret_prefix,
        }
        self.registry = FollowerRegistry(self.aws.client("dynamodb"), self.tables.followers)

    def _fifo_queue(self, name: str) -> str:
        dlq = self.sqs.create_queue(QueueName=f"{name}-{self.tag}-dlq.fifo", Attributes={"FifoQueue": "true"})
        dlq_arn = self.sqs.get_queue_attributes(QueueUrl=dlq["QueueUrl"], AttributeNames=["QueueArn"])
        attributes = {
            "FifoQueue": "true",
            "ContentBasedDeduplication": "false",
            "VisibilityTimeout": "0",  # a failed record may be received again at once (tests redeliver by hand)
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": "5"}
            ),
        }
        return str(self.sqs.create_queue(QueueName=f"{name}-{self.tag}.fifo", Attributes=attributes)["QueueUrl"])

    # --- services ---------------------------------------------------------------------------------------------

    def install_once(self, overrides: AwsOverrides | None = None) -> AwsServices:
        """``install`` on the first call; the same services after that (as a warm Lambda keeps them)."""
        if self._services is None:
            self._services = self.install(overrides)
        return self._services

    def install(self, overrides: AwsOverrides | None = None) -> AwsServices:
        """Build the services from ``env`` (as a Lambda would) and make them what the handlers use."""
        reset_services()
        services = AwsServices.from_environment(self.env, overrides=overrides or AwsOverrides())
        install_services(services)
        self._services = services
        return services

    # --- followers and the master -----------------------------------------------------------------------------

    def add_follower(
        self, name: str, venue: Venue, *, balance: Decimal = Decimal(10000), secret: bool = True, **config: Any
    ) -> str:
        """An account at ``venue``'s simulator, its secret, and its registry item; returns the follower id."""
        follower_id = f"{name}-{self.tag}"
        keys = self.sims.admin(
            venue,
            "accounts",
            {"name": follower_id, "balance": decimal_str(balance), "position_mode": PositionMode.ONE_WAY.value},
        )
        if secret:
            self.put_secret(
                self.secret_prefix + follower_id, {"api_key": keys["api_key"], "api_secret": keys["api_secret"]}
            )
        follower = FollowerConfig.model_validate(
            {
                "id": follower_id,
                "venue": venue.value,
                "sizing": {"mode": "margin_ratio", "margin_pct": "0.1"},
                "api_key_env": "UNUSED_ON_AWS_KEY",
                "api_secret_env": "UNUSED_ON_AWS_SECRET",
                "rest_url": self.sims.url(venue),
                **config,
            }
        )
        self.registry.put(follower)
        self.followers[follower_id] = venue
        return follower_id

    def put_secret(self, name: str, values: dict[str, str]) -> str:
        client = self.aws.client("secretsmanager")
        return str(client.create_secret(Name=name, SecretString=json.dumps(values))["ARN"])

    def master_change(self, seq: int, new_size: Decimal, prev_size: Decimal = Decimal(0)) -> MasterPositionChanged:
        lifecycle = Lifecycle(f"{SYMBOL}:0:{self.tag}", Decimal(600), Decimal(10000), 100)
        return MasterPositionChanged(
            master=MASTER,
            symbol=SYMBOL,
            position_idx=PositionIdx.ONE_WAY,
            seq=seq,
            prev_size=prev_size,
            new_size=new_size,
            position_im=abs(new_size) * MARK / 10,
            leverage=Decimal(10),
            entry_price=MARK,
            lifecycle=lifecycle,
            mark_price=MARK,
        )

    def listener_sink(self, services: AwsServices) -> ListenerSink:
        return ListenerSink(services.store, SqsFifoPublisher(self.master_queue, self.sqs))

    def send_raw_change(self, change: MasterPositionChanged) -> None:
        """Queue a change without the listener's snapshot write (another producer, or a redriven message)."""
        message = master_change_message(change, confirmed_ms=1)
        SqsFifoPublisher(self.master_queue, self.sqs).publish_message(message)

    # --- queues -----------------------------------------------------------------------------------------------

    def receive(self, queue_url: str, max_messages: int = 10) -> list[dict[str, Any]]:
        answer = self.sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=max_messages, MessageSystemAttributeNames=["All"]
        )
        return list(answer.get("Messages", []))

    def drain(self, queue_url: str) -> list[dict[str, Any]]:
        """Every message now in the queue, deleted from it."""
        found: list[dict[str, Any]] = []
        while batch := self.receive(queue_url):
            found += batch
            for message in batch:
                self.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        return found

    def alerts_published(self) -> list[dict[str, Any]]:
        return [json.loads(m["Body"]) for m in self.drain(self.alerts_queue)]


def sqs_event(messages: list[dict[str, Any]], queue_url: str = "") -> dict[str, Any]:
    """The event the SQS event source mapping hands a function for ``messages`` (from ReceiveMessage)."""
    return {
        "Records": [
            {
                "messageId": message["MessageId"],
                "receiptHandle": message["ReceiptHandle"],
                "body": message["Body"],
                "attributes": dict(message.get("Attributes", {})),
                "messageAttributes": {},
                "md5OfBody": message.get("MD5OfBody", ""),
                "eventSource": "aws:sqs",
                "eventSourceARN": f"arn:aws:sqs:{REGION}:123456789012:{queue_url.rsplit('/', 1)[-1]}",
                "awsRegion": REGION,
            }
            for message in messages
        ]
    }


def failed_ids(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]
