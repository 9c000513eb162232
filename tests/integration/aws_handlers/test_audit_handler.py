"""The audit handler against moto and the simulators: a follower that lacks the master's position is found, alerted
on the alerts topic, remembered in the alert-state table, and healed through a HEAL job on queue 2."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pytest

from lambdas.audit.handler import handler as audit
from lambdas.executor.handler import handler as executor
from runtime.adapters.sqs.messages import decode_follower_job
from runtime.domain.values import Venue
from runtime.hosts.aws import AwsOverrides
from runtime.services.audit import AuditSettings
from runtime.services.jobs import JobReason
from tests.integration.aws_handlers.world import HandlerWorld, failed_ids, sqs_event

HEAL_NOW = AwsOverrides(audit_settings=AuditSettings(grace_s=0, heal=True))


def test_a_missing_position_is_alerted_healed_and_then_resolved(
    world: HandlerWorld, capsys: pytest.CaptureFixture[str]
) -> None:
    alice = world.add_follower("alice", Venue.BYBIT)
    services = world.install(HEAL_NOW)
    asyncio.run(world.listener_sink(services)(world.master_change(101, Decimal("0.1"))))
    world.drain(world.master_queue)  # the dispatcher never ran: alice never got the change

    report = audit({"source": "aws.events", "detail-type": "Scheduled Event"})

    [finding] = report["findings"]
    assert (finding["follower_id"], finding["kind"], finding["heal_requested"]) == (alice, "MissingPosition", True)
    assert [a["kind"] for a in world.alerts_published()] == ["MissingPosition"]
    assert [state.follower_id for state in services.store.list_alerts()] == [alice]
    metrics = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(m.get("AuditDiscrepancies") == [1.0] for m in metrics)

    [heal] = world.drain(world.orders_queue)
    job = decode_follower_job(heal["Body"]).job
    assert (job.follower_id, job.reason, job.symbol) == (alice, JobReason.HEAL, "BTCUSDT")
    assert heal["Attributes"]["MessageGroupId"] == alice
    assert failed_ids(executor(sqs_event([heal]))) == []
    assert world.sims.position(Venue.BYBIT, alice) == Decimal("0.166")

    again = audit({})
    assert [f["status"] for f in again["findings"]] == ["resolved"]
    assert [a["kind"] for a in world.alerts_published()] == ["MissingPositionResolved"]
    assert services.store.list_alerts() == []


def test_a_steady_discrepancy_is_alerted_once(world: HandlerWorld) -> None:
    world.add_follower("alice", Venue.BYBIT)
    services = world.install(AwsOverrides(audit_settings=AuditSettings(grace_s=0, heal=False)))
    asyncio.run(world.listener_sink(services)(world.master_change(101, Decimal("0.1"))))

    audit({})
    audit({})

    assert [a["kind"] for a in world.alerts_published()] == ["MissingPosition"]
    assert world.drain(world.orders_queue) == []  # heal mode off: nothing is enqueued
