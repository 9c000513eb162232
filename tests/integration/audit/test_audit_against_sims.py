"""AuditService against the real simulators through the real adapters: each discrepancy produced for real (a
position closed behind the engine's back, one opened by hand, a size changed), the grace period, the 1 pp
re-alert rule, resolved notices, netting, and heal mode calling back with the right leg."""

from __future__ import annotations

from decimal import Decimal

import pytest

from runtime.domain.audit import AlertAction, DiscrepancyKind
from runtime.domain.values import PositionIdx, PositionMode, Side, Venue
from runtime.services.alerts.model import Severity
from runtime.services.audit_legs import SkipReason
from tests.integration.audit.conftest import MINUTE, VENUE_SYMBOL, Desk, Follower

pytestmark = pytest.mark.asyncio(loop_scope="module")

D = Decimal
VENUES = [Venue.BYBIT, Venue.BINANCE, Venue.HYPERLIQUID]


async def in_line(desk: Desk, venue: Venue, *, master: str = "1", k: str = "0.1") -> Follower:
    """A one-way follower holding exactly master x k of BTC, as the engine would have left it."""
    follower = await desk.follower(venue)
    desk.ratio(follower, desk.master(master), k)
    await follower.trade(Side.BUY, str(D(master) * D(k)))
    return follower


@pytest.mark.parametrize("venue", VENUES)
async def test_a_follower_in_line_has_no_findings(desk: Desk, venue: Venue) -> None:
    await in_line(desk, venue)
    report = await desk.service().run_once()
    assert report.findings == ()
    assert report.legs_checked == 1
    assert desk.alerts == []


@pytest.mark.parametrize("venue", VENUES)
async def test_position_closed_behind_the_engines_back_is_missing(desk: Desk, venue: Venue) -> None:
    follower = await in_line(desk, venue)
    symbol = VENUE_SYMBOL[venue]
    await desk.admin(venue, "/liquidate", {"account": follower.account, "symbol": symbol, "position_idx": 0})
    assert await follower.size() == 0

    report = await desk.service().run_once()

    (finding,) = report.findings
    assert finding.kind is DiscrepancyKind.MISSING_POSITION
    assert (finding.follower_id, finding.symbol, finding.follower_symbol) == (follower.id, "BTCUSDT", symbol)
    assert finding.expected == D("0.1") and finding.actual == 0 and finding.deviation_pct == 100
    assert finding.status is AlertAction.ALERT
    (alert,) = desk.alerts
    assert alert.severity is Severity.CRITICAL and alert.kind == "MissingPosition"
    assert alert.follower_id == follower.id and alert.symbol == "BTCUSDT"
    assert alert.text == f"{symbol} on {venue.value}: expected 0.1, follower is flat"
    state = desk.store.get_alert(f"audit:{follower.id}:BTCUSDT:0")
    assert state is not None and state.kind == "MissingPosition"


@pytest.mark.parametrize("venue", VENUES)
async def test_position_opened_by_hand_on_a_flat_master_is_extra(desk: Desk, venue: Venue) -> None:
    follower = await in_line(desk, venue)
    desk.master("0")  # the master closed; the follower closed with it
    await follower.trade(Side.SELL, "0.1")
    await follower.trade(Side.SELL, "0.05")  # ... and then someone opened a short by hand

    report = await desk.service().run_once()

    (finding,) = report.findings
    assert finding.kind is DiscrepancyKind.EXTRA_POSITION
    assert finding.expected == 0 and finding.actual == D("-0.05")
    assert desk.alerts[0].severity is Severity.CRITICAL


@pytest.mark.parametrize("venue", VENUES)
async def test_size_changed_by_hand_is_a_mismatch(desk: Desk, venue: Venue) -> None:
    follower = await in_line(desk, venue)
    await follower.trade(Side.SELL, "0.02")  # 0.08 left of 0.1: 20% off

    report = await desk.service().run_once()

    (finding,) = report.findings
    assert finding.kind is DiscrepancyKind.SIZE_MISMATCH
    assert finding.deviation_pct == D(20) and finding.actual == D("0.08")
    assert desk.alerts[0].severity is Severity.WARNING


