"""The master's Bybit private WebSocket, on ``websockets`` (asyncio): one connection at a time, never silently dead.

One session = connect -> ``op:auth`` -> one ``op:subscribe`` per topic (each ack must echo its ``req_id``) ->
established (``on_ready`` is called: the feed replays the gap over REST) -> data frames to ``on_frame`` while a
watchdog sends ``op:ping`` every ``ping_interval_s`` and replaces the socket when a pong is late or nothing at all
arrived for the silence bound. Whatever ends a session (close, reset, zombie, missing ack, refused login) is
counted, logged, and followed by a new session after a jittered exponential backoff. Only ``stop()`` (or
cancelling ``run()``) ends the loop. See docs/master-stream.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import logging
import random
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, WebSocketException

from runtime.listener.master_stream_config import MasterStreamConfig, StreamCredentials
from runtime.listener.stream_health import Backoff, Heartbeat
from runtime.listener.stream_stats import StreamStats

log = logging.getLogger(__name__)

Frame = dict[str, Any]
FrameHandler = Callable[[Frame], None]
ReadyHandler = Callable[[], None]


class StreamFailure(Exception):
    """Why a session ended; ``category`` is the short key counted in ``StreamStats.disconnect_reasons``."""

    category = "failure"


class ConnectionLost(StreamFailure):
    category = "closed"


class ZombieConnection(StreamFailure):
    category = "zombie"


class NotAcknowledged(StreamFailure):
    category = "ack timeout"


class AuthRefused(StreamFailure):
    category = "auth refused"


class SubscriptionRefused(StreamFailure):
    category = "subscription refused"


class _QuietFrames(logging.LoggerAdapter):  # type: ignore[type-arg]
    """websockets logs every frame at DEBUG, the login frame included: never let those lines out."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


def auth_signature(secret: str, expires_ms: int) -> str:
    """Bybit's private-stream login signature: hex HMAC-SHA256(secret, "GET/realtime" + expires)."""
    return hmac.new(secret.encode(), f"GET/realtime{expires_ms}".encode(), hashlib.sha256).hexdigest()


class _Session:
    """The state of one socket: its watchdog and the requests (auth, subscribe) waiting for their ack."""

    def __init__(self, ws: ClientConnection, heartbeat: Heartbeat) -> None:
        self.ws = ws
        self.heartbeat = heartbeat
        self.pending: dict[str, asyncio.Future[Frame]] = {}
        self.reader: asyncio.Task[None] | None = None

    def resolve(self, frame: Frame) -> None:
        req_id = frame.get("req_id")
        future = self.pending.pop(str(req_id), None) if req_id not in (None, "") else None
        if future is None and req_id in (None, ""):
            # An ack without req_id answers the oldest request of its op.
            op = frame.get("op")
            oldest = next((key for key in self.pending if key.startswith(f"{op}-")), None)
            if oldest is not None:
                future = self.pending.pop(oldest)
        if future is not None and not future.done():
            future.set_result(frame)


