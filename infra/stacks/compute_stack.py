"""Compute: the Fargate listener (one per master), the dispatcher, executor and audit Lambdas, their SQS event
sources and the audit schedule.

Who may touch what is spelled out below (``*_TABLES``): each function gets exactly those tables at those access
levels, the environment variables naming them, and nothing else. Timeouts, memory and batch sizes are reasoned in
infra/function_settings.py; concurrency in infra/config.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace

from aws_cdk import Aws, Duration, IgnoreMode
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda_event_sources as event_sources
from constructs import Construct

from infra import contract
from infra import function_settings as settings
from infra.config import EnvironmentConfig
from infra.constructs.fargate_listener import FargateListener, FargateListenerProps
from infra.constructs.listener_network import ListenerNetwork
from infra.constructs.nag import acknowledge
from infra.constructs.python_lambda import PythonLambda, PythonLambdaProps, lambda_code
from infra.contract import TableSpec
from infra.lambda_asset import REPO_ROOT
from infra.stacks.alerting_stack import AlertingStack
from infra.stacks.base import CopyTraderStack
from infra.stacks.data_stack import DataStack
from infra.stacks.messaging_stack import MessagingStack
from infra.stacks.secrets_stack import SecretsStack
from infra.table_access import TableAccess, grant_table

READ, APPEND, READ_WRITE = TableAccess.READ, TableAccess.APPEND, TableAccess.READ_WRITE

# The listener writes each confirmed snapshot (and a lifecycle's open_im/open_equity) before it enqueues the change,
# and reads them back after a restart to continue the open lifecycles.
LISTENER_TABLES: Mapping[TableSpec, TableAccess] = {contract.MASTER_STATE: READ_WRITE}
# The dispatcher fans a change out to the enabled, unpaused followers; it reads the snapshot to skip stale changes.
DISPATCHER_TABLES: Mapping[TableSpec, TableAccess] = {contract.FOLLOWERS: READ, contract.MASTER_STATE: READ}
EXECUTOR_TABLES: Mapping[TableSpec, TableAccess] = {
    contract.CLAIMS: READ_WRITE,
    contract.RATIOS: READ_WRITE,
    contract.MASTER_STATE: READ,
    contract.FOLLOWERS: READ,
    contract.ORDER_LOG: APPEND,
}
# The audit reads claims only to report ones left unfinished; heal mode goes through the follower queue.
AUDIT_TABLES: Mapping[TableSpec, TableAccess] = {
    contract.MASTER_STATE: READ,
    contract.RATIOS: READ,
    contract.FOLLOWERS: READ,
    contract.CLAIMS: READ,
    contract.ALERT_STATE: READ_WRITE,
}

DISPATCHER_HANDLER = "lambdas.dispatcher.handler.handler"
EXECUTOR_HANDLER = "lambdas.executor.handler.handler"
AUDIT_HANDLER = "lambdas.audit.handler.handler"

LISTENER_DOCKERFILE = "runtime/listener/Dockerfile"
# Docker build context = the repository root, reduced to what the Dockerfile copies (dockerignore syntax).
LISTENER_CONTEXT_EXCLUDES = ["*", "!requirements.txt", "!runtime", "**/__pycache__", "**/*.pyc"]


class ComputeStack(CopyTraderStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: EnvironmentConfig,
        data: DataStack,
        messaging: MessagingStack,
        alerting: AlertingStack,
        secrets: SecretsStack,
    ) -> None:
        super().__init__(scope, construct_id, config=config, description="listener, dispatcher, executor, audit")
        self._data = data
        self._messaging = messaging
        self._alerting = alerting
        self._code = lambda_code(config)
        self.dispatcher = self._dispatcher()
        self.executor = self._executor()
        self.audit = self._audit()
        self.audit_schedule = events.Rule(
            self,
            "AuditSchedule",
            rule_name=f"{config.prefix}-audit",
            description="Runs the audit Lambda",
            schedule=events.Schedule.rate(Duration.minutes(config.audit_rate_minutes)),
            # A missed tick is not retried: the next one comes within the period and sees fresher state.
            targets=[targets.LambdaFunction(self.audit.function, retry_attempts=0, max_event_age=Duration.minutes(1))],
        )
        self.network = ListenerNetwork(self, "Network", config=config)
        self.listener_image = ecr_assets.DockerImageAsset(
            self,
            "ListenerImage",
            directory=str(REPO_ROOT),
            file=LISTENER_DOCKERFILE,
            exclude=LISTENER_CONTEXT_EXCLUDES,
            ignore_mode=IgnoreMode.DOCKER,
            platform=ecr_assets.Platform.LINUX_ARM64 if config.listener_arm64 else ecr_assets.Platform.LINUX_AMD64,
        )
        self.listeners = {master: self._listener(master, secrets) for master in config.masters}

    # --- the Lambdas ------------------------------------------------------------------------------------------

    def _dispatcher(self) -> PythonLambda:
        orders = self._messaging.follower_orders.queue
        dispatcher = self._function(
            "Dispatcher",
            DISPATCHER_TABLES,
            PythonLambdaProps(
                function_suffix="dispatcher",
                handler=DISPATCHER_HANDLER,
                description="Fans each master change out as one message per follower",
                code=self._code,
                timeout=settings.DISPATCHER_TIMEOUT,
                memory_mib=settings.DISPATCHER_MEMORY_MIB,
                environment={contract.FOLLOWER_ORDERS.url_env_var: orders.queue_url},
                reserved_concurrency=self.config.dispatcher_concurrency,
            ),
        )
        orders.grant_send_messages(dispatcher.role)
        dispatcher.function.add_event_source(
            event_sources.SqsEventSource(
                self._messaging.master_changes.queue,
                batch_size=settings.DISPATCHER_BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=self.config.dispatcher_concurrency,
            )
        )
        return dispatcher

    def _executor(self) -> PythonLambda:
        executor = self._function(
            "Executor",
            EXECUTOR_TABLES,
            PythonLambdaProps(
                function_suffix="executor",
                handler=EXECUTOR_HANDLER,
                description="Places one follower's order for the latest master snapshot, idempotently",
                code=self._code,
                timeout=settings.EXECUTOR_TIMEOUT,
                memory_mib=settings.EXECUTOR_MEMORY_MIB,
                environment={
                    contract.ALERTS_TOPIC_ARN: self._alerting.topic.topic_arn,
                    contract.FOLLOWER_SECRET_PREFIX: contract.follower_secret_prefix(self.config.name),
                },
                reserved_concurrency=self.config.executor_concurrency,
            ),
        )
        self._grant_follower_secrets(executor)
        self._alerting.grant_publish_alerts(executor.role)
        executor.function.add_event_source(
            event_sources.SqsEventSource(
                self._messaging.follower_orders.queue,
                batch_size=settings.EXECUTOR_BATCH_SIZE,
                report_batch_item_failures=True,
                max_concurrency=self.config.executor_concurrency,
            )
        )
        return executor

    def _audit(self) -> PythonLambda:
        orders = self._messaging.follower_orders.queue
        audit = self._function(
            "Audit",
            AUDIT_TABLES,
            PythonLambdaProps(
                function_suffix="audit",
                handler=AUDIT_HANDLER,
                description="Compares every follower with the master and alerts on discrepancies (deduplicated)",
                code=self._code,
                timeout=settings.audit_timeout(self.config.audit_rate_minutes),
                memory_mib=settings.AUDIT_MEMORY_MIB,
                environment={
                    contract.ALERTS_TOPIC_ARN: self._alerting.topic.topic_arn,
                    contract.FOLLOWER_SECRET_PREFIX: contract.follower_secret_prefix(self.config.name),
                    contract.FOLLOWER_ORDERS.url_env_var: orders.queue_url,
                },
                reserved_concurrency=1,  # audits never overlap: alert de-duplication assumes one run at a time
            ),
        )
        self._grant_follower_secrets(audit)
        self._alerting.grant_publish_alerts(audit.role)
        orders.grant_send_messages(audit.role)  # heal mode enqueues a sync through the normal executor path
        return audit

    def _function(
        self, construct_id: str, tables: Mapping[TableSpec, TableAccess], props: PythonLambdaProps
    ) -> PythonLambda:
        """A function with exactly ``tables`` (grants and ``*_TABLE`` variables); its reserved concurrency only
        where the environment reserves concurrency."""
        props = replace(
            props,
            environment={**self._table_environment(tables), **props.environment},
            reserved_concurrency=props.reserved_concurrency if self.config.reserve_concurrency else None,
        )
        function = PythonLambda(self, construct_id, config=self.config, props=props)
        self._grant_tables(function.role, tables)
        return function

    def _grant_follower_secrets(self, function: PythonLambda) -> None:
        prefix = contract.follower_secret_prefix(self.config.name)
        # Built from the pseudo parameters even when the stack has a concrete account and region, so the nag
        # finding id (and its acknowledgement) is the same in every environment.
        arn = f"arn:{Aws.PARTITION}:secretsmanager:{Aws.REGION}:{Aws.ACCOUNT_ID}:secret:{prefix}*"
        finding = f"arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:{prefix}*"
        function.role.add_to_principal_policy(
            iam.PolicyStatement(actions=["secretsmanager:GetSecretValue"], resources=[arn])
        )
        acknowledge(
            function,
            f"AwsSolutions-IAM5[Resource::{finding}]",
            "Followers are added and removed without a deploy, each with its own secret under this environment's "
            "follower prefix; the wildcard covers only that prefix and only secretsmanager:GetSecretValue.",
        )

    # --- the listener -----------------------------------------------------------------------------------------

    def _listener(self, master: str, secrets: SecretsStack) -> FargateListener:
        queue = self._messaging.master_changes.queue
        listener = FargateListener(
            self,
            f"Listener-{master}",
            config=self.config,
            props=FargateListenerProps(
                master_id=master,
                cluster=self.network.cluster,
                image=ecs.ContainerImage.from_docker_image_asset(self.listener_image),
                security_group=self.network.listener_security_group,
                master_secret=secrets.master_secrets[master],
                environment={
                    **self._table_environment(LISTENER_TABLES),
                    contract.MASTER_CHANGES.url_env_var: queue.queue_url,
                    contract.ALERTS_TOPIC_ARN: self._alerting.topic.topic_arn,
                },
            ),
        )
        self._grant_tables(listener.task_role, LISTENER_TABLES)
        queue.grant_send_messages(listener.task_role)
        self._alerting.grant_publish_alerts(listener.task_role)
        return listener

    # --- tables -----------------------------------------------------------------------------------------------

    def _table_environment(self, tables: Mapping[TableSpec, TableAccess]) -> dict[str, str]:
        return {spec.env_var: self._data.table(spec).table_name for spec in tables}

    def _grant_tables(self, grantee: iam.IGrantable, tables: Mapping[TableSpec, TableAccess]) -> None:
        for spec, access in tables.items():
            grant_table(grantee, self._data.table(spec), spec, access)