async def test_an_extra_position_on_a_symbol_the_master_never_traded(desk: Desk) -> None:
    follower = await in_line(desk, Venue.HYPERLIQUID)
    await follower.trade(Side.BUY, "0.01", "ETH")
    report = await desk.service().run_once()
    (finding,) = report.findings
    assert finding.kind is DiscrepancyKind.EXTRA_POSITION
    assert (finding.symbol, finding.follower_symbol, finding.actual) == ("ETHUSDT", "ETH", D("0.01"))

    # Closed again by hand: no comparison shows that symbol any more, and the alert still resolves.
    await follower.trade(Side.SELL, "0.01", "ETH")
    desk.clock.advance(MINUTE)
    report = await desk.service().run_once()
    (resolved,) = report.findings
    assert resolved.status is AlertAction.RESOLVE and resolved.kind is DiscrepancyKind.EXTRA_POSITION
    assert desk.alerts[-1].severity is Severity.INFO
    assert desk.store.list_alerts() == []


async def test_grace_period_holds_a_leg_the_master_just_moved(desk: Desk) -> None:
    follower = await desk.follower(Venue.BYBIT)
    desk.ratio(follower, desk.master("1", ago_ms=10_000), "0.1")  # the master opened 10 s ago; no copy yet

    report = await desk.service().run_once()
    assert report.findings == ()
    assert [(s.reason, s.symbol) for s in report.skipped] == [(SkipReason.IN_GRACE, "BTCUSDT")]
    assert desk.alerts == [] and desk.store.list_alerts() == []

    desk.clock.advance(50_000)  # 60 s since the master's move: judged now
    report = await desk.service().run_once()
    assert [f.kind for f in report.findings] == [DiscrepancyKind.MISSING_POSITION]


async def test_a_drifting_mismatch_realerts_after_one_point_and_a_steady_one_never_repeats(desk: Desk) -> None:
    follower = await in_line(desk, Venue.BYBIT, master="10")  # expected 1 BTC
    service = desk.service()
    await follower.trade(Side.SELL, "0.1")  # 0.9: 10% off
    assert [f.status for f in (await service.run_once()).findings] == [AlertAction.ALERT]

    for _ in range(3):  # steady: never repeats
        desk.clock.advance(MINUTE)
        assert [f.status for f in (await service.run_once()).findings] == [AlertAction.SUPPRESS]
    await follower.trade(Side.SELL, "0.005")  # 0.895: 10.5%, only 0.5 pp since the alert
    desk.clock.advance(MINUTE)
    assert [f.status for f in (await service.run_once()).findings] == [AlertAction.SUPPRESS]
    await follower.trade(Side.SELL, "0.005")  # 0.89: 11%, 1 pp since the alert
    desk.clock.advance(MINUTE)
    (finding,) = (await service.run_once()).findings
    assert finding.status is AlertAction.REALERT and finding.deviation_pct == 11

    assert [a.kind for a in desk.alerts] == ["SizeMismatch", "SizeMismatch"]
    state = desk.store.get_alert(f"audit:{follower.id}:BTCUSDT:0")
    assert state is not None and state.last_alerted_deviation_pct == 11


async def test_resolved_notice_when_the_follower_is_back_in_line(desk: Desk) -> None:
    follower = await in_line(desk, Venue.BINANCE)
    await desk.admin(Venue.BINANCE, "/liquidate", {"account": follower.account, "symbol": "BTCUSDT"})
    service = desk.service()
    await service.run_once()
    await follower.trade(Side.BUY, "0.1")
    desk.clock.advance(MINUTE)

    report = await service.run_once()

    (finding,) = report.findings
    assert finding.status is AlertAction.RESOLVE and finding.kind is DiscrepancyKind.MISSING_POSITION
    assert [(a.kind, a.severity) for a in desk.alerts] == [
        ("MissingPosition", Severity.CRITICAL),
        ("MissingPositionResolved", Severity.INFO),
    ]
    assert desk.alerts[0].key == desk.alerts[1].key
    assert desk.store.list_alerts() == []
    desk.clock.advance(MINUTE)
    assert (await service.run_once()).findings == ()  # resolved once, then quiet


async def test_heal_mode_hands_the_leg_to_the_executor_and_the_fix_resolves(desk: Desk) -> None:
    follower = await in_line(desk, Venue.HYPERLIQUID)
    await follower.trade(Side.SELL, "0.04")  # 40% off
    service = desk.service(heal=True)

    report = await service.run_once()

    assert report.findings[0].heal_requested
    assert desk.heals == [(follower.id, "BTCUSDT", PositionIdx.ONE_WAY, f"audit-{desk.clock.now_ms}")]
    # What the executor's HEAL job would do: trade the difference. The next pass resolves.
    await follower.trade(Side.BUY, "0.04")
    desk.clock.advance(MINUTE)
    report = await service.run_once()
    assert [f.status for f in report.findings] == [AlertAction.RESOLVE]
    assert len(desk.heals) == 1  # nothing left to heal


