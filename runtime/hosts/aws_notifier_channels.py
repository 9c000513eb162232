"""The notifier Lambda's ways out: Telegram (every severity) and Twilio SMS (critical only), from their secrets.

A channel whose secret variable is unset, or whose secret still holds the ``REPLACE_ME`` placeholder of a fresh
deploy, is off. A secret that cannot be read is logged and that channel is off for this invocation (the next one
reads it again): an unreadable Twilio secret must not stop the Telegram message.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping

from pydantic import SecretStr

from runtime.adapters.common.redaction import SecretRegistry
from runtime.adapters.notifiers.telegram import TelegramNotifier
from runtime.adapters.notifiers.twilio_sms import TwilioSmsNotifier
from runtime.hosts.aws_secrets import SecretError, SecretSource, is_placeholder
from runtime.hosts.aws_settings import AwsSettings
from runtime.services.alerts.model import Severity
from runtime.services.alerts.router import Route

log = logging.getLogger(__name__)

TELEGRAM_FIELDS = ("bot_token", "chat_id")
TWILIO_FIELDS = ("account_sid", "auth_token", "from_number", "to_numbers")


def notifier_routes(settings: AwsSettings, secrets: SecretSource, registry: SecretRegistry) -> tuple[str, list[Route]]:
    """(a version of the secrets read, so the caller rebuilds only when they changed; the routes)."""
    telegram = _read(secrets, settings.telegram_secret_arn, "telegram", TELEGRAM_FIELDS)
    twilio = _read(secrets, settings.twilio_secret_arn, "twilio", TWILIO_FIELDS)
    version = hashlib.sha256(json.dumps([telegram, twilio], sort_keys=True).encode("utf-8")).hexdigest()
    routes: list[Route] = []
    if telegram is not None:
        registry.add(telegram["bot_token"])
        channel = TelegramNotifier(SecretStr(telegram["bot_token"]), telegram["chat_id"], settings.telegram_api_url)
        routes.append(Route(channel, Severity.INFO))
    if twilio is not None:
        registry.add(twilio["auth_token"])
        numbers = [number.strip() for number in twilio["to_numbers"].split(",") if number.strip()]
        sms = TwilioSmsNotifier(
            SecretStr(twilio["account_sid"]),
            SecretStr(twilio["auth_token"]),
            twilio["from_number"],
            numbers,
            settings.twilio_api_url,
        )
        routes.append(Route(sms, Severity.CRITICAL))
    if not routes:
        log.warning("notifier: no channel configured (Telegram and Twilio secrets unset or placeholders)")
    return version, routes


def _read(secrets: SecretSource, secret_id: str | None, channel: str, fields: tuple[str, ...]) -> dict[str, str] | None:
    if secret_id is None:
        return None
    try:
        values: Mapping[str, str] = secrets.read(secret_id)
    except SecretError as exc:
        log.error("notifier: %s is off for this invocation: %s", channel, exc)
        return None
    placeholders = [name for name in fields if is_placeholder(values.get(name))]
    if placeholders:  # a fresh deploy's state, or a channel switched off on purpose
        log.info("notifier: %s is off: %s unset or REPLACE_ME in its secret", channel, ", ".join(placeholders))
        return None
    return {name: values[name] for name in fields}
