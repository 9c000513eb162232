"""End to end on the AWS wiring: the simulators, a moto server for SQS/DynamoDB/SNS/Secrets Manager, the Fargate
listener's sink writing to SQS FIFO, and the dispatcher and executor Lambda handlers invoked as the SQS event source
mapping invokes them (``copytrader demo --host aws-local``).

Redelivered and duplicated SQS messages must produce exactly one order per follower per master change; orders are
counted at the simulators' admin API (what reached the venue, not what the engine believes it sent).
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from runtime.cli.main import main
from runtime.demo.builtin_scenario import builtin_scenario
from runtime.demo.checks import Checker, CheckRecord, CheckResult, OutcomeRecorder
from runtime.demo.report import DemoRun, build_report
from runtime.demo.runner import run_demo
from runtime.demo.scenario import parse_scenario
from runtime.demo.world import DemoWorld, start_world
from runtime.domain.values import PositionIdx, Side
from runtime.hosts.aws_local.config import AwsLocalSettings, LambdaHandlers
from runtime.hosts.aws_local.demo_engine import AwsLocalEngine, AwsLocalEngineFactory

pytestmark = pytest.mark.timeout(90)

D = Decimal
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "scenarios"
FOLLOWERS = ("by", "bn", "hl")


def record(check: CheckResult, follower: str, symbol: str = "BTCUSDT", leg: str = "0") -> CheckRecord:
    (found,) = [r for r in check.records if r.follower_id == follower and r.symbol == symbol and r.leg == leg]
    return found


def explain(run: DemoRun) -> str:
    return json.dumps(build_report(run), indent=1)[:6000]


async def test_the_builtin_demo_passes_on_the_aws_wiring() -> None:
    run = await run_demo(builtin_scenario(), host="aws-local")
    assert run.verdict == "pass", explain(run)
    checks = {check.name: check for check in run.play.checks}
    assert len(checks) == 10 and all(check.settled for check in checks.values())
    opened = checks["open"]  # the same numbers as on the local host (tests/e2e/test_demo.py)
    assert record(opened, "alice").follower_size == D("0.166")
    assert record(opened, "carol").venue_symbol == "BTC" and record(opened, "carol").follower_size == D("0.01666")
    assert [refusal.reason for refusal in record(opened, "dave").refusals] == ["below_min_notional"]
    assert record(checks["flip"], "carol").k == (D(100) / D(6200),)
    assert all(r.master_size == 0 and r.follower_size == 0 for r in checks["full close"].records)
    client_ids = [o.client_order_id for check in checks.values() for r in check.records for o in r.orders]
    assert len(client_ids) == len(set(client_ids)), "an order was reported twice"
    assert run.counters["jobs_failed"] == 0 and run.counters["master_changes"] == 10


def test_the_command_runs_a_scenario_on_aws_local_and_writes_the_report(tmp_path: Path) -> None:
    report_path = tmp_path / "report.json"
    argv = ["demo", "--host", "aws-local", "--scenario", str(EXAMPLES / "quick.json"), "--report", str(report_path)]
    code = main([*argv, "--no-live"])
    report = json.loads(report_path.read_text(encoding="utf-8"))
    assert code == 0, json.dumps(report, indent=1)[:4000]
    assert report["verdict"] == "pass" and report["checks_total"] == 3 and report["host"] == "aws-local"


class FlakyFunctions:
    """The deployed handlers, with two faults of the kind SQS and Lambda produce:
    - the first invocation for each follower runs the executor (its order reaches the venue), then reports the
      record as failed, as a function that timed out after the call would: SQS delivers the job again once its
      visibility timeout expires;
    - every master-change body the dispatcher received is kept, so the test can send one again."""

    def __init__(self) -> None:
        deployed = LambdaHandlers.deployed()
        self._dispatcher, self._executor = deployed.dispatcher, deployed.executor
        self.audit = deployed.audit
        self.master_changes: list[dict[str, Any]] = []
        self.executor_runs: Counter[tuple[str, int]] = Counter()  # (follower, trigger seq) -> invocations
        self.failed_on_purpose: list[str] = []
        self._lock = threading.Lock()

    def handlers(self) -> LambdaHandlers:
        return LambdaHandlers(self.dispatcher, self.executor, self.audit)

    def dispatcher(self, event: dict[str, Any], context: Any) -> Any:
        with self._lock:
            self.master_changes += [
                {"body": r["body"], **r["attributes"]} for r in event["Records"] if r["body"] not in self._bodies()
            ]
        return self._dispatcher(event, context)

    def executor(self, event: dict[str, Any], context: Any) -> Any:
        response = self._executor(event, context)
        failures = list((response or {}).get("batchItemFailures") or [])
        for item in event["Records"]:
            job = json.loads(item["body"])
            with self._lock:
                self.executor_runs[(job["follower_id"], job["trigger_seq"])] += 1
                first = job["follower_id"] not in self.failed_on_purpose
                if first:
                    self.failed_on_purpose.append(job["follower_id"])
            if first:
                failures.append({"itemIdentifier": item["messageId"]})
        return {"batchItemFailures": failures}

    def _bodies(self) -> set[str]:
        return {change["body"] for change in self.master_changes}


SCENARIO = {
    "name": "duplicates and redeliveries",
    "marks": {"BTCUSDT": "60000"},
    "master": {"balance": "100000"},
    "settle_timeout_s": 20,
    "followers": [
        {"id": "by", "venue": "bybit", "balance": "5000", "sizing": {"mode": "margin_ratio", "margin_pct": "0.2"}},
        {"id": "bn", "venue": "binance", "balance": "20000", "sizing": {"mode": "equity_ratio", "multiplier": "1"}},
        {
            "id": "hl",
            "venue": "hyperliquid",
            "balance": "3000",
            "sizing": {"mode": "fixed_margin", "margin_usdt": "100"},
        },
    ],
    "steps": [{"do": "check"}],
}


async def venue_orders(world: DemoWorld[Any]) -> dict[str, int]:
    counts = {}
    for follower in world.scenario.followers:
        counts[follower.id] = len((await world.account(follower.venue, follower.id))["orders"])
    return counts


async def test_redelivered_and_duplicated_messages_make_one_order_per_follower_per_change() -> None:
    functions = FlakyFunctions()
    # Real visibility expiry (no shortcut): a failed record comes back 3 s later, as SQS would after its timeout.
    factory = AwsLocalEngineFactory(
        settings=AwsLocalSettings(visibility_timeouts_s=(3, 3), audit_interval_s=None), handlers=functions.handlers
    )
    recorder = OutcomeRecorder()
    world = await start_world(parse_scenario(SCENARIO), observers=[recorder], engine_factory=factory)
    try:
        engine = world.engine
        assert isinstance(engine, AwsLocalEngine)
        checker = Checker(world, recorder)
        await world.master.set_leverage("BTCUSDT", D(10))
        await world.master.market("BTCUSDT", Side.BUY, D("0.5"), reduce_only=False, position_idx=PositionIdx.ONE_WAY)
        opened = await checker.check(0, "open", 20)
        assert opened.passed, opened
        assert await venue_orders(world) == {"by": 1, "bn": 1, "hl": 1}
        # Every follower's first job ran twice: the reported failure made SQS deliver it again.
        (change,) = [c for c in functions.master_changes if json.loads(c["body"])["kind"] == "open"]
        open_seq = json.loads(change["body"])["seq"]
        assert sorted(functions.failed_on_purpose) == sorted(FOLLOWERS)
        assert all(functions.executor_runs[(f, open_seq)] == 2 for f in FOLLOWERS), functions.executor_runs
        assert engine.host.pollers[1].stats.failed == 3

        # The same master change again, under another deduplication id (a second listener after SQS's window).
        sqs = engine.host.world.client("sqs")
        await asyncio.to_thread(
            sqs.send_message,
            QueueUrl=engine.host.world.master_changes.url,
            MessageBody=change["body"],
            MessageGroupId=change["MessageGroupId"],
            MessageDeduplicationId=change["MessageDeduplicationId"] + ":again",
        )
        again = await checker.check(1, "duplicate", 20)
        assert again.passed, again
        # The fan-out's jobs reached the executor once more (moto deduplicates only messages still queued; on AWS
        # they would be dropped within 5 minutes, and after that come through exactly like this).
        assert all(functions.executor_runs[(f, open_seq)] == 3 for f in FOLLOWERS), functions.executor_runs
        assert await venue_orders(world) == {"by": 1, "bn": 1, "hl": 1}

        await world.master.market("BTCUSDT", Side.SELL, D("0.2"), reduce_only=True, position_idx=PositionIdx.ONE_WAY)
        trimmed = await checker.check(2, "partial close", 20)
        assert trimmed.passed, trimmed
        assert await venue_orders(world) == {"by": 2, "bn": 2, "hl": 2}
        assert record(trimmed, "bn").follower_size == D("0.06")  # 0.3 x equity ratio 0.2
        dead = engine.host.world.queue_counts(engine.host.world.follower_orders.dlq_url)
        assert dead == (0, 0)
    finally:
        await world.stop()