class MasterStream:
    """Owns the private-stream connection lifecycle. ``on_frame`` gets every data frame (``topic`` + ``data``);
    ``on_ready`` is called each time a session is established (after login and every subscription ack)."""

    def __init__(
        self,
        credentials: StreamCredentials,
        config: MasterStreamConfig,
        *,
        on_frame: FrameHandler,
        on_ready: ReadyHandler,
        stats: StreamStats | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self._credentials = credentials
        self.config = config
        self.stats = stats or StreamStats()
        self._on_frame = on_frame
        self._on_ready = on_ready
        self._backoff = Backoff(config.backoff, rng)
        self._clock = clock
        self._wall_ms = wall_ms
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None
        self._established_at: float | None = None
        self._wire_log = _QuietFrames(logging.getLogger(f"{__name__}.wire"), {})

    def __repr__(self) -> str:
        return f"MasterStream(url={self.config.url!r}, credentials={self._credentials!r})"

    # --- lifecycle -----------------------------------------------------------------------------------------------

    async def start(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=f"master-stream:{self.stats.master}")

    async def stop(self) -> None:
        """Cancel the session loop and close the socket. Safe to call twice."""
        task, self._task = self._task, None
        if task is None:
            return
        # On Python 3.11 a cancellation that lands inside asyncio.wait_for(ws.send(...)) can be swallowed, so one
        # cancel() is not always enough: keep cancelling until the session task has really ended.
        while not task.done():
            task.cancel()
            await asyncio.wait({task}, timeout=0.5)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            task.result()

    async def __aenter__(self) -> MasterStream:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()

    async def run(self) -> None:
        """Sessions back to back, for ever: every failure is counted, logged and followed by a backoff delay."""
        try:
            await self._sessions()
        finally:
            self.stats.record_stopped()

    async def _sessions(self) -> None:
        while True:
            self._established_at = None
            category, detail = await self._one_session()
            established_at = self._established_at
            healthy_for = None if established_at is None else self._clock() - established_at
            self.stats.record_loss(category, detail, established=established_at is not None)
            self._backoff.after_session(healthy_for)
            delay = self._backoff.next_delay()
            self.stats.record_backoff(delay)
            await asyncio.sleep(delay)

    async def _one_session(self) -> tuple[str, str]:
        """Run one session to its end; returns (category, detail) of what ended it. Cancellation propagates."""
        try:
            await self._session()
        except ZombieConnection as exc:
            self.stats.record_zombie(str(exc))
            return exc.category, str(exc)
        except NotAcknowledged as exc:
            self.stats.record_ack_timeout(str(exc))
            return exc.category, str(exc)
        except AuthRefused as exc:
            self.stats.record_auth_failure(str(exc))
            return exc.category, str(exc)
        except StreamFailure as exc:
            return exc.category, str(exc)
        except (OSError, TimeoutError, WebSocketException) as exc:
            return "connect error", f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # a bug must not end the stream: log it loudly and start a new session
            log.exception("%s: unexpected error in the private stream session", self.stats.master)
            return "unexpected error", f"{type(exc).__name__}: {exc}"
        return ConnectionLost.category, "session ended"

    # --- one session ---------------------------------------------------------------------------------------------

    async def _session(self) -> None:
        self.stats.record_connect_attempt(self.config.url)
        ws = await connect(
            self.config.url,
            open_timeout=self.config.connect_timeout_s,
            close_timeout=self.config.close_timeout_s,
            ping_interval=None,  # application-level pings (Bybit's op:ping) are the ones the venue expects
            proxy=True if self.config.use_system_proxy else None,
            logger=self._wire_log,
        )
        session = _Session(ws, Heartbeat(self.config.heartbeat, self._clock()))
        session.reader = asyncio.create_task(self._read(session))
        watchdog: asyncio.Task[None] | None = None
        graceful = True
        try:
            await self._login(session)
            await self._subscribe(session)
            self._established_at = self._clock()
            session.heartbeat.on_frame(self._established_at)
            self.stats.record_established()
            self._on_ready()
            watchdog = asyncio.create_task(self._watch(session))
            done, _ = await asyncio.wait({session.reader, watchdog}, return_when=asyncio.FIRST_COMPLETED)
            for ended in done:
                ended.result()  # raises what ended the session
            raise ConnectionLost("the venue closed the stream")
        except (ZombieConnection, NotAcknowledged):
            graceful = False  # a zombie will not answer a close handshake: do not wait for one
            raise
        finally:
            for task in (session.reader, watchdog):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await task
            await self._close(ws, graceful=graceful)

    async def _close(self, ws: ClientConnection, *, graceful: bool) -> None:
        if graceful:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), self.config.close_timeout_s + 0.5)
                return
        with contextlib.suppress(Exception):
            ws.transport.abort()

    async def _read(self, session: _Session) -> None:
        try:
            async for raw in session.ws:
                now = self._clock()
                session.heartbeat.on_frame(now)
                frame = self._decode(raw)
                if frame is not None:
                    self._dispatch(session, frame, now)
        except ConnectionClosed as exc:
            raise ConnectionLost(f"connection closed ({exc})") from None
        raise ConnectionLost("the venue closed the stream")

    def _decode(self, raw: str | bytes) -> Frame | None:
        try:
            frame = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            log.warning("%s: ignoring a frame that is not JSON (%d bytes)", self.stats.master, len(raw))
            return None
        if not isinstance(frame, dict):
            log.warning("%s: ignoring a frame that is not a JSON object", self.stats.master)
            return None
        return frame

    def _dispatch(self, session: _Session, frame: Frame, now: float) -> None:
        op = frame.get("op")
        if op == "pong" or (op == "ping" and frame.get("ret_msg") == "pong"):
            session.heartbeat.on_pong(now)
        elif op in ("auth", "subscribe"):
            session.resolve(frame)
        elif "topic" in frame:
            self.stats.record_frame()
            try:
                self._on_frame(frame)
            except Exception:  # the consumer's bug must not tear the connection down
                log.exception("%s: the frame handler raised on topic %r", self.stats.master, frame.get("topic"))

    # --- handshake -----------------------------------------------------------------------------------------------

    async def _request(self, session: _Session, op: str, args: list[Any]) -> asyncio.Future[Frame]:
        req_id = f"{op}-{next(self._ids)}"
        future: asyncio.Future[Frame] = asyncio.get_running_loop().create_future()
        session.pending[req_id] = future
        text = json.dumps({"req_id": req_id, "op": op, "args": args})
        try:
            await asyncio.wait_for(session.ws.send(text), self.config.ack_timeout_s)
        except TimeoutError:
            raise NotAcknowledged(f"{op} could not even be sent within {self.config.ack_timeout_s:g} s") from None
        except ConnectionClosed as exc:
            raise ConnectionLost(f"connection closed during {op} ({exc})") from None
        return future

    async def _await_acks(self, session: _Session, futures: list[asyncio.Future[Frame]], what: str) -> list[Frame]:
        assert session.reader is not None
        deadline = self._clock() + self.config.ack_timeout_s
        waiting: set[asyncio.Future[Any]] = set(futures)
        while waiting:
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise NotAcknowledged(f"{what} not acknowledged within {self.config.ack_timeout_s:g} s")
            done, _ = await asyncio.wait(waiting | {session.reader}, timeout=remaining, return_when="FIRST_COMPLETED")
            if session.reader in done:
                session.reader.result()  # raises ConnectionLost
                raise ConnectionLost(f"connection closed while waiting for the {what} ack")
            waiting -= done
        return [future.result() for future in futures]

    async def _login(self, session: _Session) -> None:
        expires = self._wall_ms() + int(self.config.auth_expiry_s * 1000)
        signature = auth_signature(self._credentials.api_secret, expires)
        future = await self._request(session, "auth", [self._credentials.api_key, expires, signature])
        (answer,) = await self._await_acks(session, [future], "login")
        if answer.get("success") is not True:
            raise AuthRefused(str(answer.get("ret_msg") or "login refused without a message"))

    async def _subscribe(self, session: _Session) -> None:
        # One topic per request (as pybit does) so each ack names exactly what it confirms.
        futures = [await self._request(session, "subscribe", [topic]) for topic in self.config.topics]
        answers = await self._await_acks(session, futures, "subscription of " + ", ".join(self.config.topics))
        refused = [(topic, answer) for topic, answer in zip(self.config.topics, answers, strict=True)]
        refused = [(topic, answer) for topic, answer in refused if answer.get("success") is not True]
        if refused:
            detail = "; ".join(f"{topic}: {answer.get('ret_msg') or 'refused'}" for topic, answer in refused)
            raise SubscriptionRefused(f"Bybit refused the subscription ({detail})")

    # --- watchdog ------------------------------------------------------------------------------------------------

    async def _watch(self, session: _Session) -> None:
        heartbeat = session.heartbeat
        while True:
            now = self._clock()
            failure = heartbeat.failure(now)
            if failure is not None:
                raise ZombieConnection(failure)
            if heartbeat.ping_due(now):
                heartbeat.on_ping_sent(now)  # the pong deadline runs from the attempt, even if the send stalls
                ping = json.dumps({"req_id": f"ping-{next(self._ids)}", "op": "ping"})
                try:
                    await asyncio.wait_for(session.ws.send(ping), self.config.heartbeat.pong_timeout_s)
                except TimeoutError:
                    raise ZombieConnection("a ping could not be sent (the socket does not drain)") from None
                except ConnectionClosed as exc:
                    raise ConnectionLost(f"connection closed ({exc})") from None
            await asyncio.sleep(max(heartbeat.next_check_in(self._clock()), 0.001))

    @property
    def is_established(self) -> bool:
        return self._established_at is not None and self.stats.connected

    @property
    def established_since(self) -> float | None:
        """Monotonic time the current session was established, None while disconnected."""
        return self._established_at if self.stats.connected else None
