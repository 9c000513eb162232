"""AuditService paths the simulators cannot easily stage, on a fake exchange client: a venue that does not answer,
a notifier that raises, a heal that fails, an unmapped symbol, the report renderings; and close-all splitting."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

from runtime.adapters.sqlite_store import SqliteStore
from runtime.config.model import FollowerConfig
from runtime.domain.audit import AlertAction
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.domain.events import Lifecycle
from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import FollowerPosition
from runtime.domain.symbols import SymbolMap
from runtime.domain.values import PositionIdx, Venue
from runtime.ports.store import MasterSnapshot
from runtime.services.alerts.model import Alert
from runtime.services.audit import AuditService, AuditSettings
from runtime.services.audit_legs import SkipReason
from runtime.services.audit_report import render_report
from runtime.services.kill_switch import split_close

D = Decimal
NOW = 1_700_000_000_000
RULES = InstrumentRules(Venue.BYBIT, "BTCUSDT", D("0.001"), D("0.1"), D("0.001"), D(1000), D(500), D(5), D(100))


class FakeClient:
    venue = Venue.BYBIT

    def __init__(self) -> None:
        self.held: dict[str, Decimal] = {}
        self.fail: ExchangeError | None = None

    async def positions(self, symbol: str | None = None) -> list[FollowerPosition]:
        if self.fail is not None:
            raise self.fail
        return [FollowerPosition(Venue.BYBIT, s, size) for s, size in self.held.items() if size != 0]

    async def instrument_rules(self, symbol: str) -> InstrumentRules:
        return RULES

    async def equity(self) -> Decimal:
        return D(100000)


def follower(**extra: object) -> FollowerConfig:
    return FollowerConfig.model_validate(
        {
            "id": "alice",
            "venue": "bybit",
            "api_key_env": "K",
            "api_secret_env": "S",
            "sizing": {"mode": "margin_ratio", "margin_pct": "0.1"},
            **extra,
        }
    )


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    made = SqliteStore(tmp_path / "state.db")
    yield made
    made.close()


def put_master(store: SqliteStore, size: str, symbol: str = "BTCUSDT") -> None:
    life = Lifecycle(f"{symbol}:0:1", D(6000), D(100000), 1)
    ago = NOW - 120_000
    store.put_master_snapshot(
        MasterSnapshot("m", symbol, PositionIdx.ONE_WAY, 1, D(size), D(0), D(10), D(60000), life, ago, ago)
    )
    store.get_or_set_ratio("alice", life.id, D("0.1"))


def service(store: SqliteStore, client: FakeClient, alerts: list[Alert], **settings: object) -> AuditService:
    return AuditService(
        store,
        {"alice": client},  # type: ignore[dict-item]
        {"alice": follower()},
        SymbolMap(),
        "m",
        notify=alerts.append,
        settings=AuditSettings(**settings),  # type: ignore[arg-type]
        clock_ms=lambda: NOW,
    )


async def test_a_venue_that_does_not_answer_is_reported_and_its_alerts_left_alone(store: SqliteStore) -> None:
    client, alerts = FakeClient(), list[Alert]()
    put_master(store, "1")
    await service(store, client, alerts).run_once()  # follower flat: MissingPosition alerted
    assert len(alerts) == 1

    client.fail = ExchangeError(ErrorKind.TEMPORARY, Venue.BYBIT, "503 from the venue")
    report = await service(store, client, alerts).run_once()

    assert report.findings == () and report.followers_audited == ()
    (skip,) = report.skipped
    assert skip.reason is SkipReason.READ_FAILED and "503" in skip.detail
    assert len(alerts) == 1  # no false "resolved"
    assert store.get_alert("audit:alice:BTCUSDT:0") is not None


async def test_a_notifier_that_raises_does_not_break_the_audit(store: SqliteStore) -> None:
    put_master(store, "1")

    def broken(alert: Alert) -> None:
        raise RuntimeError("channel exploded")

    audit = service(store, FakeClient(), [])
    audit.notify = broken
    report = await audit.run_once()
    assert [f.status for f in report.findings] == [AlertAction.ALERT]
    assert store.get_alert("audit:alice:BTCUSDT:0") is not None


async def test_a_failed_heal_is_reported_on_the_finding(store: SqliteStore) -> None:
    put_master(store, "1")

    async def heal(follower_id: str, symbol: str, idx: PositionIdx, sync_round: str) -> None:
        raise RuntimeError("queue full")

    audit = service(store, FakeClient(), [], heal=True)
    audit.heal = heal
    (finding,) = (await audit.run_once()).findings
    assert not finding.heal_requested and finding.heal_error == "queue full"


async def test_an_unmapped_master_symbol_is_skipped_and_its_alert_kept(store: SqliteStore) -> None:
    put_master(store, "5", symbol="WEIRD-PERP")
    report = await service(store, FakeClient(), []).run_once()
    (skip,) = report.skipped
    assert skip.reason is SkipReason.UNMAPPED and "[symbols.WEIRD-PERP]" in skip.detail


async def test_report_renders_as_json_and_as_a_table(store: SqliteStore) -> None:
    put_master(store, "1")
    client = FakeClient()
    client.held["BTCUSDT"] = D("0.05")
    report = await service(store, client, []).run_once()

    payload = json.loads(report.to_json())
    assert payload["findings"][0]["deviation_pct"] == "50"
    assert payload["findings"][0]["status"] == "alerted"
    out = io.StringIO()
    render_report(report, Console(file=out, width=160, color_system=None))
    text = out.getvalue()
    assert "1 discrepancies" in text and "SizeMismatch" in text and "0.05" in text


def test_close_all_splits_at_the_max_market_qty() -> None:
    rules = InstrumentRules(Venue.BYBIT, "BTCUSDT", D("0.001"), D("0.1"), D("0.01"), D(1000), D(500), D(5), D(100))
    assert split_close(D("0.5"), rules) == [D("0.5")]
    assert split_close(D(1200), rules) == [D(500), D(500), D(200)]
    # a last part under the minimum quantity borrows from the one before it
    assert split_close(D("1000.005"), rules) == [D(500), D("499.995"), D("0.01")]
    assert sum(split_close(D("1000.005"), rules)) == D("1000.005")


async def test_run_forever_keeps_its_interval_and_survives_a_failed_pass(store: SqliteStore) -> None:
    put_master(store, "1")
    audit = service(store, FakeClient(), [], interval_s=60.0)
    passes: list[str] = []
    real_run_once = audit.run_once

    async def flaky_run_once():  # the first pass blows up (a store failure, say); the loop must go on
        if not passes:
            passes.append("failed")
            raise RuntimeError("database is locked")
        passes.append("ran")
        return await real_run_once()

    audit.run_once = flaky_run_once  # type: ignore[method-assign]
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 3:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        await audit.run_forever(sleep=sleep)
    assert passes == ["failed", "ran", "ran"]
    assert sleeps == [60.0, 60.0, 60.0]
