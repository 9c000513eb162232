"""CloudWatch metric objects for the custom metrics of infra/contract.py, with exactly the dimensions the emitters
use (a metric with one dimension more or less is a different series and would show as empty)."""

from __future__ import annotations

from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch

from infra import contract

ONE_MINUTE = Duration.minutes(1)


def _metric(env_name: str, name: str, statistic: str, label: str, **dimensions: str) -> cloudwatch.Metric:
    return cloudwatch.Metric(
        namespace=contract.METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={contract.SERVICE_DIMENSION: contract.service_name(env_name), **dimensions},
        statistic=statistic,
        period=ONE_MINUTE,
        label=label,
    )


def copy_latency(env_name: str, hop: contract.Hop, percentile: str) -> cloudwatch.Metric:
    """``percentile`` is a CloudWatch statistic such as "p50" or "p99"."""
    return _metric(
        env_name, contract.COPY_LATENCY_MS, percentile, f"{hop.value} {percentile}", **{contract.HOP_DIMENSION: hop}
    )


def count(env_name: str, name: str, label: str) -> cloudwatch.Metric:
    return _metric(env_name, name, "Sum", label)


def listener_heartbeat(env_name: str, master_id: str) -> cloudwatch.Metric:
    return _metric(
        env_name,
        contract.LISTENER_HEARTBEAT,
        "Sum",
        f"heartbeat {master_id}",
        **{contract.MASTER_DIMENSION: master_id},
    )
