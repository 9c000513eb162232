"""A moto server on 127.0.0.1 for the AWS adapter tests: one per test module, boto3 clients pointed at it.

Dummy credentials are set only while the server's fixture is active (``pytest.MonkeyPatch.context``), so no test
can reach a real AWS account: every client is built with the server's ``endpoint_url``.

Real DynamoDB applies each request to an item atomically (a conditional write's check and write are one step);
moto evaluates them in Python with no lock, so two racing threads can both pass ``attribute_not_exists`` or both
see ``if_not_exists`` empty (seen here about once in 40 races). The fixture therefore runs moto's DynamoDB requests
one at a time. The races stay real where the store could get them wrong: a store that reads, then writes in a
second request still loses under this lock, so the contract's concurrency tests keep their teeth.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto.dynamodb.responses import DynamoHandler
from moto.server import ThreadedMotoServer

from runtime.adapters.dynamodb.schema import TableNames
from runtime.adapters.dynamodb.tables import create_tables

REGION = "us-east-1"
_CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=64)


@dataclass(frozen=True)
class LocalAws:
    endpoint_url: str

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION, endpoint_url=self.endpoint_url, config=_CLIENT_CONFIG)

    def fresh_tables(self) -> TableNames:
        """A new, empty set of the six tables under a unique prefix."""
        names = TableNames.from_prefix(f"t{uuid.uuid4().hex[:12]}")
        create_tables(self.client("dynamodb"), names)
        return names


def _one_request_at_a_time(handler_call: Any) -> Any:
    lock = threading.Lock()

    def call_action(self: DynamoHandler) -> Any:
        with lock:
            return handler_call(self)

    return call_action


@contextmanager
def local_aws() -> Iterator[LocalAws]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DynamoHandler, "call_action", _one_request_at_a_time(DynamoHandler.call_action))
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_ACCESS_KEY_ID", "testing")
        patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        patch.setenv("AWS_DEFAULT_REGION", REGION)
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        try:
            host, port = server.get_host_and_port()
            yield LocalAws(f"http://{host}:{port}")
        finally:
            server.stop()
