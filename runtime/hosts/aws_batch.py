"""SQS batch plumbing shared by the queue-fed handlers: the FIFO partial-batch processor and message age."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor


def fifo_processor() -> SqsFifoPartialProcessor:
    """A fresh processor per invocation (it holds the batch's state, and the local AWS host may invoke a handler
    from several threads at once). A failing record fails only the later records of its own message group, so one
    broken follower (or master leg) never holds up the others. A batch whose every record failed is reported like
    any other (all ids in ``batchItemFailures``) instead of raising: SQS treats both alike, and a caller that is not
    Lambda gets one answer shape."""
    processor = SqsFifoPartialProcessor(skip_group_on_error=True)
    processor.raise_on_entire_batch_failure = False
    return processor


def message_age_ms(record: Mapping[str, Any], now_ms: int | None = None) -> float | None:
    """Milliseconds since SQS accepted the record's message (its ``SentTimestamp``); None when unknown. ``record``
    is the event's record (a dict, or Powertools' ``SQSRecord``, which reads like one)."""
    raw = (record.get("attributes") or {}).get("SentTimestamp")
    if raw is None:
        return None
    try:
        sent_ms = int(str(raw))
    except (TypeError, ValueError):
        return None
    now = time.time_ns() // 1_000_000 if now_ms is None else now_ms
    return float(max(now - sent_ms, 0))
