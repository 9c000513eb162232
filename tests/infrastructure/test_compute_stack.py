"""Compute: the three Lambdas (runtime, ARM64, handlers, timeouts, environment), their SQS event sources, the audit
schedule, and the Fargate listener (one task per master, health check, secrets, locked-down network)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra import contract
from tests.infrastructure.synth import Synthesized

HANDLERS = {
    "dispatcher": "lambdas.dispatcher.handler.handler",
    "executor": "lambdas.executor.handler.handler",
    "audit": "lambdas.audit.handler.handler",
}
# function -> (timeout s, memory MB, table env vars)
SHAPES = {
    "dispatcher": (30, 512, {"FOLLOWERS_TABLE", "MASTER_STATE_TABLE"}),
    "executor": (
        60,
        1024,
        {"CLAIMS_TABLE", "RATIOS_TABLE", "MASTER_STATE_TABLE", "FOLLOWERS_TABLE", "ORDER_LOG_TABLE"},
    ),
    "audit": (50, 1024, {"MASTER_STATE_TABLE", "RATIOS_TABLE", "FOLLOWERS_TABLE", "CLAIMS_TABLE", "ALERT_STATE_TABLE"}),
}


def _function(synth: Synthesized, name: str) -> tuple[str, dict[str, Any]]:
    for logical_id, function in synth.resources("compute", "AWS::Lambda::Function").items():
        if function["Properties"]["FunctionName"] == f"{synth.config.prefix}-{name}":
            return logical_id, function["Properties"]
    raise AssertionError(f"no function {name}")


def _event_source(synth: Synthesized, function_logical_id: str) -> dict[str, Any]:
    mappings: list[dict[str, Any]] = [
        m["Properties"]
        for m in synth.resources("compute", "AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": function_logical_id}
    ]
    assert len(mappings) == 1
    return mappings[0]


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_function_runtime_architecture_and_handler(dev: Synthesized, name: str) -> None:
    _, props = _function(dev, name)
    assert props["Runtime"] == "python3.14"
    assert props["Architectures"] == ["arm64"]
    assert props["Handler"] == HANDLERS[name]
    assert props["TracingConfig"] == {"Mode": "Active"}
    timeout, memory, _ = SHAPES[name]
    assert (props["Timeout"], props["MemorySize"]) == (timeout, memory)


@pytest.mark.parametrize("name", sorted(HANDLERS))
def test_function_environment_names_only_its_own_tables(dev: Synthesized, name: str) -> None:
    _, props = _function(dev, name)
    variables = props["Environment"]["Variables"]
    tables = {key for key in variables if key.endswith("_TABLE")}
    assert tables == SHAPES[name][2]
    for key in tables:
        spec = next(spec for spec in contract.TABLES if spec.env_var == key)
        assert dev.resolve("compute", variables[key]) == f"table:{spec.table_name('dev')}"
    assert variables["POWERTOOLS_SERVICE_NAME"] == "copytrader-dev"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == contract.METRICS_NAMESPACE
    assert variables[contract.ENV_NAME] == "dev"


def test_queue_and_secret_environment(dev: Synthesized) -> None:
    dispatcher = _function(dev, "dispatcher")[1]["Environment"]["Variables"]
    executor = _function(dev, "executor")[1]["Environment"]["Variables"]
    audit = _function(dev, "audit")[1]["Environment"]["Variables"]
    orders = "queue:copytrader-dev-follower-orders.fifo"
    assert dev.resolve("compute", dispatcher["FOLLOWER_ORDERS_QUEUE_URL"]) == orders
    assert dev.resolve("compute", audit["FOLLOWER_ORDERS_QUEUE_URL"]) == orders
    assert "FOLLOWER_ORDERS_QUEUE_URL" not in executor
    assert executor["FOLLOWER_SECRET_PREFIX"] == audit["FOLLOWER_SECRET_PREFIX"] == "copytrader/dev/followers/"
    assert dev.resolve("compute", executor["ALERTS_TOPIC_ARN"]) == "topic:copytrader-dev-alerts"


@pytest.mark.parametrize(
    ("name", "queue", "batch", "concurrency"),
    [
        ("dispatcher", "copytrader-dev-master-changes.fifo", 10, 2),
        ("executor", "copytrader-dev-follower-orders.fifo", 1, 5),
    ],
)
def test_sqs_event_sources(dev: Synthesized, name: str, queue: str, batch: int, concurrency: int) -> None:
    mapping = _event_source(dev, _function(dev, name)[0])
    assert dev.resolve("compute", mapping["EventSourceArn"]) == f"queue:{queue}"
    assert mapping["BatchSize"] == batch
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": concurrency}
    assert "MaximumBatchingWindowInSeconds" not in mapping  # FIFO sources do not support a batching window


def test_audit_has_no_event_source_but_a_schedule(dev: Synthesized) -> None:
    audit_id, _ = _function(dev, "audit")
    mappings = dev.resources("compute", "AWS::Lambda::EventSourceMapping").values()
    assert all(m["Properties"]["FunctionName"] != {"Ref": audit_id} for m in mappings)
    (rule,) = dev.resources("compute", "AWS::Events::Rule").values()
    assert rule["Properties"]["ScheduleExpression"] == "rate(1 minute)"
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == {"Fn::GetAtt": [audit_id, "Arn"]}
    assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 60, "MaximumRetryAttempts": 0}


def test_dev_reserves_no_concurrency_prod_reserves_what_the_sources_may_use(
    dev: Synthesized, prod: Synthesized
) -> None:
    for name in HANDLERS:
        assert "ReservedConcurrentExecutions" not in _function(dev, name)[1]
    reserved = {name: _function(prod, name)[1]["ReservedConcurrentExecutions"] for name in HANDLERS}
    assert reserved == {"dispatcher": 2, "executor": 20, "audit": 1}
    for name in ("dispatcher", "executor"):
        mapping = _event_source(prod, _function(prod, name)[0])
        assert mapping["ScalingConfig"]["MaximumConcurrency"] <= reserved[name]  # never throttled by its own cap


def _listener(synth: Synthesized) -> tuple[dict[str, Any], dict[str, Any]]:
    (task,) = synth.resources("compute", "AWS::ECS::TaskDefinition").values()
    (service,) = synth.resources("compute", "AWS::ECS::Service").values()
    return task["Properties"], service["Properties"]


def test_one_listener_task_per_master_never_two(dev: Synthesized) -> None:
    task, service = _listener(dev)
    assert task["Family"] == "copytrader-dev-listener-main"
    assert service["DesiredCount"] == 1
    assert service["DeploymentConfiguration"] == {
        "DeploymentCircuitBreaker": {"Enable": True, "Rollback": True},
        "MaximumPercent": 100,
        "MinimumHealthyPercent": 0,
    }
    assert service["LaunchType"] == "FARGATE"
    assert task["RuntimePlatform"] == {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"}


def test_listener_health_check_reads_the_heartbeat_file(dev: Synthesized) -> None:
    (container,) = _listener(dev)[0]["ContainerDefinitions"]
    check = container["HealthCheck"]
    assert check["Command"][:3] == ["CMD", "python", "-c"]
    assert contract.LISTENER_HEARTBEAT_FILE in check["Command"][3] and "< 90" in check["Command"][3]
    assert (check["Interval"], check["Retries"], check["StartPeriod"]) == (30, 3, 60)
    environment = {e["Name"]: e["Value"] for e in container["Environment"]}
    assert environment[contract.LISTENER_HEARTBEAT_FILE] == contract.HEARTBEAT_PATH
    assert container["ReadonlyRootFilesystem"] is True
    assert container["MountPoints"] == [{"ContainerPath": "/tmp", "ReadOnly": False, "SourceVolume": "tmp"}]


def test_listener_keys_come_from_secrets_manager_not_the_environment(dev: Synthesized) -> None:
    (container,) = _listener(dev)[0]["ContainerDefinitions"]
    secrets = {s["Name"]: dev.resolve("compute", s["ValueFrom"]) for s in container["Secrets"]}
    assert secrets == {
        "MASTER_API_KEY": "secret:copytrader/dev/master/main:api_key::",
        "MASTER_API_SECRET": "secret:copytrader/dev/master/main:api_secret::",
    }
    environment = {e["Name"]: dev.resolve("compute", e["Value"]) for e in container["Environment"]}
    assert not any("KEY" in name or "SECRET" in name for name in environment)
    assert environment["MASTER_ID"] == "main"
    assert environment["MASTER_CHANGES_QUEUE_URL"] == "queue:copytrader-dev-master-changes.fifo"
    assert environment["MASTER_STATE_TABLE"] == "table:copytrader-dev-master-state"
    assert container["LogConfiguration"]["Options"]["mode"] == "non-blocking"


def test_listener_network_is_outbound_https_only(dev: Synthesized) -> None:
    (group,) = dev.resources("compute", "AWS::EC2::SecurityGroup").values()
    assert "SecurityGroupIngress" not in group["Properties"]
    assert dev.resources("compute", "AWS::EC2::SecurityGroupIngress") == {}
    assert group["Properties"]["SecurityGroupEgress"] == [
        {"CidrIp": "0.0.0.0/0", "Description": "HTTPS out", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}
    ]
    assert dev.resources("compute", "AWS::EC2::NatGateway") == {}
    (cluster,) = dev.resources("compute", "AWS::ECS::Cluster").values()
    assert cluster["Properties"]["ClusterSettings"] == [{"Name": "containerInsights", "Value": "enabled"}]
    (flow_log,) = dev.resources("compute", "AWS::EC2::FlowLog").values()
    assert flow_log["Properties"]["TrafficType"] == "REJECT"


def test_listener_image_is_built_from_the_repository_dockerfile(dev: Synthesized) -> None:
    assets = json.loads((dev.outdir / "CopyTrader-dev-Compute.assets.json").read_text())
    (image,) = assets["dockerImages"].values()
    assert image["source"]["dockerFile"] == "runtime/listener/Dockerfile"
    assert image["source"]["platform"] == "linux/arm64"
    context = dev.outdir / image["source"]["directory"]
    assert {p.name for p in context.iterdir()} == {"requirements.txt", "runtime"}
    dockerfile = (context / "runtime" / "listener" / "Dockerfile").read_text()
    assert 'CMD ["python", "-m", "runtime.listener.fargate_main"]' in dockerfile
    assert "pip install" in dockerfile and "requirements.txt" in dockerfile


def test_prod_listener_talks_to_bybit_mainnet(prod: Synthesized) -> None:
    (container,) = _listener(prod)[0]["ContainerDefinitions"]
    assert {"Name": "BYBIT_TESTNET", "Value": "false"} in container["Environment"]


def test_prod_needs_no_context_lookup_for_availability_zones(prod: Synthesized) -> None:
    manifest = json.loads((prod.outdir / "manifest.json").read_text())
    assert "missing" not in manifest  # nothing for the CLI to look up (and cache with the account id)
    zones = [s["Properties"]["AvailabilityZone"] for s in prod.resources("compute", "AWS::EC2::Subnet").values()]
    assert zones == [{"Fn::Select": [0, {"Fn::GetAZs": ""}]}, {"Fn::Select": [1, {"Fn::GetAZs": ""}]}]
