"""Secrets the operator fills in after the first deploy of this stack and before the compute stack starts:
the master's Bybit API key pair (one secret per master) and the Telegram and Twilio credentials.

They are created here, not referenced by name, because ECS needs a secret's complete ARN (with Secrets Manager's
random suffix) to inject a JSON field into the container. Values are generated placeholders ("REPLACE_ME" plus a
random string): nothing secret is in the template or the repository. Follower keys are not here: followers are
added without redeploying, as secrets under ``copytrader/<env>/followers/`` (see docs/deploy.md).
"""

from __future__ import annotations

import json

from aws_cdk import RemovalPolicy
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import contract
from infra.config import EnvironmentConfig
from infra.constructs.nag import acknowledge
from infra.stacks.base import CopyTraderStack

PLACEHOLDER = "REPLACE_ME"
TELEGRAM = "telegram"
TWILIO = "twilio"


class SecretsStack(CopyTraderStack):
    """``master_secrets`` maps master id -> secret; ``alert_secrets`` maps channel -> secret."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig) -> None:
        super().__init__(scope, construct_id, config=config, description="master API keys and alert credentials")
        removal = RemovalPolicy.RETAIN if config.retain_state else RemovalPolicy.DESTROY
        self.master_secrets = {
            master: self._secret(
                f"Master-{master}",
                contract.master_secret_name(config.name, master),
                f"Bybit API key pair of master {master!r}: read-only is enough for the listener",
                {"api_key": PLACEHOLDER},
                "api_secret",
                removal,
            )
            for master in config.masters
        }
        self.alert_secrets = {
            TELEGRAM: self._secret(
                "Telegram",
                contract.alert_secret_name(config.name, TELEGRAM),
                "Telegram bot token and chat id for alerts; leave chat_id REPLACE_ME to disable Telegram",
                {"chat_id": PLACEHOLDER},
                "bot_token",
                removal,
            ),
            TWILIO: self._secret(
                "Twilio",
                contract.alert_secret_name(config.name, TWILIO),
                "Twilio account, sender and comma-separated recipients for critical SMS; REPLACE_ME disables SMS",
                {"account_sid": PLACEHOLDER, "from_number": PLACEHOLDER, "to_numbers": PLACEHOLDER},
                "auth_token",
                removal,
            ),
        }
        acknowledge(
            self,
            "AwsSolutions-SMG4",
            "These hold exchange API keys and third-party tokens that only the exchange, Telegram or Twilio can "
            "issue; a rotation Lambda cannot mint them, so the operator rotates them there and puts the new value "
            "(docs/deploy.md, rotating keys).",
        )

    def _secret(
        self,
        construct_id: str,
        name: str,
        description: str,
        template: dict[str, str],
        generated_key: str,
        removal: RemovalPolicy,
    ) -> secretsmanager.Secret:
        return secretsmanager.Secret(
            self,
            construct_id,
            secret_name=name,
            description=description,
            generate_secret_string=secretsmanager.SecretStringGenerator(
                secret_string_template=json.dumps(template),
                generate_string_key=generated_key,
                exclude_punctuation=True,
            ),
            removal_policy=removal,
        )
