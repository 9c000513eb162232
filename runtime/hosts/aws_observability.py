"""Powertools logger, tracer and metrics for the handlers and the listener, and the custom metrics of the contract.

Metrics go to stdout as CloudWatch EMF (Lambda and the listener's awslogs driver both ship stdout to CloudWatch
Logs, which extracts them), in the namespace ``CopyTrader``; Powertools adds ``service`` from
``POWERTOOLS_SERVICE_NAME``. The dimensioned ones (``Hop``, ``Master``) go through ``single_metric`` so no other
dimension leaks into their series.

Outside Lambda nothing here changes global logging (tests and the local host keep their own configuration), and
the tracer is off unless the X-Ray SDK is installed and Powertools finds itself in Lambda.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging.utils import copy_config_to_registered_loggers
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.metrics.functions import is_metrics_disabled

from runtime.hosts import aws_names as names
from runtime.services.jobs import JobOutcome

# Not "copytrader": Powertools' Logger filters records of loggers whose name contains its service name out of the
# root handlers, and the engine logs as "copytrader.run" and "copytrader.alerts" (the console alert channel).
DEFAULT_SERVICE = "copytrader-lambda"


def service_name() -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or DEFAULT_SERVICE


def lambda_logger() -> Logger:
    return Logger(service=service_name())


def lambda_tracer() -> Tracer:
    # Without the X-Ray SDK (it is not in requirements.txt) an enabled tracer would fail at its first segment.
    # None lets Powertools decide (off outside Lambda or with POWERTOOLS_TRACE_DISABLED); False would force it on.
    missing_sdk = importlib.util.find_spec("aws_xray_sdk") is None
    return Tracer(service=service_name(), disabled=True if missing_sdk else None)


def lambda_metrics() -> Metrics:
    return Metrics(namespace=names.METRICS_NAMESPACE, service=service_name())


def configure_lambda_logging(logger: Logger) -> None:
    """In Lambda only: the engine's own loggers (``runtime.*``) log through Powertools' JSON handler too."""
    if os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        logging.getLogger("runtime")
        copy_config_to_registered_loggers(source_logger=logger, include={"runtime"})


@dataclass(frozen=True)
class LocalLambdaContext:
    """What a handler needs of Lambda's context, for calls outside Lambda (tests, the local AWS host)."""

    function_name: str
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    remaining_ms: int = 60_000

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:000000000000:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


class CopyMetrics:
    """The contract's custom metrics. Counts accumulate in a Powertools ``Metrics`` (made on first use, so the
    environment is read then, not at import) until ``flush`` (end of an invocation; the listener's heartbeat);
    latencies and heartbeats are written at once."""

    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics

    @property
    def metrics(self) -> Metrics:
        if self._metrics is None:
            self._metrics = lambda_metrics()
        return self._metrics

    def latency(self, hop: names.Hop, milliseconds: float) -> None:
        if is_metrics_disabled():  # single_metric prints even then; honour POWERTOOLS_METRICS_DISABLED here
            return
        with single_metric(
            name=names.COPY_LATENCY_MS,
            unit=MetricUnit.Milliseconds,
            value=max(milliseconds, 0.0),
            namespace=names.METRICS_NAMESPACE,
        ) as metric:
            metric.add_dimension(name=names.HOP_DIMENSION, value=hop.value)

    def count(self, name: str, value: int = 1) -> None:
        if is_metrics_disabled():  # nothing would flush them: do not let them pile up
            return
        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=value)

    def heartbeat(self, master_id: str) -> None:
        if is_metrics_disabled():
            return
        with single_metric(
            name=names.LISTENER_HEARTBEAT, unit=MetricUnit.Count, value=1, namespace=names.METRICS_NAMESPACE
        ) as metric:
            metric.add_dimension(name=names.MASTER_DIMENSION, value=master_id)

    def outcome(self, outcome: JobOutcome) -> None:
        """Orders ok / refused / failed of one executor job, and its executor and end-to-end latency."""
        failed = len(outcome.failures) + (0 if outcome.ok or outcome.failures else 1)
        self.count(names.ORDERS_PLACED, len(outcome.placed))
        self.count(names.ORDERS_REFUSED, len(outcome.refusals))
        self.count(names.ORDERS_FAILED, failed)
        hops = outcome.hops
        if hops.started and hops.order_acked:
            self.latency(names.Hop.EXECUTOR_TO_ACK, (hops.order_acked - hops.started) * 1000.0)
        if hops.copy_latency_s is not None:
            self.latency(names.Hop.END_TO_END, hops.copy_latency_s * 1000.0)

    def flush(self) -> None:
        if self.metrics.metric_set:
            self.metrics.flush_metrics()


LambdaWork = Callable[[dict[str, Any], Any], dict[str, Any]]
LambdaHandler = Callable[..., dict[str, Any]]


class LambdaEntry:
    """The Powertools wiring every handler shares: a logger and tracer (created at import, as their decorators
    need; no I/O), the contract's metrics flushed after every invocation, the engine's loggers routed through the
    JSON handler, and a stand-in context for calls outside Lambda (tests, the local AWS host)."""

    def __init__(self, function_name: str) -> None:
        self.function_name = function_name
        self.logger = lambda_logger()
        self.tracer = lambda_tracer()
        self.metrics = CopyMetrics()

    def handler(self, work: LambdaWork) -> LambdaHandler:
        """``handler(event, context=None)`` running ``work`` inside the wiring."""

        @self.logger.inject_lambda_context
        @self.tracer.capture_lambda_handler
        def handle(event: dict[str, Any], context: Any) -> dict[str, Any]:
            configure_lambda_logging(self.logger)
            try:
                return work(event, context)
            finally:
                self.metrics.flush()  # EMF to stdout (only when something was counted)

        def entry(event: dict[str, Any], context: Any = None) -> dict[str, Any]:
            response: dict[str, Any] = handle(event, context or LocalLambdaContext(self.function_name))
            return response

        return entry
