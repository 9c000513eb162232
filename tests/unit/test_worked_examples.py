"""Worked examples with hand-computed numbers: each sizing mode on each venue's real rules, a flip with a fresh k,
hedge netting, a split, and a follower too small for the minimum notional.

Each step is written out in the comments: k, the ideal target, the rounding, the order, and where the follower ends.
A perfect venue applies every shaped order exactly.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from runtime.domain.events import Lifecycle
from runtime.domain.instruments import InstrumentRules
from runtime.domain.planning import OrderPhase, plan_orders
from runtime.domain.refusals import Refusal, RefusalReason
from runtime.domain.shaping import ShapedOrder, shape_order
from runtime.domain.sizing import EquityRatio, FixedMargin, LegTarget, MarginRatio, copy_ratio, ideal_target, net_target
from runtime.domain.values import ZERO, Side, Venue

D = Decimal
MARK = D(60000)

# Bybit v5 instruments-info for BTCUSDT: qtyStep = minOrderQty = 0.001, minNotionalValue 5, maxMktOrderQty 119,
# maxOrderQty 1190. Reduce-only exemption from the notional minimum: the engine's default (UNCONFIRMED for Bybit).
BYBIT_BTC = InstrumentRules(
    venue=Venue.BYBIT,
    symbol="BTCUSDT",
    qty_step=D("0.001"),
    tick_size=D("0.1"),
    min_qty=D("0.001"),
    max_qty=D(1190),
    max_market_qty=D(119),
    min_notional=D(5),
    max_leverage=D(100),
)
# Binance USD-M BTCUSDT: LOT_SIZE step/min 0.001, MARKET_LOT_SIZE max 120, MIN_NOTIONAL 100; -4164 says
# "unless you choose reduce only", so reduce-only orders are exempt from the notional minimum.
BINANCE_BTC = InstrumentRules(
    venue=Venue.BINANCE,
    symbol="BTCUSDT",
    qty_step=D("0.001"),
    tick_size=D("0.1"),
    min_qty=D("0.001"),
    max_qty=D(1000),
    max_market_qty=D(120),
    min_notional=D(100),
    max_leverage=D(125),
    reduce_only_exempt_min_notional=True,
)
# Hyperliquid BTC: szDecimals 5 -> step 0.00001, no minimum quantity beyond one step, minimum order value $10, no
# per-order maximum (a large figure stands in). Reduce-only closes below $10: treated as exempt (UNCONFIRMED).
HYPERLIQUID_BTC = InstrumentRules(
    venue=Venue.HYPERLIQUID,
    symbol="BTC",
    qty_step=D("0.00001"),
    tick_size=D(1),
    min_qty=D("0.00001"),
    max_qty=D(1_000_000),
    max_market_qty=D(1_000_000),
    min_notional=D(10),
    max_leverage=D(40),
    reduce_only_exempt_min_notional=True,
)


@dataclass
class Follower:
    """A follower on a perfect venue: every shaped order fills exactly."""

    rules: InstrumentRules
    position: Decimal = ZERO
    sent: list[ShapedOrder] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)

    def copy(self, ideal: Decimal, mark: Decimal = MARK) -> None:
        for intent in plan_orders(ideal, self.position, self.rules).intents:
            result = shape_order(intent, self.rules, mark)
            if isinstance(result, Refusal):
                self.refused.append(result)
                if intent.phase is OrderPhase.CLOSE:
                    return  # a flip never opens the new side while the old one is still held
                continue
            self.sent.append(result)
            self.position += result.signed_qty


def life(open_im: str, open_equity: str = "30000", seq: int = 1) -> Lifecycle:
    return Lifecycle(id=f"BTCUSDT:0:{seq}", open_im=D(open_im), open_equity=D(open_equity), opened_seq=seq)


def test_margin_ratio_on_bybit_open_increase_partial_close_full_close() -> None:
    # Master opens 0.5 BTC at $60,000 and 10x: confirmed IM = 0.5 x 60000 / 10 = $3,000.
    # Follower equity $2,000, margin_pct 0.25: k = 2000 x 0.25 / 3000 = 0.1666...
    k = copy_ratio(MarginRatio(D("0.25")), D(2000), life("3000"))
    assert D("0.16666") < k < D("0.16667")
    f = Follower(BYBIT_BTC)

    # Open: ideal = 0.5 x k = 0.08333... -> growth rounds toward zero -> buy 0.083 ($4,980 >= $5 minimum).
    f.copy(ideal_target(D("0.5"), k))
    assert f.position == D("0.083") and f.sent[-1].qty == D("0.083") and not f.sent[-1].reduce_only

    # Increase to 0.8: ideal = 0.1333... ; order = floor(0.1333 - 0.083) = floor(0.0503) = buy 0.050 -> 0.133.
    f.copy(ideal_target(D("0.8"), k))
    assert f.position == D("0.133") and f.sent[-1].qty == D("0.050")

    # Partial close to 0.3: ideal = 0.05 (a hair above in 28 digits); reduction = ceil(0.133 - 0.05) = 0.083,
    # reduce-only sell -> 0.050, never above the ideal.
    f.copy(ideal_target(D("0.3"), k))
    assert f.position == D("0.050")
    assert f.sent[-1].side is Side.SELL and f.sent[-1].qty == D("0.083") and f.sent[-1].reduce_only

    # Full close: ideal 0 -> sell the whole 0.050 reduce-only. Exactly flat, no residue.
    f.copy(D(0))
    assert f.position == 0 and f.sent[-1].closes_position and not f.refused


def test_equity_ratio_on_binance_with_a_reduce_only_exemption_and_a_refused_increase() -> None:
    # Master equity at open $50,000; follower equity $8,000, multiplier 1: k = 8000 / 50000 = 0.16.
    k = copy_ratio(EquityRatio(D(1)), D(8000), life("6000", open_equity="50000"))
    assert k == D("0.16")
    f = Follower(BINANCE_BTC)

    # Open 1.2 BTC: ideal 0.192 -> buy 0.192 ($11,520).
    f.copy(ideal_target(D("1.2"), k))
    assert f.position == D("0.192")

    # Partial close to 1.145: ideal 0.1832; reduction ceil(0.192 - 0.1832 = 0.0088) = 0.009 -> 0.183.
    # Then to 1.14: ideal 0.1824; reduction ceil(0.0006) = 0.001 BTC = $60 < $100 minimum, but reduce-only is
    # exempt on Binance -> sent -> 0.182.
    f.copy(ideal_target(D("1.145"), k))
    assert f.position == D("0.183")
    f.copy(ideal_target(D("1.14"), k))
    assert f.position == D("0.182") and f.sent[-1].notional == D(60) and f.sent[-1].reduce_only

    # Increase to 1.15: ideal 0.184; growth floor(0.002) = 0.002 BTC = $120 -> sent -> 0.184.
    # Increase to 1.155: ideal 0.1848; growth floor(0.0008) = 0 -> nothing to send (within one step).
    f.copy(ideal_target(D("1.15"), k))
    f.copy(ideal_target(D("1.155"), k))
    assert f.position == D("0.184") and len(f.sent) == 4

    # Increase to 1.16: ideal 0.1856; growth floor(0.0016) = 0.001 BTC = $60 < $100 -> refused, honestly.
    f.copy(ideal_target(D("1.16"), k))
    assert f.position == D("0.184")
    assert f.refused[-1].reason is RefusalReason.BELOW_MIN_NOTIONAL and f.refused[-1].notional == D(60)

    # Increase to 1.5: ideal 0.24; growth = 0.24 - 0.184 = 0.056 ($3,360): the refused step is caught up, because
    # the order is always target minus the live position.
    f.copy(ideal_target(D("1.5"), k))
    assert f.position == D("0.240") and f.sent[-1].qty == D("0.056")


def test_fixed_margin_on_hyperliquid_with_a_flip_that_takes_a_fresh_k() -> None:
    # Master opens short 0.25 BTC at 10x: IM = 0.25 x 60000 / 10 = $1,500. Fixed margin $200: k = 200 / 1500 = 0.1333.
    k_short = copy_ratio(FixedMargin(D(200)), D(5000), life("1500"))
    f = Follower(HYPERLIQUID_BTC)

    # Ideal = -0.25 x 0.1333... = -0.033333... -> toward zero on 0.00001 -> sell 0.03333 ($1,999.80).
    f.copy(ideal_target(D("-0.25"), k_short))
    assert f.position == D("-0.03333") and f.sent[-1].side is Side.SELL

    # Flip to long 0.6 at 20x: a new lifecycle, IM = 0.6 x 60000 / 20 = $1,800, fresh k = 200 / 1800 = 0.1111.
    # Ideal = 0.6 x 0.1111... = 0.066666... (the old k would have said 0.08: the fresh k is what counts).
    k_long = copy_ratio(FixedMargin(D(200)), D(5000), life("1800", seq=2))
    f.copy(ideal_target(D("0.6"), k_long))
    close, opening = f.sent[-2], f.sent[-1]
    # First a reduce-only buy of the whole 0.03333 short, then a buy of 0.06666 (toward zero) for the new side.
    assert (close.side, close.qty, close.reduce_only, close.closes_position) == (Side.BUY, D("0.03333"), True, True)
    assert (opening.side, opening.qty, opening.reduce_only) == (Side.BUY, D("0.06666"), False)
    assert f.position == D("0.06666")

    # Full close: sell 0.06666 reduce-only; flat.
    f.copy(D(0))
    assert f.position == 0 and not f.refused


def test_a_follower_too_small_for_binance_min_notional_is_told_why() -> None:
    # Follower equity $100, margin_pct 0.10 -> $10 of margin against the master's $3,000 IM: k = 0.003333...
    # Master opens 0.5 BTC: ideal 0.0016666 -> 0.001 BTC = $60 < Binance's $100 minimum -> refused.
    k = copy_ratio(MarginRatio(D("0.10")), D(100), life("3000"))
    f = Follower(BINANCE_BTC)
    f.copy(ideal_target(D("0.5"), k))
    assert f.position == 0 and not f.sent
    assert f.refused[-1].message == (
        "Order to buy 0.001 BTC ($60) is below Binance's $100 minimum notional for BTCUSDT; the follower's capital "
        "is too small for this position; raise the follower's sizing (margin_pct, multiplier or margin_usdt) or its "
        "capital."
    )
    # The master closes: the follower is flat already, nothing to do, nothing left over.
    f.copy(D(0))
    assert f.position == 0 and not f.sent


def test_a_large_follower_on_bybit_is_split_under_the_market_order_maximum() -> None:
    # Master opens 100 BTC at 10x: IM $600,000. Follower equity $1,500,000 at margin_pct 1: k = 2.5 -> ideal 250 BTC.
    # Bybit's market orders max out at 119: 250 = 3 parts of 83.334 / 83.333 / 83.333 (as equal as the step allows).
    k = copy_ratio(MarginRatio(D(1)), D(1_500_000), life("600000"))
    f = Follower(BYBIT_BTC)
    f.copy(ideal_target(D(100), k))
    assert f.sent[-1].child_qtys == (D("83.334"), D("83.333"), D("83.333")) and f.position == D(250)
    # The close is split the same way and is reduce-only in every part; flat after.
    f.copy(D(0))
    assert f.sent[-1].reduce_only and len(f.sent[-1].child_qtys) == 3 and f.position == 0


def test_hedge_master_into_a_one_way_hyperliquid_follower_nets_the_legs() -> None:
    # Follower equity $3,000, margin_pct 0.2 ($600 of margin per position).
    # Long leg +1.0 BTC, IM $6,000: k_long = 600 / 6000 = 0.1 -> +0.1.
    # Short leg -0.3 BTC at 5x, IM $3,600: k_short = 600 / 3600 = 0.1666... -> -0.05.
    rule = MarginRatio(D("0.2"))
    k_long = copy_ratio(rule, D(3000), life("6000", seq=1))
    k_short = copy_ratio(rule, D(3000), life("3600", seq=2))
    f = Follower(HYPERLIQUID_BTC)

    # Net = 0.1 - 0.05 = +0.05 -> buy 0.05.
    f.copy(net_target([LegTarget(D("1.0"), k_long), LegTarget(D("-0.3"), k_short)]))
    assert f.position == D("0.05")

    # The long leg closes: net = -0.05 (a hair beyond) -> the one-way follower flips: reduce-only sell 0.05, then
    # sell 0.05 (toward zero). Each leg keeps its own k; only the sum is rounded.
    f.copy(net_target([LegTarget(D("-0.3"), k_short)]))
    assert f.position == D("-0.05") and f.sent[-2].reduce_only and not f.sent[-1].reduce_only

    # The short leg closes too: flat.
    f.copy(net_target([]))
    assert f.position == 0 and not f.refused
