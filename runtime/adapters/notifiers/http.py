"""What the HTTP channels (Telegram, webhook) share: a lazily opened aiohttp session and status classification."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp

# Answers worth trying again: throttled, or the server's own trouble. Any other 4xx will fail the same way again.
RETRYABLE_STATUSES = frozenset({408, 425, 429})


def is_retryable_status(status: int) -> bool:
    return status >= 500 or status in RETRYABLE_STATUSES


class LazySession:
    """An aiohttp session opened on first use: sessions belong to a running loop, and building the channel (in the
    composition root) must not need one."""

    def __init__(self, request_timeout_s: float) -> None:
        self._timeout = aiohttp.ClientTimeout(total=request_timeout_s)
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None


def scrub(text: str, *secrets: str) -> str:
    """``text`` with every secret (and its percent-encoded form, as it appears in a URL) replaced by ``***``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***").replace(quote(secret, safe=""), "***")
    return text


def describe(exc: BaseException) -> str:
    """``ClientConnectorError: Cannot connect to host ...``; the type alone when the library gave no text."""
    detail = str(exc)
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
