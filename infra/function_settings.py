"""Timeouts, memory and batch sizes of the functions, with the reasoning (docs/deploy.md repeats it in a table).

Lambda gives CPU in proportion to memory (1,769 MB = one vCPU); the import of pydantic, aiohttp and the exchange SDKs
dominates a cold start, so the functions on the copy path get enough memory to import quickly.
"""

from __future__ import annotations

from aws_cdk import Duration

# Dispatcher: per master change, one read of the followers table and SendMessageBatch calls of 10 follower messages
# (tens of ms each). Even 10 changes x 100 followers finish in a few seconds; 30 s leaves room for SDK retries.
DISPATCHER_TIMEOUT = Duration.seconds(30)
DISPATCHER_MEMORY_MIB = 512
# Up to 10 (the FIFO maximum): batches only form when changes queue up, and fan-out per record is milliseconds.
DISPATCHER_BATCH_SIZE = 10

# Executor: one follower order = leverage sync, concurrent equity + position reads, one or more orders (splits),
# one smart-reduction retry and, on a retried claim, a look-up by client id. The original system saw 1-9 s per
# exchange call, so about six sequential calls at worst: 60 s. The adapters' own call timeouts keep it under that.
EXECUTOR_TIMEOUT = Duration.seconds(60)
EXECUTOR_MEMORY_MIB = 1024
# One message per invocation: every follower then runs in its own invocation, in parallel, and a slow exchange
# never holds up another follower's message that happened to share a batch. Invocations are cheap next to the
# latency that sequential processing inside one batch would add.
EXECUTOR_BATCH_SIZE = 1

# Audit: reads every follower's positions (concurrently) and the master snapshots once per schedule tick. It must
# finish before the next tick so two audits never overlap (their alert de-duplication assumes one at a time).
AUDIT_MEMORY_MIB = 1024
AUDIT_TICK_MARGIN_S = 10

# Notifier: one SNS message -> one Telegram call and, for critical alerts, Twilio SMS; each HTTP call is bounded.
NOTIFIER_TIMEOUT = Duration.seconds(30)
NOTIFIER_MEMORY_MIB = 256


def audit_timeout(rate_minutes: int) -> Duration:
    """Shorter than the schedule period (capped at Lambda's 15 minutes)."""
    return Duration.seconds(min(rate_minutes * 60 - AUDIT_TICK_MARGIN_S, 900))
