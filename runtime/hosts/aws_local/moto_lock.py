"""Run moto's DynamoDB and SQS requests one at a time while a local AWS world is up.

Real DynamoDB applies a conditional write's check and write as one step, and real SQS hands a FIFO message group to
one consumer at a time. Moto evaluates both in plain Python without a lock, so racing threads can both win a
conditional put, or two receivers can both get a message of the same group. Serialising the requests restores
the atomicity the engine relies on; every request stays short because the pollers never long-poll (moto's long
poll spins while a group is locked) and the engine never holds a request open.
"""

from __future__ import annotations

import threading
from typing import Any

from moto.dynamodb.responses import DynamoHandler
from moto.sqs.responses import SQSResponse

_PATCHED: tuple[type[Any], ...] = (DynamoHandler, SQSResponse)
_guard = threading.Lock()
_users = 0
_originals: dict[type[Any], Any] = {}


def _serialised(original: Any, lock: threading.Lock) -> Any:
    def call_action(self: Any) -> Any:
        with lock:
            return original(self)

    return call_action


def acquire() -> None:
    """Install the locks (reference-counted: nested worlds share one installation)."""
    global _users
    with _guard:
        _users += 1
        if _users > 1:
            return
        for cls in _PATCHED:
            _originals[cls] = cls.__dict__.get("call_action")
            cls.call_action = _serialised(cls.call_action, threading.Lock())


def release() -> None:
    """Remove the locks when the last world stops."""
    global _users
    with _guard:
        if _users == 0:
            return
        _users -= 1
        if _users:
            return
        for cls in _PATCHED:
            original = _originals.pop(cls, None)
            if original is None:
                del cls.call_action  # the class inherited it: fall back to the base class again
            else:
                cls.call_action = original
