"""The DynamoDB store against the store contract (on a moto server), plus what only DynamoDB has: strings for
Decimals, the sparse unfinished-claims index, order-log expiry filtered on read, StoreError translation."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config

from runtime.adapters.dynamodb import items
from runtime.adapters.dynamodb.schema import TableNames
from runtime.adapters.dynamodb.store import DynamoDBStore
from runtime.domain.events import Lifecycle
from runtime.domain.values import PositionIdx
from runtime.ports.store import ClaimStatus, OrderOutcome, StateStore, StoreError
from tests.contract.store_contract import StoreContract, make_claim, make_log, make_snapshot
from tests.integration.aws.local_aws import LocalAws, local_aws


@pytest.fixture(scope="module")
def aws() -> Iterator[LocalAws]:
    with local_aws() as server:
        yield server


class TestDynamoDBStore(StoreContract):
    @pytest.fixture
    def store(self, aws: LocalAws) -> Iterator[StateStore]:
        store = DynamoDBStore(aws.client("dynamodb"), aws.fresh_tables())
        yield store
        store.close()


@pytest.fixture
def fresh(aws: LocalAws) -> tuple[Any, TableNames]:
    return aws.client("dynamodb"), aws.fresh_tables()


class FakeClock:
    def __init__(self, ms: int) -> None:
        self.ms = ms

    def __call__(self) -> int:
        return self.ms


def test_satisfies_the_port_protocol(fresh: tuple[Any, TableNames]) -> None:
    client, names = fresh
    store: StateStore = DynamoDBStore(client, names)  # mypy checks the structural match
    assert store.get_claim("none") is None


def test_decimals_are_stored_as_exact_strings(fresh: tuple[Any, TableNames]) -> None:
    client, names = fresh
    store = DynamoDBStore(client, names)
    store.claim(make_claim("a", qty=Decimal("98765432109876543210.0123456789012345678901")))
    store.get_or_set_ratio("alice", "L", Decimal("1.10"))
    raw_claim = client.get_item(TableName=names.claims, Key={"claim_id": {"S": "a"}})["Item"]
    raw_ratio = client.get_item(
        TableName=names.ratios, Key={"follower_id": {"S": "alice"}, "lifecycle_id": {"S": "L"}}
    )["Item"]
    # 43 significant digits: more than a DynamoDB number keeps (38), so strings are the only exact form.
    assert raw_claim["qty"] == {"S": "98765432109876543210.0123456789012345678901"}
    assert raw_ratio["k"] == {"S": "1.10"}
    assert raw_claim["seq"] == {"N": "101"}  # integers stay numbers so conditions can compare them


def test_finishing_a_claim_takes_it_out_of_the_sparse_index(fresh: tuple[Any, TableNames]) -> None:
    client, names = fresh
    store = DynamoDBStore(client, names)
    store.claim(make_claim("a"))
    key = {"claim_id": {"S": "a"}}
    assert client.get_item(TableName=names.claims, Key=key)["Item"]["pending"] == {"S": "claimed"}
    store.finish_claim("a", ClaimStatus.PLACED, {"venue_order_id": "1"})
    assert "pending" not in client.get_item(TableName=names.claims, Key=key)["Item"]
    index = client.query(
        TableName=names.claims,
        IndexName="unfinished-by-created",
        KeyConditionExpression="pending = :p",
        ExpressionAttributeValues={":p": {"S": "claimed"}},
    )
    assert index["Items"] == []


def test_unfinished_claims_trusts_the_table_not_a_lagging_index(fresh: tuple[Any, TableNames]) -> None:
    # A finished claim still in the index (DynamoDB's index lags the table briefly) must not come back.
    client, names = fresh
    store = DynamoDBStore(client, names)
    stale = items.claim_item(make_claim("finished-but-indexed", status=ClaimStatus.PLACED))
    stale["pending"] = {"S": "claimed"}
    client.put_item(TableName=names.claims, Item=stale)
    store.claim(make_claim("open"))
    assert [claim.claim_id for claim in store.unfinished_claims()] == ["open"]


def test_first_lifecycle_figures_win_and_travel_with_the_snapshot(fresh: tuple[Any, TableNames]) -> None:
    # Two listeners of one master may read the equity at open a moment apart: the first stored figures stay.
    client, names = fresh
    store = DynamoDBStore(client, names)
    first = Lifecycle("BTCUSDT:0:100", Decimal("1500.25"), Decimal("10000"), 100)
    second = Lifecycle("BTCUSDT:0:100", Decimal("1500.25"), Decimal("10001.5"), 100)
    assert store.put_master_snapshot(make_snapshot(100, lifecycle=first)) is True
    assert store.put_master_snapshot(make_snapshot(101, lifecycle=second)) is True
    snapshot = store.get_master_snapshot("master", "BTCUSDT", PositionIdx.ONE_WAY)
    assert snapshot is not None and snapshot.seq == 101 and snapshot.lifecycle == first
    assert store.get_lifecycle("master", "BTCUSDT:0:100") == first


def test_order_log_entries_expire_on_read(fresh: tuple[Any, TableNames]) -> None:
    client, names = fresh
    clock = FakeClock(1_700_000_000_000)
    store = DynamoDBStore(client, names, clock_ms=clock, order_log_retention_days=1)
    store.append_order_log(make_log("old", follower_id="alice"))
    clock.ms += 3_600_000
    store.append_order_log(make_log("new", follower_id="alice"))
    raw = client.scan(TableName=names.order_log)["Items"]
    assert sorted(int(item["expires_at"]["N"]) for item in raw) == [1_700_086_400, 1_700_090_000]
    clock.ms = 1_700_000_000_000 + 86_400_000 + 1_000  # "old" is past its expiry; moto, like DynamoDB, still has it
    assert [e.client_order_id for e in store.list_order_log()] == ["new"]
    assert [e.client_order_id for e in store.list_order_log(follower_id="alice")] == ["new"]
    assert len(client.scan(TableName=names.order_log)["Items"]) == 2


def test_order_log_keeps_two_entries_of_one_order_in_one_millisecond(fresh: tuple[Any, TableNames]) -> None:
    store = DynamoDBStore(*fresh, clock_ms=FakeClock(1_700_000_000_000))
    store.append_order_log(make_log("", outcome=OrderOutcome.SKIPPED, message="paused", logged_ms=5))
    store.append_order_log(make_log("", outcome=OrderOutcome.SKIPPED, message="on target", logged_ms=5))
    assert [e.message for e in store.list_order_log()] == ["on target", "paused"]


def test_order_log_limit_is_filled_past_expired_entries(fresh: tuple[Any, TableNames]) -> None:
    # Query's Limit counts items before the expiry filter: the store must page on until it has enough.
    client, names = fresh
    clock = FakeClock(1_700_000_000_000)
    store = DynamoDBStore(client, names, clock_ms=clock, order_log_retention_days=1)
    for i in range(3):
        store.append_order_log(make_log(f"keep{i}"))
    clock.ms -= 2 * 86_400_000  # entries written "earlier" by a skewed clock: expired already, but newest by key
    for i in range(5):
        store.append_order_log(make_log(f"expired{i}"))
    clock.ms += 2 * 86_400_000
    assert [e.client_order_id for e in store.list_order_log(limit=2)] == ["keep2", "keep1"]


def test_pause_flags_live_in_the_followers_table(fresh: tuple[Any, TableNames]) -> None:
    client, names = fresh
    DynamoDBStore(client, names).set_follower_paused("alice", True)
    item = client.get_item(TableName=names.followers, Key={"follower_id": {"S": "alice"}})["Item"]
    assert item["paused"] == {"BOOL": True}


def test_missing_table_names_the_table_and_the_fix(aws: LocalAws) -> None:
    store = DynamoDBStore(aws.client("dynamodb"), TableNames.from_prefix("never-created"))
    with pytest.raises(StoreError, match=r"never-created-claims.*deploy the data stack"):
        store.get_claim("a")
    with pytest.raises(StoreError, match="never-created-claims"):
        store.claim(make_claim("a"))
    with pytest.raises(StoreError, match="never-created-master-state"):
        store.put_master_snapshot(make_snapshot(1, lifecycle=None))


def test_unreachable_endpoint_is_a_store_error() -> None:
    client = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",  # the discard port: nothing listens
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(retries={"max_attempts": 1}, connect_timeout=1),
    )
    store = DynamoDBStore(client, TableNames.from_prefix("x"))
    with pytest.raises(StoreError, match="network path"):
        store.claim(make_claim("a"))


def test_non_finite_decimal_is_refused(fresh: tuple[Any, TableNames]) -> None:
    store = DynamoDBStore(*fresh)
    with pytest.raises(ValueError, match="finite"):
        store.claim(make_claim("a", qty=Decimal("NaN")))
    assert store.get_claim("a") is None


def test_retention_must_be_positive(fresh: tuple[Any, TableNames]) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        DynamoDBStore(*fresh, order_log_retention_days=0)
