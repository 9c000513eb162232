"""The composition root of the infrastructure: one environment's stacks, wired together, with cdk-nag on.

Stacks and their order (each deploys after the ones it uses):
Data -> Secrets -> Messaging -> Alerting (uses Secrets) -> Compute (uses all four) -> Monitoring (uses Compute,
Messaging, Alerting). Names: ``CopyTrader-<env>-<Part>``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import App, Tags

from infra.config import EnvironmentConfig
from infra.constructs.nag import enable_nag
from infra.lambda_asset import REPO_ROOT
from infra.stacks.alerting_stack import AlertingStack
from infra.stacks.base import CopyTraderStack
from infra.stacks.compute_stack import ComputeStack
from infra.stacks.data_stack import DataStack
from infra.stacks.messaging_stack import MessagingStack
from infra.stacks.monitoring_stack import MonitoredResources, MonitoringStack
from infra.stacks.secrets_stack import SecretsStack

CDK_JSON = REPO_ROOT / "cdk.json"


@dataclass(frozen=True)
class CopyTraderStacks:
    data: DataStack
    secrets: SecretsStack
    messaging: MessagingStack
    alerting: AlertingStack
    compute: ComputeStack
    monitoring: MonitoringStack

    def all(self) -> tuple[CopyTraderStack, ...]:
        return (self.data, self.secrets, self.messaging, self.alerting, self.compute, self.monitoring)


def build_app(app: App, config: EnvironmentConfig, *, nag: bool = True) -> CopyTraderStacks:
    """Add the environment's stacks to ``app``; with ``nag`` every synth runs the AwsSolutions checks."""
    prefix = config.stack_prefix
    data = DataStack(app, f"{prefix}-Data", config=config)
    secrets = SecretsStack(app, f"{prefix}-Secrets", config=config)
    messaging = MessagingStack(app, f"{prefix}-Messaging", config=config)
    alerting = AlertingStack(app, f"{prefix}-Alerting", config=config, secrets=secrets)
    compute = ComputeStack(
        app,
        f"{prefix}-Compute",
        config=config,
        data=data,
        messaging=messaging,
        alerting=alerting,
        secrets=secrets,
    )
    monitoring = MonitoringStack(
        app,
        f"{prefix}-Monitoring",
        config=config,
        resources=MonitoredResources(compute=compute, messaging=messaging, alerting=alerting),
    )
    stacks = CopyTraderStacks(data, secrets, messaging, alerting, compute, monitoring)
    for stack in stacks.all():
        tags = Tags.of(stack)
        tags.add("app", "copytrader")
        tags.add("environment", config.name)
        for key, value in config.tags.items():
            tags.add(key, value)
    if nag:
        enable_nag(app)
    return stacks


def read_cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """cdk.json's context, so ``python app.py`` synthesizes what ``cdk synth`` does (the CLI's context wins)."""
    try:
        document = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except json.JSONDecodeError as error:
        raise ValueError(f"{path} is not valid JSON ({error}); fix it before synthesizing") from error
    context = document.get("context", {})
    if not isinstance(context, dict):
        raise ValueError(f"{path}: 'context' must be an object")
    return context
