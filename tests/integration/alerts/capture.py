"""Local stand-ins for the alert services: an HTTP capture server that records every request and answers like
the real API (Telegram Bot API, Twilio REST, a webhook), a port nobody listens on, and a server that accepts
connections and never answers."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from aiohttp import web


@dataclass(frozen=True)
class Captured:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, list[str]]:
        return parse_qs(self.body.decode())


Answer = Callable[[Captured], Awaitable[web.Response]]


class CaptureServer:
    """Records each request, then answers with ``answer`` (or the next scripted status first)."""

    def __init__(self, answer: Answer) -> None:
        self.requests: list[Captured] = []
        self.answer = answer
        self.scripted: list[tuple[int, Any]] = []  # answered in order before ``answer``: (status, json body)
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        captured = Captured(request.method, request.path, dict(request.headers), await request.read())
        self.requests.append(captured)
        if self.scripted:
            status, body = self.scripted.pop(0)
            return web.json_response(body, status=status)
        return await self.answer(captured)

    async def wait_for(self, count: int, within_s: float = 5.0) -> list[Captured]:
        deadline = asyncio.get_running_loop().time() + within_s
        while len(self.requests) < count:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"expected {count} requests within {within_s} s, got {len(self.requests)}")
            await asyncio.sleep(0.01)
        return self.requests


async def telegram_ok(captured: Captured) -> web.Response:
    """The Bot API's answer to sendMessage: ``{"ok": true, "result": <Message>}``."""
    body = captured.json()
    message = {"message_id": 1, "date": 1700000000, "chat": {"id": body["chat_id"], "type": "private"}}
    return web.json_response({"ok": True, "result": {**message, "text": body["text"]}})


async def twilio_created(captured: Captured) -> web.Response:
    """Twilio's 201 with a message resource, as ``POST .../Messages.json`` answers."""
    form = captured.form()
    account_sid = captured.path.split("/")[3]
    sid = f"SM{len(form['Body'][0]):032x}"
    return web.json_response(
        {
            "account_sid": account_sid,
            "api_version": "2010-04-01",
            "body": form["Body"][0],
            "date_created": "Thu, 24 Aug 2023 05:01:45 +0000",
            "date_sent": None,
            "date_updated": "Thu, 24 Aug 2023 05:01:45 +0000",
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": form["From"][0],
            "messaging_service_sid": None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            "status": "queued",
            "subresource_uris": {"media": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}/Media.json"},
            "to": form["To"][0],
            "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{sid}.json",
        },
        status=201,
    )


async def no_content(captured: Captured) -> web.Response:
    return web.Response(status=204)


def refused_port() -> int:
    """A port on 127.0.0.1 with nothing listening: connecting to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class HangingServer:
    """Accepts connections, reads the request and never answers: the worst kind of slow channel."""

    def __init__(self) -> None:
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.base_url = ""

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._hold, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self.base_url

    async def _hold(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        while await reader.read(4096):
            pass

    async def stop(self) -> None:
        for writer in self._writers:
            writer.close()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
