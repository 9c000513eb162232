"""Building the alert pipeline from ``[alerts]``: one channel per configured section, routed by its
``min_severity``, behind one ``AlertDispatcher``. Secrets are read here, once, from the environment variables the
config names, and registered for redaction; a missing one fails start-up with every missing variable listed."""

from __future__ import annotations

from collections.abc import Mapping

from pydantic import SecretStr

from runtime.adapters.common.redaction import SecretRegistry
from runtime.adapters.notifiers.console import ConsoleNotifier
from runtime.adapters.notifiers.feed import AlertFeed
from runtime.adapters.notifiers.sns import SnsNotifier
from runtime.adapters.notifiers.telegram import TelegramNotifier
from runtime.adapters.notifiers.twilio_sms import TwilioSmsNotifier
from runtime.adapters.notifiers.webhook import WebhookNotifier
from runtime.config.credentials import MissingSecretError, SecretReference, read_secret
from runtime.config.sections import AlertsConfig
from runtime.services.alerts.dispatcher import AlertDispatcher, DeliveryPolicy
from runtime.services.alerts.model import Severity
from runtime.services.alerts.router import AlertRouter, Route


def alert_secret_references(alerts: AlertsConfig) -> list[SecretReference]:
    """The environment variables the configured channels need (same owners and fields as ``secret_references``)."""
    refs: list[SecretReference] = []
    if alerts.telegram is not None:
        refs.append(_ref("telegram", "bot_token", alerts.telegram.bot_token_env))
    if alerts.twilio is not None:
        refs.append(_ref("twilio", "account_sid", alerts.twilio.account_sid_env))
        refs.append(_ref("twilio", "auth_token", alerts.twilio.auth_token_env))
    if alerts.webhook is not None and alerts.webhook.url_env is not None:
        refs.append(_ref("webhook", "url", alerts.webhook.url_env))
    return refs


def _ref(channel: str, purpose: str, env_var: str) -> SecretReference:
    return SecretReference(f"alerts.{channel}", purpose, f"alerts.{channel}.{purpose}_env", env_var)


def read_alert_secrets(
    alerts: AlertsConfig, environ: Mapping[str, str] | None = None, secrets: SecretRegistry | None = None
) -> dict[str, SecretStr]:
    """``{"telegram.bot_token": ..., "twilio.auth_token": ...}``; raises ``MissingSecretError`` naming every unset
    variable at once. Each value is added to ``secrets`` so no log line can show it."""
    values: dict[str, SecretStr] = {}
    missing: list[SecretReference] = []
    for ref in alert_secret_references(alerts):
        try:
            value = read_secret(ref, environ)
        except MissingSecretError:
            missing.append(ref)
            continue
        values[f"{ref.owner.removeprefix('alerts.')}.{ref.purpose}"] = value
        if secrets is not None:
            secrets.add(value.get_secret_value())
    if missing:
        raise MissingSecretError(missing)
    return values


def build_alert_routes(
    alerts: AlertsConfig,
    environ: Mapping[str, str] | None = None,
    *,
    secrets: SecretRegistry | None = None,
    request_timeout_s: float = 10.0,
    sns_endpoint_url: str | None = None,
    feed: AlertFeed | None = None,
) -> list[Route]:
    """One route per enabled channel, in the order console, feed, telegram, twilio, sns, webhook.

    ``sns_endpoint_url`` points SNS at a local server (moto, LocalStack); without it boto3 also honours the
    ``AWS_ENDPOINT_URL_SNS`` / ``AWS_ENDPOINT_URL`` environment variables.
    """
    values = read_alert_secrets(alerts, environ, secrets)
    routes: list[Route] = []
    if alerts.console:
        routes.append(Route(ConsoleNotifier(), Severity(alerts.console_min_severity)))
    if feed is not None:
        routes.append(Route(feed, Severity.INFO))  # a live view wants everything; it filters for itself
    if alerts.telegram is not None:
        telegram = alerts.telegram
        notifier = TelegramNotifier(
            values["telegram.bot_token"], telegram.chat_id, telegram.base_url, request_timeout_s=request_timeout_s
        )
        routes.append(Route(notifier, Severity(telegram.min_severity)))
    if alerts.twilio is not None:
        twilio = alerts.twilio
        sms = TwilioSmsNotifier(
            values["twilio.account_sid"],
            values["twilio.auth_token"],
            twilio.from_number,
            twilio.to_numbers,
            twilio.base_url,
            request_timeout_s=request_timeout_s,
        )
        routes.append(Route(sms, Severity(twilio.min_severity)))
    if alerts.sns is not None:
        sns = SnsNotifier(
            alerts.sns.topic_arn,
            region=alerts.sns.region,
            endpoint_url=sns_endpoint_url,
            request_timeout_s=request_timeout_s,
        )
        routes.append(Route(sns, Severity(alerts.sns.min_severity)))
    if alerts.webhook is not None:
        webhook = alerts.webhook
        url = values["webhook.url"] if webhook.url_env is not None else SecretStr(webhook.url or "")
        if secrets is not None and webhook.url is not None:
            secrets.add(webhook.url)  # a literal URL can still embed a token (chat webhooks do)
        routes.append(Route(WebhookNotifier(url, request_timeout_s=request_timeout_s), Severity(webhook.min_severity)))
    return routes


def build_alert_dispatcher(
    alerts: AlertsConfig,
    environ: Mapping[str, str] | None = None,
    *,
    policy: DeliveryPolicy | None = None,
    secrets: SecretRegistry | None = None,
    sns_endpoint_url: str | None = None,
    feed: AlertFeed | None = None,
) -> AlertDispatcher:
    """The whole pipeline, not yet started (``await dispatcher.start()`` on the engine's loop). Each channel's
    request timeout equals the policy's ``send_timeout_s``."""
    policy = policy or DeliveryPolicy()
    secrets = secrets if secrets is not None else SecretRegistry()
    routes = build_alert_routes(
        alerts,
        environ,
        secrets=secrets,
        request_timeout_s=policy.send_timeout_s,
        sns_endpoint_url=sns_endpoint_url,
        feed=feed,
    )
    return AlertDispatcher(AlertRouter(routes), policy, secrets)
