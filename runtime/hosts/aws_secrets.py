"""Secrets Manager on AWS: follower keys and alert-channel credentials, read as JSON objects and cached briefly.

Shapes (every value a string):
- follower, Bybit / Binance: ``{"api_key": "...", "api_secret": "..."}``
- follower, Hyperliquid: ``{"account_address": "0x<40 hex>", "agent_private_key": "0x<64 hex>"}`` (the address
  may instead be in the follower's config as ``account_address``)
- Telegram: ``{"bot_token": "123:abc", "chat_id": "-100123"}``
- Twilio: ``{"account_sid": "AC...", "auth_token": "...", "from_number": "+1...", "to_numbers": "+44...,+49..."}``
A value starting with ``REPLACE_ME`` (what a fresh deploy puts in an alert secret) means "not configured".

The cache keeps a secret for ``ttl_s`` seconds: warm invocations skip the round trip, and a rotated key is picked
up within that time without a redeploy.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError
from pydantic import SecretStr

from runtime.config.credentials import ApiCredentials, HyperliquidCredentials
from runtime.config.model import FollowerConfig
from runtime.domain.values import Venue

PLACEHOLDER = "REPLACE_ME"


class SecretError(Exception):
    """A secret could not be read or does not have the expected shape; the message says which and what to do."""


class SecretSource(Protocol):
    def read(self, secret_id: str) -> Mapping[str, str]:
        """The secret's JSON object; raises ``SecretError``."""
        ...


class SecretsManagerSource:
    """``SecretSource`` over a boto3 Secrets Manager client, with a per-secret time-to-live cache (thread-safe)."""

    def __init__(self, client: Any, *, ttl_s: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._client = client
        self._ttl_s = ttl_s
        self._clock = clock
        self._cache: dict[str, tuple[float, dict[str, str]]] = {}
        self._lock = threading.Lock()

    def read(self, secret_id: str) -> Mapping[str, str]:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(secret_id)
        if cached is not None and now - cached[0] < self._ttl_s:
            return cached[1]
        values = self._fetch(secret_id)
        with self._lock:
            self._cache[secret_id] = (now, values)
        return values

    def _fetch(self, secret_id: str) -> dict[str, str]:
        try:
            answer = self._client.get_secret_value(SecretId=secret_id)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "ResourceNotFoundException":
                raise SecretError(
                    f"secret {secret_id!r} does not exist: create it (docs/deploy.md, step 4) with "
                    "`aws secretsmanager create-secret --name ... --secret-string '{...}'`"
                ) from None
            if code == "AccessDeniedException":
                raise SecretError(
                    f"not allowed to read secret {secret_id!r}: the function's role may read only its environment's "
                    "prefix; check the secret's name"
                ) from None
            raise SecretError(f"reading secret {secret_id!r} failed ({code or exc}); it is retried next time") from None
        except BotoCoreError as exc:
            raise SecretError(f"reading secret {secret_id!r} failed ({exc}); it is retried next time") from None
        return parse_secret(secret_id, str(answer.get("SecretString", "")))


def parse_secret(secret_id: str, text: str) -> dict[str, str]:
    """A secret string as a JSON object of strings (lists become comma-separated strings)."""
    try:
        body = json.loads(text)
    except json.JSONDecodeError:
        raise SecretError(
            f"secret {secret_id!r} is not a JSON object; store it as JSON, e.g. "
            '{"api_key": "...", "api_secret": "..."}'
        ) from None
    if not isinstance(body, dict):
        raise SecretError(f"secret {secret_id!r} holds a JSON {type(body).__name__}, expected an object")
    return {
        str(key): ",".join(str(item) for item in value) if isinstance(value, list) else str(value)
        for key, value in body.items()
        if value is not None
    }


def is_placeholder(value: str | None) -> bool:
    return value is None or not value.strip() or value.strip().startswith(PLACEHOLDER)


def follower_credentials(
    follower: FollowerConfig, secret_id: str, values: Mapping[str, str]
) -> ApiCredentials | HyperliquidCredentials:
    """The follower's keys from its secret's ``values``; ``SecretError`` names the missing fields."""
    if follower.venue is Venue.HYPERLIQUID:
        address = values.get("account_address") or follower.account_address
        key = values.get("agent_private_key")
        missing = [name for name, value in (("account_address", address), ("agent_private_key", key)) if not value]
        _raise_missing(follower, secret_id, missing, '{"account_address": "0x...", "agent_private_key": "0x..."}')
        assert address is not None and key is not None
        return HyperliquidCredentials(address.lower(), SecretStr(key))
    missing = [name for name in ("api_key", "api_secret") if is_placeholder(values.get(name))]
    _raise_missing(follower, secret_id, missing, '{"api_key": "...", "api_secret": "..."}')
    return ApiCredentials(SecretStr(values["api_key"]), SecretStr(values["api_secret"]))


def _raise_missing(follower: FollowerConfig, secret_id: str, missing: list[str], shape: str) -> None:
    if missing:
        raise SecretError(
            f"follower {follower.id}: secret {secret_id!r} lacks {', '.join(missing)}; a {follower.venue.value} "
            f"follower's secret is {shape} (`aws secretsmanager put-secret-value --secret-id {secret_id} ...`)"
        )
