"""Start-up recovery (design step 9): resolve the claims a previous run left unfinished.

A claim still CLAIMED means the process stopped between claiming an id and recording the venue's answer, so the
order may or may not be at the venue. Each one is looked up by client id: found -> finished RECONCILED (with the
venue's order id and fill); never seen -> finished FAILED ("the process stopped before the order reached the venue").
A claim whose look-up fails, or whose follower is no longer configured, stays unfinished and is reported. The host
then enqueues a SYNC job for every follower x master leg: being level-triggered, a follower already on target
places nothing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass

from runtime.domain.values import ZERO
from runtime.ports.exchange import OrderReport
from runtime.ports.store import ClaimRecord, ClaimStatus, StateStore
from runtime.services.execution_log import LogScope, OrderLogWriter
from runtime.services.follower_context import FollowerContext
from runtime.services.jobs import HopTimes, OrderRecord, OrderStatus

log = logging.getLogger(__name__)

STOPPED_BEFORE_VENUE = "the process stopped before the order reached the venue (not found there by client id)"


@dataclass(frozen=True)
class RecoveredClaim:
    """What recovery did with one unfinished claim; ``status`` None = still unresolved (see ``message``)."""

    claim_id: str
    follower_id: str
    status: ClaimStatus | None
    message: str = ""
    venue_order_id: str = ""


@dataclass(frozen=True)
class RecoveryReport:
    claims: tuple[RecoveredClaim, ...] = ()

    def _with(self, status: ClaimStatus | None) -> tuple[RecoveredClaim, ...]:
        return tuple(claim for claim in self.claims if claim.status is status)

    @property
    def reconciled(self) -> tuple[RecoveredClaim, ...]:
        return self._with(ClaimStatus.RECONCILED)

    @property
    def failed(self) -> tuple[RecoveredClaim, ...]:
        return self._with(ClaimStatus.FAILED)

    @property
    def unresolved(self) -> tuple[RecoveredClaim, ...]:
        return self._with(None)


def _record(claim: ClaimRecord, status: OrderStatus, message: str, report: OrderReport | None) -> OrderRecord:
    return OrderRecord(
        client_order_id=claim.claim_id,
        side=claim.side,
        qty=claim.qty,
        reduce_only=claim.reduce_only,
        status=status,
        venue_symbol=claim.symbol,
        position_idx=claim.position_idx,
        requested_qty=claim.qty,
        venue_order_id=report.venue_order_id if report is not None else "",
        filled_qty=report.filled_qty if report is not None else ZERO,
        avg_price=report.avg_price if report is not None else ZERO,
        message=message,
    )


async def _resolve(
    store: StateStore, ctx: FollowerContext | None, claim: ClaimRecord, order_log: OrderLogWriter
) -> RecoveredClaim:
    if ctx is None:
        message = (
            f"follower {claim.follower_id} is not in the config any more; claim {claim.claim_id} on {claim.symbol} "
            "stays unfinished: check that venue by hand for this client order id"
        )
        return RecoveredClaim(claim.claim_id, claim.follower_id, None, message)
    try:
        report = await ctx.client.get_order(claim.symbol, claim.claim_id)
    except Exception as exc:  # the claim stays unfinished; the next start (or a job reaching it) looks again
        message = f"look-up of client id {claim.claim_id} on {ctx.venue.value} failed: {exc}; it stays unfinished"
        log.warning("%s", message)
        return RecoveredClaim(claim.claim_id, claim.follower_id, None, message)
    scope = LogScope(claim.follower_id, ctx.venue, claim.symbol, claim.seq, claim.lifecycle_id)
    if report is None:
        store.finish_claim(claim.claim_id, ClaimStatus.FAILED, {"message": STOPPED_BEFORE_VENUE})
        order_log.order(scope, _record(claim, OrderStatus.FAILED, STOPPED_BEFORE_VENUE, None), HopTimes())
        return RecoveredClaim(claim.claim_id, claim.follower_id, ClaimStatus.FAILED, STOPPED_BEFORE_VENUE)
    message = "found at the venue by client id at start-up (the previous run stopped before recording it)"
    store.finish_claim(
        claim.claim_id,
        ClaimStatus.RECONCILED,
        {"venue_order_id": report.venue_order_id, "state": report.state.value, "message": message},
    )
    order_log.order(scope, _record(claim, OrderStatus.RECONCILED, message, report), HopTimes())
    return RecoveredClaim(claim.claim_id, claim.follower_id, ClaimStatus.RECONCILED, message, report.venue_order_id)


async def recover_unfinished_claims(
    store: StateStore,
    followers: Mapping[str, FollowerContext],
    order_log: OrderLogWriter,
    *,
    older_than_ms: int | None = None,
) -> RecoveryReport:
    """Resolve every unfinished claim (those created at least ``older_than_ms`` ago, if given), concurrently."""
    claims = store.unfinished_claims(older_than_ms)
    if not claims:
        return RecoveryReport()
    resolved = await asyncio.gather(
        *(_resolve(store, followers.get(claim.follower_id), claim, order_log) for claim in claims)
    )
    report = RecoveryReport(tuple(resolved))
    log.info(
        "recovery: %d unfinished claims: %d reconciled, %d failed, %d unresolved",
        len(claims),
        len(report.reconciled),
        len(report.failed),
        len(report.unresolved),
    )
    return report
