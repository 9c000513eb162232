"""Binance's user data stream: listenKey REST calls, the WebSocket endpoints, frame delivery and key expiry.

python-binance 1.0.37's futures user socket connects to ``<FSTREAM_URL>private/ws?listenKey=<key>``; the classic
``/ws/<key>`` path is served too. The stream has no client protocol: the server just pushes frames. An unknown or
expired key is refused at the upgrade (HTTP 400, -1125); a key that expires or is deleted while streams use it
gets ``listenKeyExpired`` (on expiry) and its streams are closed. Pause/drop faults apply through the core hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from runtime.sim.binance.codes import BinanceError, ErrorCode
from runtime.sim.binance.endpoint import Call, Security, endpoint, error_response
from runtime.sim.binance.frames import frames_for_batch, listen_key_expired_frame
from runtime.sim.binance.listen_keys import LISTEN_KEY_TTL_MS, ListenKeyRegistry
from runtime.sim.events import EventBatch
from runtime.sim.streams import StreamConnection

if TYPE_CHECKING:
    from runtime.sim.binance.server import BinanceSimulator

log = logging.getLogger(__name__)

LISTEN_KEY_STATE = "listenKey"
# Time for the writer to deliver a final frame before the close frame follows it.
FINAL_FRAME_GRACE_S = 0.05


def _topic(account: str) -> str:
    return f"user:{account}"


class UserStream:
    def __init__(self, sim: BinanceSimulator, *, ttl_ms: int = LISTEN_KEY_TTL_MS, check_every_s: float = 1.0) -> None:
        self.sim = sim
        self.keys = ListenKeyRegistry(sim.now_ms, ttl_ms)
        self.check_every_s = check_every_s
        self._watcher: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[None]] = set()

    def register(self, app: web.Application) -> None:
        sim, user = self.sim, Security.USER_STREAM
        app.router.add_post("/fapi/v1/listenKey", endpoint(sim, user, self.create_key))
        app.router.add_put("/fapi/v1/listenKey", endpoint(sim, user, self.keepalive))
        app.router.add_delete("/fapi/v1/listenKey", endpoint(sim, user, self.delete_key))
        app.router.add_get("/private/ws", self.stream)
        app.router.add_get("/ws/{listen_key}", self.stream)

    # ----- REST --------------------------------------------------------------------------------------------------

    def create_key(self, call: Call) -> dict[str, Any]:
        return {"listenKey": self.keys.create(call.who)}

    def _key_of(self, call: Call) -> str:
        # Binance ties the key to the API key; the listenKey parameter is optional.
        return call.params.get("listenKey", "") or self.keys.current(call.who) or ""

    def keepalive(self, call: Call) -> dict[str, Any]:
        return {"listenKey": self.keys.keepalive(call.who, self._key_of(call))}

    def delete_key(self, call: Call) -> dict[str, Any]:
        key = self._key_of(call)
        self.keys.delete(call.who, key)
        self._close_streams(key, expired=False)
        return {}

    # ----- WebSocket ---------------------------------------------------------------------------------------------

    async def stream(self, request: web.Request) -> web.StreamResponse:
        key = request.match_info.get("listen_key") or request.query.get("listenKey", "")
        account = self.keys.account_of(key)
        if account is None:
            return error_response(BinanceError(ErrorCode.INVALID_LISTEN_KEY))
        async with self.sim.streams.connection(request) as conn:
            conn.account = account
            conn.state[LISTEN_KEY_STATE] = key
            conn.subscribe(_topic(account))
            async for _text in conn.texts():
                pass  # the user data stream takes no client messages
        return conn.ws

    def publish(self, batch: EventBatch) -> None:
        """Engine events -> frames for every account with an open user stream (synchronous, non-blocking)."""
        accounts = {c.account for c in self.sim.streams.connections if c.account and LISTEN_KEY_STATE in c.state}
        for account in accounts:
            margin_type_of = self.sim.margin_types_of(account)
            for frame in frames_for_batch(batch, account, margin_type_of, self.sim.now_ms()):
                self.sim.streams.publish(_topic(account), frame)

    # ----- expiry ------------------------------------------------------------------------------------------------

    def expire_now(self, account: str) -> str | None:
        """Let the account's key lapse now (admin/test control); returns the key, None when it had none."""
        key = self.keys.current(account)
        if key is not None:
            self.keys.expire(key)
            self.sweep()
        return key

    def sweep(self) -> None:
        for key in self.keys.expired_keys():
            self._close_streams(key, expired=True)

    def start(self) -> None:
        if self._watcher is None:
            self._watcher = asyncio.get_running_loop().create_task(self._watch())

    async def stop(self) -> None:
        watcher, self._watcher = self._watcher, None
        if watcher is not None:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    def reset(self) -> None:
        for key in {c.state.get(LISTEN_KEY_STATE) for c in self.sim.streams.connections} - {None}:
            self._close_streams(str(key), expired=False)
        self.keys = ListenKeyRegistry(self.sim.now_ms, self.keys.ttl_ms)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.check_every_s)
            try:
                self.sweep()
            except Exception:
                log.exception("listenKey expiry check failed; retrying on the next tick")

    def _close_streams(self, key: str, *, expired: bool) -> None:
        for conn in [c for c in self.sim.streams.connections if c.state.get(LISTEN_KEY_STATE) == key]:
            conn.state.pop(LISTEN_KEY_STATE, None)
            conn.unsubscribe(_topic(conn.account or ""))
            frame = listen_key_expired_frame(key, self.sim.now_ms()) if expired else None
            task = asyncio.get_running_loop().create_task(self._close(conn, frame))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)

    @staticmethod
    async def _close(conn: StreamConnection, frame: dict[str, Any] | None) -> None:
        if frame is not None and conn.send_json(frame):
            await asyncio.sleep(FINAL_FRAME_GRACE_S)
        with contextlib.suppress(Exception):
            await conn.ws.close(code=1000, message=b"listenKey expired or deleted")
