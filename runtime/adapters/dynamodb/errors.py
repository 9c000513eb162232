"""DynamoDB errors, translated at the boundary into the port's ``StoreError`` with what to check.

Conditional-check failures are not errors here: the store turns them into its answers (claim lost, stale seq) before
anything reaches this module.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from botocore.exceptions import BotoCoreError, ClientError

from runtime.ports.store import StoreError

T = TypeVar("T")

CONDITION_FAILED = "ConditionalCheckFailedException"

_ADVICE = {
    "ResourceNotFoundException": "the table (or its index) does not exist: deploy the data stack, or call "
    "runtime.adapters.dynamodb.tables.create_tables for a local AWS, and check the *_TABLE environment variables",
    "AccessDeniedException": "this role may not call that action on that table: check the function's IAM policy "
    "in infra/stacks/compute_stack.py",
    "UnrecognizedClientException": "the AWS credentials are invalid: check AWS_PROFILE / AWS_ACCESS_KEY_ID",
    "ProvisionedThroughputExceededException": "DynamoDB throttled the table after boto3's retries: check the "
    "table's capacity mode (on-demand is expected) and the ThrottledRequests metric",
    "ThrottlingException": "DynamoDB throttled the request after boto3's retries: retry later",
    "ValidationException": "DynamoDB refused the request as malformed: a bug in the store, please report it",
}


def error_code(exc: ClientError) -> str:
    error: dict[str, Any] = exc.response.get("Error", {})
    return str(error.get("Code", ""))


def is_condition_failure(exc: ClientError) -> bool:
    return error_code(exc) == CONDITION_FAILED


def store_error(action: str, table: str, exc: Exception) -> StoreError:
    if isinstance(exc, ClientError):
        code = error_code(exc)
        advice = _ADVICE.get(code, "see the message above and the DynamoDB console")
        return StoreError(f"DynamoDB {action} on table {table!r} failed with {code or 'an error'}: {exc}; {advice}")
    return StoreError(
        f"DynamoDB {action} on table {table!r} failed: {exc}; check the network path to DynamoDB "
        "(AWS_ENDPOINT_URL for a local AWS) and the region"
    )


@contextmanager
def translated(action: str, table: str) -> Iterator[None]:
    """Raise any botocore failure inside the block as a ``StoreError`` naming the action and the table."""
    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise store_error(action, table, exc) from exc


def call(action: str, table: str, operation: Callable[..., T], **request: Any) -> T:
    with translated(action, table):
        return operation(**request)
