"""The executor against each venue's simulator through that venue's real adapter, over real HTTP.

A venue's module subclasses ``ExecutorSuite`` and provides the module-scoped ``harness`` fixture. Every count of
orders is read back from the simulator's admin API: "exactly one order" means one order at the venue.

Numbers (every venue): BTC marked at 50000, the master's open IM 1000; a follower with ``fixed_margin`` 500 has
k = 0.5, so master 0.1 BTC -> follower 0.05 BTC.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest

from runtime.adapters.sqlite_store import SqliteStore
from runtime.domain.symbols import SymbolMap
from runtime.domain.values import PositionIdx, PositionMode, Side
from runtime.ports.exchange import ExchangeClient, OrderReport, OrderRequest
from runtime.ports.store import ClaimStatus
from runtime.services.executor import FollowerExecutor
from runtime.services.follower_context import FollowerContext
from runtime.services.jobs import JobOutcome, JobReason, OrderStatus, SkipReason
from tests.integration.adapters.harness import ClientTuning, SimAccount, VenueHarness
from tests.unit.services.kit import MASTER, MasterScript, follower_config, job

D = Decimal
BTC_MARK = D("50000")
TIGHT_TIMEOUT_S = 0.25  # the adapter gives up on an answer after this...
LATE_ANSWER_S = D("0.6")  # ... and the simulator answers after this
DEFAULT_TUNING = ClientTuning()


class SimulatedCrash(BaseException):
    """The process dies right after the venue took the order, before anything was recorded."""


class CrashAfterPlacing:
    """The real client, except that the process "dies" once an order call has returned."""

    def __init__(self, inner: ExchangeClient) -> None:
        self._inner = inner
        self.venue = inner.venue

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def place_market_order(self, order: OrderRequest) -> OrderReport:
        await self._inner.place_market_order(order)
        raise SimulatedCrash


class Follower:
    """One follower account on the simulator with its executor context."""

    def __init__(self, venue: VenueHarness, account: SimAccount, ctx: FollowerContext) -> None:
        self.venue, self.account, self.ctx = venue, account, ctx

    async def positions(self) -> dict[int, Decimal]:
        state = await self.venue.account_state(self.account)
        return {int(p["position_idx"]): D(p["signed_size"]) for p in state["positions"] if D(p["size"]) != 0}

    async def orders(self) -> list[dict[str, Any]]:
        state = await self.venue.account_state(self.account)
        return list(state["orders"])


class ExecutorSuite:
    pytestmark = pytest.mark.asyncio(loop_scope="module")

    # ----- helpers ---------------------------------------------------------------------------------------------

    async def _follower(
        self,
        venue: VenueHarness,
        follower_id: str = "f",
        *,
        margin_usdt: str = "500",
        balance: str = "100000",
        mode: PositionMode = PositionMode.ONE_WAY,
        tuning: ClientTuning = DEFAULT_TUNING,
    ) -> Follower:
        account = await venue.create_account(balance=D(balance), mode=mode)
        config = follower_config(
            follower_id, venue=venue.venue, mode="fixed_margin", value=margin_usdt, position_mode=mode
        )
        return Follower(venue, account, FollowerContext(config, venue.client(account, tuning)))

    @staticmethod
    def _executor(store: SqliteStore, *followers: Follower) -> FollowerExecutor:
        return FollowerExecutor(store, [f.ctx for f in followers], master_id=MASTER, symbol_map=SymbolMap())

    @staticmethod
    async def _run(executor: FollowerExecutor, master: MasterScript, follower_id: str = "f", **kw: Any) -> JobOutcome:
        return await executor.execute(job(follower_id, kw.pop("seq", master.last_seq), **kw))

    async def _btc(self, venue: VenueHarness) -> str:
        symbol = venue.symbol("BTC")
        await venue.set_mark(symbol, BTC_MARK)
        return symbol

    # ----- sizing, end to end ----------------------------------------------------------------------------------

    async def test_a_lifecycle_open_increase_partial_close_full_close(
        self, venue: VenueHarness, store: SqliteStore
    ) -> None:
        await self._btc(venue)
        follower = await self._follower(venue)
        executor, master = self._executor(store, follower), MasterScript(store)

        master.move("0.1", im="1000")
        opened = await self._run(executor, master)
        assert opened.k == D("0.5") and await follower.positions() == {0: D("0.05")}
        master.move("0.3")
        await self._run(executor, master)
        assert await follower.positions() == {0: D("0.15")}
        master.move("0.14")
        partial = await self._run(executor, master)
        assert [(o.side, o.qty, o.reduce_only) for o in partial.orders] == [(Side.SELL, D("0.08"), True)]
        assert await follower.positions() == {0: D("0.07")}
        master.move("0")
        await self._run(executor, master)
        assert await follower.positions() == {}
        assert len(await follower.orders()) == 4

    async def test_the_same_master_seq_twice_and_at_once_is_one_order(
        self, venue: VenueHarness, store: SqliteStore
    ) -> None:
        await self._btc(venue)
        follower = await self._follower(venue)
        executor, master = self._executor(store, follower), MasterScript(store)
        master.move("0.1", im="1000")
        await asyncio.gather(self._run(executor, master), self._run(executor, master))
        await self._run(executor, master)
        assert len(await follower.orders()) == 1
        assert await follower.positions() == {0: D("0.05")}

    # ----- minimums, leverage, margin --------------------------------------------------------------------------

    async def test_below_min_notional_is_refused_and_leaves_no_residue(
        self, venue: VenueHarness, store: SqliteStore
    ) -> None:
        doge = venue.symbol("DOGE")
        await venue.set_mark(doge, D("0.15"))
        follower = await self._follower(venue)
        executor, master = self._executor(store, follower), MasterScript(store)

        master.move("20", im="1000", symbol="DOGEUSDT", price="0.15")  # k 0.5 -> 10 DOGE = $1.50
        refused = await self._run(executor, master, symbol="DOGEUSDT")
        assert [(o.status, o.reason_code) for o in refused.orders] == [(OrderStatus.REFUSED, "below_min_notional")]
        master.move("0", symbol="DOGEUSDT", price="0.15")
        assert (await self._run(executor, master, symbol="DOGEUSDT")).skip_reason is SkipReason.FLAT

        master.move("200", im="1000", symbol="DOGEUSDT", price="0.15")  # 100 DOGE = $15: placed
        await self._run(executor, master, symbol="DOGEUSDT")
        master.move("10", symbol="DOGEUSDT", price="0.15")  # down to 5 DOGE ($0.75)
        await self._run(executor, master, symbol="DOGEUSDT")
        assert await follower.positions() == {0: D("5")}
        master.move("0", symbol="DOGEUSDT", price="0.15")  # the close is reduce-only: exempt, and nothing is left
        await self._run(executor, master, symbol="DOGEUSDT")
        assert await follower.positions() == {}
        assert len(await follower.orders()) == 3

    async def test_a_leverage_the_venue_refuses_blocks_opens_and_lets_closes_through(
        self, venue: VenueHarness, store: SqliteStore
    ) -> None:
        symbol = await self._btc(venue)
        follower = await self._follower(venue)
        executor, master = self._executor(store, follower), MasterScript(store)
        master.move("0.1", im="1000")
        await self._run(executor, master)
        # Stale rules claim 1000x is allowed; the master goes to 150x, which no simulated venue accepts.
        rules = follower.ctx.rules_cache[symbol]
        follower.ctx.rules_cache[symbol] = replace(rules, max_leverage=D(1000))

        master.move("0.3", leverage=D(150))
        blocked = await self._run(executor, master)
        assert blocked.leverage_blocked
        assert [(o.status, o.reason_code) for o in blocked.orders] == [(OrderStatus.REFUSED, "leverage_sync_failed")]
        master.move("0.04", leverage=D(150))
        closing = await self._run(executor, master)
        assert closing.leverage_blocked
        assert [(o.status, o.qty, o.reduce_only) for o in closing.orders] == [(OrderStatus.PLACED, D("0.03"), True)]
        assert await follower.positions() == {0: D("0.02")}

    async def test_insufficient_margin_places_the_smart_reduced_order(
        self, venue: VenueHarness, store: SqliteStore
    ) -> None:
        await self._btc(venue)
        # k = 2000 / 1000 = 2: 0.15 -> 0.3 BTC, IM 1500 at 10x > the 1000 the account has: the venue refuses.
        # Smart reduction: 1000 x 10 x 0.98 / 50000 = 0.196 BTC.
        follower = await self._follower(venue, margin_usdt="2000", balance="1000")
        executor, master = self._executor(store, follower), MasterScript(store)
        master.move("0.15", im="1000")
        outcome = await self._run(executor, master)
        assert [(o.status, o.qty, o.error_kind) for o in outcome.orders] == [
            (OrderStatus.REFUSED, D("0.3"), "insufficient_margin"),
            (OrderStatus.PLACED, D("0.196"), ""),
        ]
        assert outcome.orders[1].shortfall == D("0.104")
        assert await follower.positions() == {0: D("0.196")}

    # ----- exactly once across failures ------------------------------------------------------------------------

    async def test_a_crash_between_the_call_and_the_record_is_one_order_after_recovery_and_sync(
        self, venue: VenueHarness, store: SqliteStore
    ) -> None:
        await self._btc(venue)
        follower = await self._follower(venue)
        real_client = follower.ctx.client
        follower.ctx.client = CrashAfterPlacing(real_client)
        master = MasterScript(store)
        master.move("0.1", im="1000")
        with pytest.raises(SimulatedCrash):
            await self._run(self._executor(store, follower), master)
        (claim,) = store.unfinished_claims()

        follower.ctx = FollowerContext(follower.ctx.config, real_client)  # the restarted process
        restarted = self._executor(store, follower)
        report = await restarted.recover()
        assert [c.claim_id for c in report.reconciled] == [claim.claim_id]
        assert store.get_claim(claim.claim_id).status is ClaimStatus.RECONCILED  # type: ignore[union-attr]
        synced = await self._run(restarted, master, reason=JobReason.SYNC, sync_round="startup")
        assert synced.skip_reason is SkipReason.ON_TARGET
        orders = await follower.orders()
        assert [o["client_id"] for o in orders] == [claim.claim_id]

    async def test_an_answer_lost_to_latency_is_one_order(self, venue: VenueHarness, store: SqliteStore) -> None:
        await self._btc(venue)
        follower = await self._follower(venue, tuning=ClientTuning(timeout_s=TIGHT_TIMEOUT_S))
        executor, master = self._executor(store, follower), MasterScript(store)
        master.move("0.1", im="1000")
        await self._run(executor, master)  # leverage and rules are cached from here on

        await venue.set_latency("order", LATE_ANSWER_S)
        master.move("0.2")
        outcome = await self._run(executor, master)
        (order,) = outcome.orders
        assert order.status in (OrderStatus.PLACED, OrderStatus.RECONCILED)
        assert order.acked_at - order.sent_at < float(LATE_ANSWER_S)  # the answer was lost, the look-up found it
        assert len(await venue.orders_with_client_id(follower.account, order.client_order_id)) == 1
        await venue.set_latency("order", None)
        assert (await self._run(executor, master)).skip_reason is SkipReason.ON_TARGET
        assert len(await follower.orders()) == 2
        assert await follower.positions() == {0: D("0.1")}

    # ----- hedge-mode master -----------------------------------------------------------------------------------

    async def test_hedge_master_mirrored_on_hedge_followers_and_netted_on_one_way(
        self, venue: VenueHarness, store: SqliteStore
    ) -> None:
        await self._btc(venue)
        one_way = await self._follower(venue, "oneway")
        followers = [one_way]
        if venue.supports_hedge:
            followers.append(await self._follower(venue, "hedge", mode=PositionMode.HEDGE))
        executor, master = self._executor(store, *followers), MasterScript(store)

        long_leg, short_leg = PositionIdx.HEDGE_LONG, PositionIdx.HEDGE_SHORT
        for size, leg in (("0.2", long_leg), ("-0.1", short_leg)):  # k 0.5 on each leg
            seq = master.move(size, im="1000", idx=leg)
            for follower in followers:
                await self._run(executor, master, follower.ctx.follower_id, seq=seq, idx=leg)
        assert await one_way.positions() == {0: D("0.05")}  # 0.1 - 0.05
        if venue.supports_hedge:
            assert await followers[1].positions() == {1: D("0.1"), 2: D("-0.05")}

        seq = master.move("0", idx=long_leg)  # the net flips short
        for follower in followers:
            await self._run(executor, master, follower.ctx.follower_id, seq=seq, idx=long_leg)
        assert await one_way.positions() == {0: D("-0.05")}
        if venue.supports_hedge:
            assert await followers[1].positions() == {2: D("-0.05")}
