"""Synthesize one environment of the app the way app.py does (cdk.json context, cdk-nag on) into a folder, once.

Templates are read back as plain JSON and references between stacks are resolved into readable names
("table:copytrader-dev-claims", "queue:copytrader-dev-master-changes.fifo", ...), so IAM assertions can talk about
what a policy grants instead of CloudFormation tokens.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from aws_cdk.assertions import Template

from infra.app_builder import CopyTraderStacks, build_app, read_cdk_json_context
from infra.config import EnvironmentConfig, load_config

PARTS = ("data", "secrets", "messaging", "alerting", "compute", "monitoring")


@dataclass(frozen=True)
class Synthesized:
    config: EnvironmentConfig
    stacks: CopyTraderStacks
    outdir: Path
    templates: Mapping[str, dict[str, Any]]  # stack name -> template JSON

    def stack_name(self, part: str) -> str:
        return f"{self.config.stack_prefix}-{part.capitalize()}"

    def template(self, part: str) -> dict[str, Any]:
        return self.templates[self.stack_name(part)]

    def assertions(self, part: str) -> Template:
        return Template.from_json(self.template(part))

    def resources(self, part: str, resource_type: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template(part)["Resources"].items() if v["Type"] == resource_type}

    def resolve(self, part: str, value: Any) -> Any:
        return _resolve(self.templates, self.stack_name(part), value)


def synthesize(
    outdir: Path,
    env_name: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Synthesized:
    context = read_cdk_json_context()
    context["env"] = env_name
    environments = context["copytrader:environments"]
    environments[env_name] = {**environments[env_name], **(overrides or {})}
    app = cdk.App(context=context, outdir=str(outdir))
    config = load_config(app.node.try_get_context, environ or {})
    stacks = build_app(app, config)
    try:
        app.synth()  # raises on any unacknowledged cdk-nag finding
    except RuntimeError as error:
        if "ValidationFailed" not in str(error):
            raise
        raise AssertionError(f"cdk-nag refused {env_name}:\n{_nag_findings(outdir)}") from None
    templates = {
        stack.stack_name: json.loads((outdir / f"{stack.stack_name}.template.json").read_text())
        for stack in stacks.all()
    }
    return Synthesized(config, stacks, outdir, templates)


def _nag_findings(outdir: Path) -> str:
    """One line per violation from the validation report, to fail with something readable."""
    report = json.loads((outdir / "validation-report.json").read_text())
    lines = []
    for plugin in report.get("pluginReports", []):
        for violation in plugin.get("violations", []):
            for construct in violation.get("violatingConstructs", []) or [{}]:
                lines.append(f"{violation.get('ruleName')}: {construct.get('constructPath', '?')}")
    return "\n".join(lines) or json.dumps(report)[:2000]


# --- reference resolution -------------------------------------------------------------------------------------

_NAMED = {
    "AWS::DynamoDB::Table": ("table", "TableName"),
    "AWS::SQS::Queue": ("queue", "QueueName"),
    "AWS::SNS::Topic": ("topic", "TopicName"),
    "AWS::SecretsManager::Secret": ("secret", "Name"),
    "AWS::Logs::LogGroup": ("loggroup", "LogGroupName"),
    "AWS::Lambda::Function": ("function", "FunctionName"),
    "AWS::KMS::Key": ("key", ""),
}


def _resolve(templates: Mapping[str, dict[str, Any]], stack: str, value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list):
        return [_resolve(templates, stack, item) for item in value]
    if not isinstance(value, dict) or len(value) != 1:
        return {k: _resolve(templates, stack, v) for k, v in value.items()} if isinstance(value, dict) else value
    ((function, argument),) = value.items()
    if function == "Fn::GetStackOutput":
        target = argument["StackName"]
        output = templates[target]["Outputs"][argument["OutputName"]]["Value"]
        return _resolve(templates, target, output)
    if function == "Ref":
        if argument.startswith("AWS::"):
            return "${" + argument + "}"
        return _name(templates[stack], argument)
    if function == "Fn::GetAtt":
        logical_id, attribute = argument
        name = _name(templates[stack], logical_id)
        return name if attribute in ("Arn", "TopicArn", "QueueUrl", "QueueName") else f"{name}.{attribute}"
    if function == "Fn::Join":
        separator, parts = argument
        return separator.join(str(_resolve(templates, stack, part)) for part in parts)
    if function == "Fn::Sub":
        return argument if isinstance(argument, str) else argument[0]
    return {function: _resolve(templates, stack, argument)}


def _name(template: dict[str, Any], logical_id: str) -> str:
    resource = template["Resources"][logical_id]
    kind, prop = _NAMED.get(resource["Type"], (resource["Type"], ""))
    name = resource.get("Properties", {}).get(prop) if prop else None
    return f"{kind}:{name}" if isinstance(name, str) else f"{kind}:{logical_id}"


# --- IAM ------------------------------------------------------------------------------------------------------


def role_owners(synth: Synthesized, part: str) -> dict[str, str]:
    """Role logical id -> who assumes it: a function's name, or "<task family>:task" / ":execution"."""
    owners: dict[str, str] = {}
    for function in synth.resources(part, "AWS::Lambda::Function").values():
        role = function["Properties"]["Role"]["Fn::GetAtt"][0]
        owners[role] = function["Properties"]["FunctionName"]
    for task in synth.resources(part, "AWS::ECS::TaskDefinition").values():
        family = task["Properties"]["Family"]
        owners[task["Properties"]["TaskRoleArn"]["Fn::GetAtt"][0]] = f"{family}:task"
        owners[task["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]] = f"{family}:execution"
    return owners


def grants(synth: Synthesized, part: str) -> dict[str, set[tuple[str, str]]]:
    """Owner -> every (action, resource) its identity policies allow, resources resolved to readable names."""
    owners = role_owners(synth, part)
    result: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for policy in synth.resources(part, "AWS::IAM::Policy").values():
        for role_ref in policy["Properties"]["Roles"]:
            owner = owners.get(role_ref["Ref"], role_ref["Ref"])
            for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
                assert statement["Effect"] == "Allow", statement
                actions = _as_list(statement["Action"])
                resources = [str(synth.resolve(part, r)) for r in _as_list(statement["Resource"])]
                result[owner].update((action, resource) for action in actions for resource in resources)
    return dict(result)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def dynamodb_grants(owner_grants: set[tuple[str, str]]) -> dict[str, set[str]]:
    """Resource -> DynamoDB actions, for one owner."""
    tables: dict[str, set[str]] = defaultdict(set)
    for action, resource in owner_grants:
        if action.startswith("dynamodb:"):
            tables[resource].add(action)
    return dict(tables)


def resources_for(owner_grants: set[tuple[str, str]], service: str) -> set[str]:
    return {resource for action, resource in owner_grants if action.startswith(f"{service}:")}
