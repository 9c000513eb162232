"""Observability: one CloudWatch dashboard for the copy path and the alarms that page through the alerts topic.

Custom metrics live in the namespace ``CopyTrader`` (infra/contract.py lists names and dimensions). Every alarm
notifies the topic when it fires and when it clears, so the operator also hears "resolved".
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, CfnOutput, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra import contract
from infra import custom_metrics as metrics
from infra.config import EnvironmentConfig
from infra.stacks.alerting_stack import AlertingStack
from infra.stacks.base import CopyTraderStack
from infra.stacks.compute_stack import ComputeStack
from infra.stacks.messaging_stack import MessagingStack

WIDTH = 24  # dashboard grid width
MASTER_QUEUE_MAX_AGE_S = 60  # a master change waiting longer means the dispatcher is not consuming
ORDER_QUEUE_MAX_AGE_S = 120  # one executor attempt is at most 60 s; two in a row is a stall


@dataclass(frozen=True)
class MonitoredResources:
    compute: ComputeStack
    messaging: MessagingStack
    alerting: AlertingStack


class MonitoringStack(CopyTraderStack):
    def __init__(
        self, scope: Construct, construct_id: str, *, config: EnvironmentConfig, resources: MonitoredResources
    ) -> None:
        super().__init__(scope, construct_id, config=config, description="CloudWatch dashboard and alarms")
        self._action = actions.SnsAction(resources.alerting.topic)
        self._env = config.name
        compute, messaging = resources.compute, resources.messaging
        self.functions: dict[str, lambda_.IFunction] = {
            "dispatcher": compute.dispatcher.function,
            "executor": compute.executor.function,
            "audit": compute.audit.function,
            "notifier": resources.alerting.notifier.function,
        }
        self.dead_letter_queues: dict[str, sqs.IQueue] = {
            "master-changes": messaging.master_changes.dead_letter_queue,
            "follower-orders": messaging.follower_orders.dead_letter_queue,
            "notifier-failures": resources.alerting.notifier_failures,
        }
        self.alarms: list[cloudwatch.Alarm] = []
        self._alarms(config, messaging)
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=f"{config.prefix}-copy-path",
            default_interval=Duration.hours(3),
            widgets=self._widgets(config, messaging),
        )
        CfnOutput(
            self,
            "DashboardUrl",
            description="The copy-path dashboard",
            value=f"https://console.aws.amazon.com/cloudwatch/home?region={Aws.REGION}"
            f"#dashboards:name={config.prefix}-copy-path",
        )

    # --- alarms -----------------------------------------------------------------------------------------------

    def _alarms(self, config: EnvironmentConfig, messaging: MessagingStack) -> None:
        for name, queue in self.dead_letter_queues.items():
            self._alarm(
                f"dlq-{name}",
                f"Messages in the {name} dead-letter queue: inspect them and redrive (docs/deploy.md)",
                queue.metric_approximate_number_of_messages_visible(statistic="Maximum", period=Duration.minutes(1)),
                threshold=1,
            )
        self._alarm(
            "orders-failed",
            "A follower order failed (not refused): check the executor logs and the order log",
            metrics.count(self._env, contract.ORDERS_FAILED, "failed").with_(period=Duration.minutes(5)),
            threshold=1,
        )
        self._alarm(
            "copy-latency-p99",
            f"End-to-end copy latency p99 above {config.latency_alarm_ms} ms over 5 minutes",
            metrics.copy_latency(self._env, contract.Hop.END_TO_END, "p99").with_(period=Duration.minutes(5)),
            threshold=config.latency_alarm_ms,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        for master in config.masters:
            self._alarm(
                f"listener-silent-{master}",
                f"No heartbeat from the listener of master {master} for 3 minutes: the task is down or stuck",
                metrics.listener_heartbeat(self._env, master),
                threshold=1,
                comparison=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                periods=3,
                missing=cloudwatch.TreatMissingData.BREACHING,
            )
        for name in ("dispatcher", "executor", "audit", "notifier"):
            self._alarm(
                f"{name}-errors",
                f"The {name} Lambda failed (crash or timeout, not a reported item failure): see its log group",
                self.functions[name].metric_errors(statistic="Sum", period=Duration.minutes(5)),
                threshold=1,
            )
        self._alarm(
            "master-changes-stalled",
            f"A master change waited more than {MASTER_QUEUE_MAX_AGE_S} s for the dispatcher",
            messaging.master_changes.queue.metric_approximate_age_of_oldest_message(
                statistic="Maximum", period=Duration.minutes(1)
            ),
            threshold=MASTER_QUEUE_MAX_AGE_S,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        self._alarm(
            "follower-orders-stalled",
            f"A follower order waited more than {ORDER_QUEUE_MAX_AGE_S} s for the executor",
            messaging.follower_orders.queue.metric_approximate_age_of_oldest_message(
                statistic="Maximum", period=Duration.minutes(1)
            ),
            threshold=ORDER_QUEUE_MAX_AGE_S,
            comparison=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )

    def _alarm(
        self,
        name: str,
        description: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        periods: int = 1,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> None:
        alarm = cloudwatch.Alarm(
            self,
            f"Alarm-{name}",
            alarm_name=f"{self.config.prefix}-{name}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            comparison_operator=comparison,
            evaluation_periods=periods,
            datapoints_to_alarm=periods,
            treat_missing_data=missing,
        )
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)

    # --- dashboard --------------------------------------------------------------------------------------------

    def _widgets(self, config: EnvironmentConfig, messaging: MessagingStack) -> list[list[cloudwatch.IWidget]]:
        env = self._env
        hops = list(contract.Hop)
        third = WIDTH // 3
        return [
            [
                cloudwatch.TextWidget(
                    markdown=(
                        f"# copytrader {env}: the copy path\n"
                        f"Custom metrics: namespace `{contract.METRICS_NAMESPACE}`, dimension "
                        f"`service={contract.service_name(env)}`. Hops: "
                        + ", ".join(f"`{hop.value}`" for hop in hops)
                        + ". Runbook: docs/deploy.md."
                    ),
                    width=WIDTH,
                    height=2,
                )
            ],
            [
                _graph(f"Copy latency {p} per hop (ms)", [metrics.copy_latency(env, h, p) for h in hops], WIDTH // 2)
                for p in ("p50", "p99")
            ],
            [
                _graph(
                    "Orders: ok / refused / failed",
                    [
                        metrics.count(env, contract.ORDERS_PLACED, "ok"),
                        metrics.count(env, contract.ORDERS_REFUSED, "refused"),
                        metrics.count(env, contract.ORDERS_FAILED, "failed"),
                    ],
                    third,
                    stacked=True,
                ),
                _graph(
                    "Dead-letter queue depth",
                    [
                        queue.metric_approximate_number_of_messages_visible(
                            statistic="Maximum", period=Duration.minutes(1), label=name
                        )
                        for name, queue in self.dead_letter_queues.items()
                    ],
                    third,
                ),
                _graph(
                    "Oldest message age (s)",
                    [
                        messaging.master_changes.queue.metric_approximate_age_of_oldest_message(
                            statistic="Maximum", period=Duration.minutes(1), label="master changes"
                        ),
                        messaging.follower_orders.queue.metric_approximate_age_of_oldest_message(
                            statistic="Maximum", period=Duration.minutes(1), label="follower orders"
                        ),
                    ],
                    third,
                ),
            ],
            [
                _graph(
                    "Audit discrepancies", [metrics.count(env, contract.AUDIT_DISCREPANCIES, "discrepancies")], third
                ),
                _graph(
                    "Master stream: reconnects and gap replays",
                    [
                        metrics.count(env, contract.STREAM_RECONNECTS, "reconnects"),
                        metrics.count(env, contract.GAP_REPLAYS, "gap replays"),
                    ],
                    third,
                ),
                _graph(
                    "Listener heartbeats per minute",
                    [metrics.listener_heartbeat(env, master) for master in config.masters],
                    third,
                ),
            ],
            [
                _graph(
                    "Lambda errors",
                    [fn.metric_errors(period=Duration.minutes(1), label=n) for n, fn in self.functions.items()],
                    third,
                ),
                _graph(
                    "Lambda throttles",
                    [fn.metric_throttles(period=Duration.minutes(1), label=n) for n, fn in self.functions.items()],
                    third,
                ),
                _graph(
                    "Lambda duration p99 (ms)",
                    [
                        fn.metric_duration(statistic="p99", period=Duration.minutes(1), label=n)
                        for n, fn in self.functions.items()
                    ],
                    third,
                ),
            ],
        ]


def _graph(title: str, metrics_: list[cloudwatch.IMetric], width: int, *, stacked: bool = False) -> cloudwatch.IWidget:
    return cloudwatch.GraphWidget(title=title, left=metrics_, width=width, height=6, stacked=stacked)
