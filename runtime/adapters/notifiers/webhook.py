"""A generic webhook: each alert POSTed as JSON (``Alert.to_json``) to one URL; any 2xx answer is a delivery.

Chat webhooks carry their secret in the URL, so the URL never appears in an error text (only its host does).
"""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp
from pydantic import SecretStr

from runtime.adapters.notifiers.http import LazySession, describe, is_retryable_status, scrub
from runtime.services.alerts.model import Alert, DeliveryError


class WebhookNotifier:
    def __init__(self, url: SecretStr, *, request_timeout_s: float = 10.0) -> None:
        self._url = url
        self._timeout_s = request_timeout_s
        self._session = LazySession(request_timeout_s)
        parts = urlsplit(url.get_secret_value())
        self._host = parts.hostname or "?"
        # Everything after the host may be (or contain) the secret.
        self._secret_parts = [url.get_secret_value(), parts.path, parts.query]

    @property
    def name(self) -> str:
        return "webhook"

    async def send(self, alert: Alert) -> None:
        try:
            async with self._session.get().post(self._url.get_secret_value(), json=alert.to_json()) as response:
                status, raw = response.status, await response.text()
        except TimeoutError:  # our own request timeout (aiohttp's ServerTimeoutError is one too)
            raise DeliveryError(self.name, f"no answer within {self._timeout_s:g} s", retryable=True) from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise DeliveryError(self.name, self._scrub(describe(exc)), retryable=True) from None
        if 200 <= status < 300:
            return
        detail = self._scrub(raw[:200])
        if is_retryable_status(status):
            raise DeliveryError(self.name, f"{self._host} answered HTTP {status}: {detail}", retryable=True)
        raise DeliveryError(
            self.name,
            f"{self._host} refused the alert (HTTP {status}: {detail}); check alerts.webhook.url / url_env",
            retryable=False,
        )

    def _scrub(self, text: str) -> str:
        # Short paths like "/" would blank ordinary words; only scrub parts long enough to be secrets.
        return scrub(text, *(part for part in self._secret_parts if len(part) >= 6))

    async def close(self) -> None:
        await self._session.close()
