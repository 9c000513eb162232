"""The non-blocking alert sender: ``notify`` queues and returns; one worker per channel delivers.

Each channel has its own bounded queue and worker, so a channel that is down or hangs holds up only its own
later alerts, never another channel and never the caller (the copy path). Every attempt runs under a timeout;
a failed attempt is retried with exponential backoff a bounded number of times, and every failure, give-up and
drop is logged with a counter: nothing is lost silently. Log lines go through the secret registry, so a token
that leaks into an error text from a library still never reaches the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from runtime.adapters.common.redaction import SecretRegistry
from runtime.services.alerts.model import Alert, AlertChannel, DeliveryError
from runtime.services.alerts.router import AlertRouter

log = logging.getLogger(__name__)

CLOSE_CHANNEL_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class DeliveryPolicy:
    """Timing of deliveries. ``attempts`` counts the first try: 4 = one send and up to three retries."""

    send_timeout_s: float = 10.0
    attempts: int = 4
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    queue_size: int = 1000  # per channel

    def __post_init__(self) -> None:
        if self.send_timeout_s <= 0 or self.base_delay_s < 0 or self.max_delay_s < self.base_delay_s:
            raise ValueError(
                "DeliveryPolicy needs send_timeout_s > 0 and 0 <= base_delay_s <= max_delay_s; got "
                f"{self.send_timeout_s}, {self.base_delay_s}, {self.max_delay_s}"
            )
        if self.attempts < 1 or self.queue_size < 1:
            raise ValueError(
                f"DeliveryPolicy needs attempts >= 1 and queue_size >= 1; got {self.attempts}, {self.queue_size}"
            )

    def backoff_s(self, failed_attempts: int) -> float:
        """The wait after the n-th failed attempt: base, 2 x base, 4 x base ... capped at ``max_delay_s``."""
        return float(min(self.max_delay_s, self.base_delay_s * 2 ** (failed_attempts - 1)))


@dataclass(frozen=True)
class ChannelStats:
    sent: int = 0
    failed: int = 0  # alerts given up on after their last attempt (or a permanent error)
    retries: int = 0
    dropped: int = 0  # alerts never queued: the queue was full or the dispatcher closed
    queued: int = 0  # waiting now


@dataclass
class _Counters:
    sent: int = 0
    failed: int = 0
    retries: int = 0
    dropped: int = 0


class _Lane:
    """One channel's queue, worker and counters."""

    def __init__(self, channel: AlertChannel, queue_size: int) -> None:
        self.channel = channel
        self.queue: asyncio.Queue[Alert] = asyncio.Queue(maxsize=queue_size)
        self.counters = _Counters()
        self.worker: asyncio.Task[None] | None = None


