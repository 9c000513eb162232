"""SMS through the twilio SDK (``client.messages.create``), one text per configured number.

The SDK has no base-URL setting: its API domain is fixed to ``https://api.twilio.com`` (``edge``/``region`` only
rewrite the host to ``api.<edge>.<region>.twilio.com``). Its one documented extension point is the ``http_client``
given to ``Client``, which receives every absolute URL; ``RebasedHttpClient`` swaps the origin there, so tests and
proxies can point the real SDK at a local server. The SDK blocks, so calls run in this channel's own small thread
pool (a hanging SMS gateway cannot starve other channels' threads).

A retry after a partial failure texts only the numbers that did not get the alert yet.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import SecretStr
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.adapters.notifiers.http import describe, is_retryable_status, scrub
from runtime.services.alerts.model import Alert, DeliveryError

TWILIO_API_BASE = "https://api.twilio.com"
MAX_SMS_CHARS = 320  # two segments: enough for a headline and a line of detail, and a bounded cost
_REMEMBERED_DELIVERIES = 512


class RebasedHttpClient(TwilioHttpClient):  # type: ignore[misc]  # the SDK ships no type hints
    """The SDK's requests-based client with every URL's origin replaced by ``base_url`` (path prefix kept)."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._base = urlsplit(base_url.rstrip("/"))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        parts = urlsplit(url)
        rebased = parts._replace(scheme=self._base.scheme, netloc=self._base.netloc, path=self._base.path + parts.path)
        return super().request(method, urlunsplit(rebased), *args, **kwargs)

    def log_request(self, kwargs: dict[str, Any]) -> None:
        # The SDK logs each URL at INFO; it holds the account SID. Our dispatcher logs what matters.
        pass

    def log_response(self, status_code: int, response: Any) -> None:
        pass


class TwilioSmsNotifier:
    def __init__(
        self,
        account_sid: SecretStr,
        auth_token: SecretStr,
        from_number: str,
        to_numbers: Sequence[str],
        base_url: str = TWILIO_API_BASE,
        *,
        request_timeout_s: float = 10.0,
    ) -> None:
        if not to_numbers:
            raise ValueError("TwilioSmsNotifier needs at least one number in to_numbers")
        self._secrets = (auth_token.get_secret_value(), account_sid.get_secret_value())
        self._from = from_number
        self._to = tuple(to_numbers)
        self._timeout_s = request_timeout_s
        http_client = (
            RebasedHttpClient(base_url, request_timeout_s)
            if base_url.rstrip("/") != TWILIO_API_BASE
            else TwilioHttpClient(timeout=request_timeout_s)
        )
        self._client = Client(account_sid.get_secret_value(), auth_token.get_secret_value(), http_client=http_client)
        self._runner = BlockingCallRunner(max_workers=2, thread_name_prefix="alerts-twilio")
        self._delivered: OrderedDict[tuple[Alert, str], None] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return "twilio"

    async def send(self, alert: Alert) -> None:
        body = _fit(alert.as_text())
        failures: list[tuple[str, DeliveryError]] = []
        for number in self._to:
            if self._was_delivered(alert, number):
                continue
            try:
                # The thread's deadline is a backstop just past the SDK's own socket timeout.
                await self._runner.call(self._timeout_s + 1.0, self._create, alert, number, body)
            except DeliveryError as exc:
                failures.append((number, exc))
        if failures:
            detail = "; ".join(f"to {number}: {exc.detail}" for number, exc in failures)
            raise DeliveryError(self.name, detail, retryable=any(exc.retryable for _, exc in failures))

    def _create(self, alert: Alert, number: str, body: str) -> str:
        """One SMS, in a worker thread; SDK errors become ``DeliveryError`` with no secret in them. The delivery is
        remembered here, in the thread, so it counts even when the dispatcher stopped waiting for it."""
        try:
            message = self._client.messages.create(to=number, from_=self._from, body=body)
        except TwilioRestException as exc:
            # Built from the parts: the SDK's own text includes the request URI (with the account SID) on a tty.
            raise self._refusal(exc.status, exc.code, str(exc.msg)) from None
        except TwilioServiceException as exc:  # the RFC 9457 form of the same refusal
            raise self._refusal(exc.status, exc.code, str(exc.detail or exc.title)) from None
        except Exception as exc:  # requests' connection errors and timeouts, mostly: worth another try
            raise DeliveryError(self.name, scrub(describe(exc), *self._secrets), retryable=True) from None
        self._remember(alert, number)
        return str(message.sid)

    def _refusal(self, status: int, code: int | None, msg: str) -> DeliveryError:
        text = scrub(f"HTTP {status}" + (f" (Twilio error {code})" if code else "") + f": {msg}", *self._secrets)
        if status in (401, 403):
            return DeliveryError(
                self.name,
                f"Twilio refused the credentials, {text}; check the variables named by alerts.twilio.account_sid_env "
                "and alerts.twilio.auth_token_env",
                retryable=False,
            )
        if is_retryable_status(status):
            return DeliveryError(self.name, text, retryable=True)
        return DeliveryError(
            self.name,
            f"Twilio refused the message, {text}; check alerts.twilio.from_number and to_numbers",
            retryable=False,
        )

    def _was_delivered(self, alert: Alert, number: str) -> bool:
        with self._lock:
            return (alert, number) in self._delivered

    def _remember(self, alert: Alert, number: str) -> None:
        with self._lock:
            self._delivered[(alert, number)] = None
            while len(self._delivered) > _REMEMBERED_DELIVERIES:
                self._delivered.popitem(last=False)

    async def close(self) -> None:
        self._runner.shutdown()


def _fit(text: str) -> str:
    return text if len(text) <= MAX_SMS_CHARS else text[: MAX_SMS_CHARS - 1] + "…"
