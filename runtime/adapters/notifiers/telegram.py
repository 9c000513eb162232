"""Telegram through the Bot API: ``POST {base_url}/bot{token}/sendMessage`` with ``chat_id`` and ``text``.

The bot token sits in the URL path, so no URL is ever put in an error or a log line, and library error texts are
scrubbed of the token before they leave this module.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from pydantic import SecretStr

from runtime.adapters.notifiers.http import LazySession, describe, is_retryable_status, scrub
from runtime.services.alerts.model import Alert, DeliveryError

MAX_MESSAGE_CHARS = 4096  # the Bot API's limit for sendMessage text
_UNAUTHORIZED = frozenset({401, 404})  # Telegram answers 404 for a malformed token, 401 for a revoked one


class TelegramNotifier:
    def __init__(self, bot_token: SecretStr, chat_id: str, base_url: str, *, request_timeout_s: float = 10.0) -> None:
        self._token = bot_token
        self._chat_id = chat_id
        self._base_url = base_url.rstrip("/")
        self._timeout_s = request_timeout_s
        self._session = LazySession(request_timeout_s)

    @property
    def name(self) -> str:
        return "telegram"

    async def send(self, alert: Alert) -> None:
        token = self._token.get_secret_value()
        body = {"chat_id": self._chat_id, "text": _fit(alert.as_text())}
        try:
            async with self._session.get().post(f"{self._base_url}/bot{token}/sendMessage", json=body) as response:
                status, raw = response.status, await response.text()
        except TimeoutError:  # our own request timeout (aiohttp's ServerTimeoutError is one too)
            raise DeliveryError(self.name, f"no answer within {self._timeout_s:g} s", retryable=True) from None
        except (aiohttp.ClientError, OSError) as exc:
            # ``from None``: the original exception may carry the URL (and so the token) in its text or args.
            raise DeliveryError(self.name, scrub(describe(exc), token), retryable=True) from None
        answer = _parse(raw)
        if status == 200 and answer.get("ok") is True:
            return
        raise self._refusal(status, answer, token)

    def _refusal(self, status: int, answer: dict[str, Any], token: str) -> DeliveryError:
        description = scrub(str(answer.get("description") or "no description"), token)
        if status in _UNAUTHORIZED:
            return DeliveryError(
                self.name,
                f"the Bot API refused the bot token (HTTP {status}: {description}); check the variable named by "
                "alerts.telegram.bot_token_env",
                retryable=False,
            )
        if is_retryable_status(status):
            retry_after = (answer.get("parameters") or {}).get("retry_after")
            hint = f"; Telegram asks to wait {retry_after} s" if retry_after is not None else ""
            return DeliveryError(self.name, f"HTTP {status}: {description}{hint}", retryable=True)
        return DeliveryError(
            self.name,
            f"the Bot API refused the message (HTTP {status}: {description}); check alerts.telegram.chat_id and "
            "that the bot is a member of that chat",
            retryable=False,
        )

    async def close(self) -> None:
        await self._session.close()


def _fit(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def _parse(raw: str) -> dict[str, Any]:
    try:
        answer = json.loads(raw)
    except ValueError:
        return {"description": f"not JSON: {raw[:200]!r}"}
    return answer if isinstance(answer, dict) else {"description": f"unexpected answer: {raw[:200]!r}"}