class AlertDispatcher:
    """Routes each alert to its channels' queues and delivers them in the background.

    ``notify`` may be called before ``start`` (alerts wait in the queues) and from any thread.
    """

    def __init__(
        self,
        router: AlertRouter,
        policy: DeliveryPolicy | None = None,
        secrets: SecretRegistry | None = None,
    ) -> None:
        self.router = router
        self.policy = policy or DeliveryPolicy()
        self._secrets = secrets or SecretRegistry()
        self._lanes = {route.channel.name: _Lane(route.channel, self.policy.queue_size) for route in router.routes}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    @property
    def channel_names(self) -> list[str]:
        return list(self._lanes)

    def notify(self, alert: Alert) -> None:
        """Queue ``alert`` for every channel its severity reaches and return at once. Never blocks, never raises."""
        try:
            loop = self._loop
            if loop is not None and not loop.is_closed() and _running_loop() is not loop:
                # asyncio queues are not thread-safe: hand the alert to the dispatcher's own loop.
                loop.call_soon_threadsafe(self._enqueue, alert)
            else:
                self._enqueue(alert)
        except Exception as exc:  # the copy path must never see an alerting failure
            log.error("could not queue alert %s: %s", alert.key, self._redact(f"{type(exc).__name__}: {exc}"))

    def _enqueue(self, alert: Alert) -> None:
        for channel in self.router.channels_for(alert):
            lane = self._lanes[channel.name]
            if self._closed:
                lane.counters.dropped += 1
                log.warning(
                    "alert %s not sent to %s: the alert dispatcher is closed (%d dropped on this channel)",
                    alert.key,
                    channel.name,
                    lane.counters.dropped,
                )
                continue
            try:
                lane.queue.put_nowait(alert)
            except asyncio.QueueFull:
                lane.counters.dropped += 1
                log.warning(
                    "alert queue of %s is full (%d waiting; the channel is down or slow): dropped alert %s "
                    "(%d dropped on this channel so far)",
                    channel.name,
                    lane.queue.qsize(),
                    alert.key,
                    lane.counters.dropped,
                )

    async def start(self) -> None:
        """Start one worker per channel on the running loop."""
        if self._closed:
            raise RuntimeError("this AlertDispatcher was closed; build a new one to send alerts again")
        self._loop = asyncio.get_running_loop()
        for name, lane in self._lanes.items():
            if lane.worker is None:
                lane.worker = asyncio.create_task(self._work(lane), name=f"alerts-{name}")

    async def drain(self, timeout_s: float) -> bool:
        """Wait until every queued alert was delivered or given up on; False if ``timeout_s`` passed first."""
        joins = [lane.queue.join() for lane in self._lanes.values()]
        try:
            await asyncio.wait_for(asyncio.gather(*joins), timeout_s)
        except TimeoutError:
            return False
        return True

    async def close(self, drain_timeout_s: float = 2.0) -> None:
        """Deliver what is queued (for up to ``drain_timeout_s``), then stop the workers and close the channels.
        Alerts still waiting after that are counted and logged as discarded."""
        if self._closed:
            return
        if any(lane.worker is not None for lane in self._lanes.values()) and drain_timeout_s > 0:
            await self.drain(drain_timeout_s)
        self._closed = True
        for lane in self._lanes.values():
            if lane.worker is not None:
                lane.worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await lane.worker
                lane.worker = None
            left = lane.queue.qsize()
            if left:
                lane.counters.dropped += left
                log.warning("alert dispatcher closed with %d alerts undelivered on %s", left, lane.channel.name)
            try:
                await asyncio.wait_for(lane.channel.close(), CLOSE_CHANNEL_TIMEOUT_S)
            except Exception as exc:
                log.warning("closing alert channel %s failed: %s", lane.channel.name, self._describe(exc))

    def stats(self) -> dict[str, ChannelStats]:
        return {
            name: ChannelStats(c.sent, c.failed, c.retries, c.dropped, lane.queue.qsize())
            for name, lane in self._lanes.items()
            for c in (lane.counters,)
        }

    @property
    def dropped(self) -> int:
        return sum(lane.counters.dropped for lane in self._lanes.values())

    async def _work(self, lane: _Lane) -> None:
        while True:
            alert = await lane.queue.get()
            try:
                await self._deliver(lane, alert)
            except Exception:  # a bug in a channel must not kill its worker
                lane.counters.failed += 1
                log.exception("alert %s to %s failed unexpectedly", alert.key, lane.channel.name)
            finally:
                lane.queue.task_done()

    async def _deliver(self, lane: _Lane, alert: Alert) -> None:
        policy, name = self.policy, lane.channel.name
        for attempt in range(1, policy.attempts + 1):
            try:
                await asyncio.wait_for(lane.channel.send(alert), policy.send_timeout_s)
            except TimeoutError:
                reason = f"no answer within {policy.send_timeout_s:g} s"
            except DeliveryError as exc:
                if not exc.retryable:
                    lane.counters.failed += 1
                    log.error("alert %s to %s failed and will not be retried: %s", alert.key, name, self._describe(exc))
                    return
                reason = self._describe(exc)
            except Exception as exc:  # transport errors from a library: connection refused, reset ...
                reason = self._describe(exc)
            else:
                lane.counters.sent += 1
                if attempt > 1:
                    log.info("alert %s delivered to %s on attempt %d", alert.key, name, attempt)
                return
            if attempt == policy.attempts:
                lane.counters.failed += 1
                log.error("alert %s to %s failed after %d attempts, giving up: %s", alert.key, name, attempt, reason)
                return
            delay = policy.backoff_s(attempt)
            lane.counters.retries += 1
            log.warning(
                "alert %s to %s failed (attempt %d of %d): %s; retrying in %.2f s",
                alert.key,
                name,
                attempt,
                policy.attempts,
                reason,
                delay,
            )
            await asyncio.sleep(delay)

    def _describe(self, exc: BaseException) -> str:
        text = exc.detail if isinstance(exc, DeliveryError) else f"{type(exc).__name__}: {exc}".rstrip(": ")
        return self._redact(text)

    def _redact(self, text: str) -> str:
        return self._secrets.redact(text)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
