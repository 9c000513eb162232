"""The master listener on ECS Fargate: one service with exactly one task per master.

The task holds the master's Bybit private WebSocket, runs the correlator and writes confirmed changes to the master
changes queue (``python -m runtime.listener.fargate_main``, image from runtime/listener/Dockerfile).

- One task, never two: deployments stop the old task before starting the new one (minimum healthy 0 %, maximum
  100 %). The new task's first gap replay over REST covers the seconds in between; and should two ever run (a
  stuck task during a deploy), the queue's dedup id (leg + seq) and the level-triggered executor keep one copy.
- Health: the listener touches ``LISTENER_HEARTBEAT_FILE`` at least every 30 s while its event loop and feed task are
  alive (connected or backing off); a heartbeat older than 90 s marks the container unhealthy and ECS replaces the
  task. Stream connectivity itself is watched by metrics (reconnects, heartbeat metric) and alarms, because
  replacing the task does not help when Bybit is the one that is down.
- Keys: the master's API key and secret come from Secrets Manager as container secrets (never in the task
  definition, the image or the logs).
- Network: public subnet with a public IP and no inbound rule at all: the listener only dials out (Bybit, SQS,
  DynamoDB), and a NAT gateway would cost more than the rest of the stack together.
- The root filesystem is read-only; /tmp is a task-private volume that holds the heartbeat file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from aws_cdk import Duration, RemovalPolicy, Size
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from infra import contract
from infra.config import EnvironmentConfig
from infra.constructs.log_retention import log_retention
from infra.constructs.nag import acknowledge

TMP_VOLUME = "tmp"
_HEARTBEAT_CHECK = (
    "import os, sys, time; "
    f"path = os.environ['{contract.LISTENER_HEARTBEAT_FILE}']; "
    f"sys.exit(0 if os.path.exists(path) and time.time() - os.path.getmtime(path) < {contract.HEARTBEAT_MAX_AGE_S}"
    " else 1)"
)


@dataclass(frozen=True)
class FargateListenerProps:
    master_id: str
    cluster: ecs.ICluster
    image: ecs.ContainerImage
    security_group: ec2.ISecurityGroup
    master_secret: secretsmanager.ISecret
    environment: Mapping[str, str] = field(default_factory=dict, hash=False)


class FargateListener(Construct):
    """``task_role`` is what the listener's code runs as: grant it the queue, table and topic it uses."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, props: FargateListenerProps
    ) -> None:
        super().__init__(scope, construct_id)
        name = f"{config.prefix}-listener-{props.master_id}"
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/ecs/{name}",
            retention=log_retention(config.log_retention_days),
            removal_policy=RemovalPolicy.DESTROY,
        )
        architecture = ecs.CpuArchitecture.ARM64 if config.listener_arm64 else ecs.CpuArchitecture.X86_64
        self.task_definition = ecs.FargateTaskDefinition(
            self,
            "Task",
            family=name,
            cpu=config.listener_cpu,
            memory_limit_mib=config.listener_memory_mib,
            runtime_platform=ecs.RuntimePlatform(
                cpu_architecture=architecture, operating_system_family=ecs.OperatingSystemFamily.LINUX
            ),
        )
        self.task_definition.add_volume(name=TMP_VOLUME)
        self.task_role: iam.IRole = self.task_definition.task_role
        environment = {
            contract.ENV_NAME: config.name,
            contract.MASTER_ID: props.master_id,
            contract.BYBIT_TESTNET: "true" if config.bybit_testnet else "false",
            contract.LISTENER_HEARTBEAT_FILE: contract.HEARTBEAT_PATH,
            "POWERTOOLS_SERVICE_NAME": contract.service_name(config.name),
            "POWERTOOLS_METRICS_NAMESPACE": contract.METRICS_NAMESPACE,
            **props.environment,
        }
        self.container = self.task_definition.add_container(
            "Listener",
            container_name="listener",
            image=props.image,
            environment=environment,
            secrets={
                contract.MASTER_API_KEY: ecs.Secret.from_secrets_manager(props.master_secret, "api_key"),
                contract.MASTER_API_SECRET: ecs.Secret.from_secrets_manager(props.master_secret, "api_secret"),
            },
            logging=ecs.LogDrivers.aws_logs(
                stream_prefix="listener",
                log_group=self.log_group,
                # A slow CloudWatch Logs must never block the process that holds the master's stream.
                mode=ecs.AwsLogDriverMode.NON_BLOCKING,
                max_buffer_size=Size.mebibytes(25),
            ),
            health_check=ecs.HealthCheck(
                command=["CMD", "python", "-c", _HEARTBEAT_CHECK],
                interval=Duration.seconds(30),
                timeout=Duration.seconds(5),
                retries=3,
                start_period=Duration.seconds(60),
            ),
            readonly_root_filesystem=True,
            stop_timeout=Duration.seconds(30),  # time to finish an in-flight SQS send after SIGTERM
        )
        self.container.add_mount_points(
            ecs.MountPoint(container_path="/tmp", source_volume=TMP_VOLUME, read_only=False)
        )
        self.service = ecs.FargateService(
            self,
            "Service",
            service_name=name,
            cluster=props.cluster,
            task_definition=self.task_definition,
            desired_count=1,
            min_healthy_percent=0,
            max_healthy_percent=100,
            circuit_breaker=ecs.DeploymentCircuitBreaker(enable=True, rollback=True),
            assign_public_ip=True,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PUBLIC),
            security_groups=[props.security_group],
            enable_ecs_managed_tags=True,
            propagate_tags=ecs.PropagatedTagSource.SERVICE,
        )
        acknowledge(
            self.task_definition,
            "AwsSolutions-ECS2",
            "The plain environment variables are resource names only (queue URL, table name, topic ARN, master id, "
            "network flag); the master's API key and secret are injected from Secrets Manager as container secrets.",
        )
        acknowledge(
            self.task_definition,
            "AwsSolutions-IAM5[Resource::*]",
            "The execution role needs ecr:GetAuthorizationToken to pull the listener image, an action without "
            "resource-level permissions; the layer and image actions are scoped to the CDK assets repository.",
        )
