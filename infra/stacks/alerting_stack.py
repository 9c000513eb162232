"""Alerting: one SNS topic that everything alerts to (the engine's notifications and the CloudWatch alarms), and
the notifier Lambda subscribed to it, which sends to Telegram and, for critical alerts, Twilio SMS.

Routing contract: the engine publishes with the message attribute ``severity`` (info | warning | critical);
CloudWatch alarm notifications carry none and count as critical. The notifier never blocks the copy path (SNS
delivers asynchronously); a failed send is retried twice by Lambda and then parked in the notifier's dead-letter
queue, which alarms. Email or other subscribers can be added to the topic without a deploy (docs/deploy.md).

The topic is encrypted with a customer-managed key because CloudWatch alarms cannot publish to a topic encrypted
with the AWS-managed SNS key; the key policy lets CloudWatch use it.
"""

from __future__ import annotations

from aws_cdk import CfnOutput, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda_destinations as destinations
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import contract
from infra.config import EnvironmentConfig
from infra.constructs.nag import acknowledge
from infra.constructs.python_lambda import PythonLambda, PythonLambdaProps, lambda_code
from infra.function_settings import NOTIFIER_MEMORY_MIB, NOTIFIER_TIMEOUT
from infra.stacks.base import CopyTraderStack
from infra.stacks.secrets_stack import TELEGRAM, TWILIO, SecretsStack

NOTIFIER_HANDLER = "lambdas.notifier.handler.handler"


class AlertingStack(CopyTraderStack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, secrets: SecretsStack
    ) -> None:
        super().__init__(scope, construct_id, config=config, description="SNS alerts topic and the notifier")
        self.key = kms.Key(
            self,
            "AlertsKey",
            alias=f"alias/{config.prefix}-alerts",
            description="Encrypts the alerts topic; usable by CloudWatch alarms",
            enable_key_rotation=True,
            removal_policy=RemovalPolicy.DESTROY,  # only in-flight notifications are encrypted with it
            pending_window=Duration.days(7),
        )
        self.key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarmsToPublish",
                principals=[iam.ServicePrincipal("cloudwatch.amazonaws.com")],
                actions=["kms:Decrypt", "kms:GenerateDataKey*"],
                resources=["*"],  # in a key policy "*" means this key
                conditions={"StringEquals": {"aws:SourceAccount": self.account}},
            )
        )
        self.topic = sns.Topic(
            self,
            "AlertsTopic",
            topic_name=f"{config.prefix}-alerts",
            display_name=f"copytrader {config.name} alerts",
            master_key=self.key,
            enforce_ssl=True,
        )
        CfnOutput(self, "AlertsTopicArn", value=self.topic.topic_arn, description="Subscribe e-mail or chat here")
        self.notifier_failures = sqs.Queue(
            self,
            "NotifierFailures",
            queue_name=f"{config.prefix}-notifier-failures",
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        acknowledge(
            self.notifier_failures,
            "AwsSolutions-SQS3",
            "This queue is itself a dead-letter queue: the notifier Lambda's destination for notifications that "
            "failed after Lambda's asynchronous retries; it alarms on depth and nothing consumes it automatically.",
        )
        self.notifier = PythonLambda(
            self,
            "Notifier",
            config=config,
            props=PythonLambdaProps(
                function_suffix="notifier",
                handler=NOTIFIER_HANDLER,
                description="Sends alerts from the SNS topic to Telegram and (critical only) Twilio SMS",
                code=lambda_code(config),
                timeout=NOTIFIER_TIMEOUT,
                memory_mib=NOTIFIER_MEMORY_MIB,
                environment={
                    contract.TELEGRAM_SECRET_ARN: secrets.alert_secrets[TELEGRAM].secret_arn,
                    contract.TWILIO_SECRET_ARN: secrets.alert_secrets[TWILIO].secret_arn,
                },
            ),
        )
        function = self.notifier.function
        # Sends that still fail after Lambda's two retries, and SNS deliveries that never reached the function,
        # both land in the failures queue.
        function.configure_async_invoke(
            retry_attempts=2,
            max_event_age=Duration.hours(1),
            on_failure=destinations.SqsDestination(self.notifier_failures),
        )
        self.topic.add_subscription(
            subscriptions.LambdaSubscription(function, dead_letter_queue=self.notifier_failures)
        )
        for secret in secrets.alert_secrets.values():
            secret.grant_read(self.notifier.role)

    def grant_publish_alerts(self, grantee: iam.IGrantable) -> None:
        """Publish to the encrypted topic: sns:Publish plus exactly the two KMS actions SNS needs (CDK's
        ``grant_publish`` would grant ``kms:GenerateDataKey*``)."""
        iam.Grant.add_to_principal(grantee=grantee, actions=["sns:Publish"], resource_arns=[self.topic.topic_arn])
        iam.Grant.add_to_principal(
            grantee=grantee, actions=["kms:GenerateDataKey", "kms:Decrypt"], resource_arns=[self.key.key_arn]
        )
