"""One Python Lambda the way every function of this app is built: current runtime on ARM64, its own role with
exact grants (no managed policies), its own log group with a retention, X-Ray tracing and the Powertools settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra import contract
from infra.config import EnvironmentConfig
from infra.constructs.log_retention import log_retention
from infra.constructs.nag import acknowledge
from infra.lambda_asset import REPO_ROOT, select_asset_source

LAMBDA_RUNTIME = lambda_.Runtime.PYTHON_3_14  # keep in step with LAMBDA_PYTHON_VERSION in infra/lambda_asset.py


def lambda_code(config: EnvironmentConfig, repo_root: Path = REPO_ROOT) -> lambda_.Code:
    """The code asset for this environment (built folder or plain sources, see infra/lambda_asset.py). Make one
    per stack: an asset belongs to the stack it is first used in."""
    build_dir = repo_root / config.lambda_build_dir  # an absolute lambdaBuildDir replaces repo_root
    source = select_asset_source(build_dir, require_built=config.require_built_lambda_asset, repo_root=repo_root)
    return lambda_.Code.from_asset(str(source.path), exclude=list(source.excludes))


@dataclass(frozen=True)
class PythonLambdaProps:
    """``handler`` is the dotted path inside the asset, e.g. ``lambdas.executor.handler.handler``."""

    function_suffix: str
    handler: str
    description: str
    code: lambda_.Code
    timeout: Duration
    memory_mib: int
    environment: Mapping[str, str] = field(default_factory=dict, hash=False)
    reserved_concurrency: int | None = None


class PythonLambda(Construct):
    """``function`` and ``role`` are public so stacks can grant exactly what the function needs."""

    def __init__(self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, props: PythonLambdaProps):
        super().__init__(scope, construct_id)
        function_name = f"{config.prefix}-{props.function_suffix}"
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/{function_name}",
            retention=log_retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,  # logs are not a ledger; the order log table is
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{function_name}: only the tables, queues, topics and secrets this function uses",
        )
        self.log_group.grant_write(self.role)
        environment = {
            contract.ENV_NAME: config.name,
            "POWERTOOLS_SERVICE_NAME": contract.service_name(config.name),
            "POWERTOOLS_METRICS_NAMESPACE": contract.METRICS_NAMESPACE,
            "POWERTOOLS_LOG_LEVEL": "INFO",
            **props.environment,
        }
        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
            description=props.description,
            runtime=LAMBDA_RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=props.handler,
            code=props.code,
            role=self.role,
            timeout=props.timeout,
            memory_size=props.memory_mib,
            environment=environment,
            reserved_concurrent_executions=props.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
        )
        acknowledge(
            self,
            "AwsSolutions-IAM5[Resource::*]",
            "Active X-Ray tracing needs xray:PutTraceSegments and xray:PutTelemetryRecords, which support no "
            "resource-level permissions; no other action of this role has a wildcard resource "
            "(tests/infrastructure asserts it).",
        )