async def test_heal_is_off_by_default(desk: Desk) -> None:
    follower = await in_line(desk, Venue.BYBIT)
    await follower.trade(Side.SELL, "0.1")
    report = await desk.service().run_once()
    assert not report.findings[0].heal_requested and desk.heals == []


async def test_one_way_follower_of_a_hedge_master_is_compared_on_the_net(desk: Desk) -> None:
    follower = await desk.follower(Venue.HYPERLIQUID)
    desk.ratio(follower, desk.master("1", idx=PositionIdx.HEDGE_LONG), "0.1")
    desk.ratio(follower, desk.master("-0.4", idx=PositionIdx.HEDGE_SHORT), "0.1")
    await follower.trade(Side.BUY, "0.06")  # net 0.1 - 0.04
    service = desk.service(heal=True)
    assert (await service.run_once()).findings == ()

    await follower.trade(Side.BUY, "0.04")  # now 0.1: the short leg's part is missing
    desk.clock.advance(MINUTE)
    (finding,) = (await service.run_once()).findings
    assert finding.kind is DiscrepancyKind.SIZE_MISMATCH and finding.expected == D("0.06")
    assert finding.position_idx is PositionIdx.ONE_WAY
    assert desk.heals[0][2] is PositionIdx.HEDGE_LONG  # a real master leg; the executor nets both


async def test_hedge_follower_of_a_hedge_master_is_compared_leg_by_leg(desk: Desk) -> None:
    follower = await desk.follower(Venue.BINANCE, mode=PositionMode.HEDGE)
    desk.ratio(follower, desk.master("1", idx=PositionIdx.HEDGE_LONG), "0.1")
    desk.ratio(follower, desk.master("-0.5", idx=PositionIdx.HEDGE_SHORT, lifecycle="short-1"), "0.1")
    await follower.trade(Side.BUY, "0.1", idx=PositionIdx.HEDGE_LONG)  # the short leg never copied

    report = await desk.service(heal=True).run_once()

    (finding,) = report.findings
    assert finding.kind is DiscrepancyKind.MISSING_POSITION
    assert finding.position_idx is PositionIdx.HEDGE_SHORT and finding.expected == D("-0.05")
    assert report.legs_checked == 2
    assert desk.heals[0][1:3] == ("BTCUSDT", PositionIdx.HEDGE_SHORT)


async def test_k_not_stored_yet_is_sized_from_live_equity(desk: Desk) -> None:
    follower = await desk.follower(Venue.BYBIT)  # equity 100000, margin_pct 0.1, master open IM 6000
    desk.master("0.12")
    (finding,) = (await desk.service().run_once()).findings
    assert finding.kind is DiscrepancyKind.MISSING_POSITION
    assert finding.expected == D("0.12") * D(100000) * D("0.1") / D(6000)  # k = 1.666...: expected 0.2
    assert desk.store.get_ratio(follower.id, "BTCUSDT:0:1") is None  # the audit never fixes k itself


async def test_paused_and_denied_are_not_audited(desk: Desk) -> None:
    paused = await in_line(desk, Venue.BYBIT)
    await paused.trade(Side.SELL, "0.1")
    desk.store.set_follower_paused(paused.id, True)
    denied = await desk.follower(Venue.BINANCE, symbols_deny=["BTCUSDT"])

    report = await desk.service().run_once()

    assert report.findings == ()
    reasons = {(s.follower_id, s.reason) for s in report.skipped}
    assert reasons == {(paused.id, SkipReason.PAUSED), (denied.id, SkipReason.NOT_COPIED)}


async def test_dry_run_reports_without_writing_or_telling_anyone(desk: Desk) -> None:
    follower = await in_line(desk, Venue.BYBIT)
    await follower.trade(Side.SELL, "0.1")
    report = await desk.service(dry_run=True, heal=True).run_once()
    assert [f.status for f in report.findings] == [AlertAction.ALERT]
    assert report.dry_run
    assert desk.alerts == [] and desk.heals == [] and desk.store.list_alerts() == []
    payload = report.to_dict()
    assert payload["discrepancies"] == 1
    assert payload["findings"][0]["expected"] == "0.1" and payload["findings"][0]["kind"] == "MissingPosition"
