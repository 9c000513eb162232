"""One rule violation per listed Bybit retCode, each seen through pybit as ``InvalidRequestError(status_code)``."""

from __future__ import annotations

from typing import Any

import pytest
from pybit.exceptions import InvalidRequestError

from tests.integration.sim_bybit.conftest import SimHost


def _refused(call: Any, **params: Any) -> InvalidRequestError:
    with pytest.raises(InvalidRequestError) as info:
        call(**params)
    return info.value


def _order(**overrides: Any) -> dict[str, Any]:
    return {"category": "linear", "symbol": "BTCUSDT", "side": "Buy", "orderType": "Market", "qty": "0.01", **overrides}


def test_order_rules(host: SimHost) -> None:
    acct = host.new_account(balance="100")
    session = acct.http()
    cases = [
        (10001, _order(qty="0.0015"), "qty"),  # not a multiple of the 0.001 step
        (10001, _order(qty="501"), "maximum"),  # above maxMktOrderQty 500
        (10001, _order(symbol="NOPEUSDT"), "symbol"),
        (10001, _order(positionIdx=1), "position idx not match position mode"),
        (110017, _order(qty="0.0001"), "truncated to zero"),  # below one step
        (110017, _order(side="Sell", reduceOnly=True), "reduce-only"),  # nothing to reduce
        (110094, _order(symbol="DOGEUSDT", qty="1"), "minimum order value"),  # 1 x 0.15 < 5 USDT
        (110007, _order(qty="0.1"), "not enough"),  # IM 600 > 100 available
    ]
    for code, params, words in cases:
        error = _refused(session.place_order, **params)
        assert (error.status_code, words.lower() in error.message.lower()) == (code, True), (params, error.message)
    assert acct.state()["orders"] == []


def test_hedge_mode_requires_a_leg_index(host: SimHost) -> None:
    session = host.new_account(mode="hedge").http()
    error = _refused(session.place_order, **_order())
    assert error.status_code == 10001
    assert "position idx not match position mode" in error.message


def test_mode_switch_rules(host: SimHost) -> None:
    session = host.new_account().http()
    error = _refused(session.switch_position_mode, category="linear", coin="USDT", mode=0)
    assert error.status_code == 110025
    session.place_order(**_order())
    error = _refused(session.switch_position_mode, category="linear", coin="USDT", mode=3)
    assert error.status_code == 110024


def test_leverage_rules(host: SimHost) -> None:
    acct = host.new_account(balance="1000")
    session = acct.http()
    error = _refused(session.set_leverage, category="linear", symbol="BTCUSDT", buyLeverage="10", sellLeverage="10")
    assert error.status_code == 110043  # 10 is already the default
    error = _refused(session.set_leverage, category="linear", symbol="BTCUSDT", buyLeverage="101", sellLeverage="101")
    assert error.status_code == 10001  # above maxLeverage 100
    session.place_order(**_order(qty="0.15"))  # IM 0.15 x 60000 / 10 = 900 of 1000
    error = _refused(session.set_leverage, category="linear", symbol="BTCUSDT", buyLeverage="5", sellLeverage="5")
    assert error.status_code == 110044  # IM would be 1800 > equity 1000
    assert acct.state()["leverage"] == {}


def test_cancel_unknown_order_is_110001(host: SimHost) -> None:
    session = host.new_account().http()
    error = _refused(session.cancel_order, category="linear", symbol="BTCUSDT", orderId="not-a-bybit-order-id")
    assert error.status_code == 110001


def test_malformed_requests_are_10001(host: SimHost) -> None:
    session = host.new_account().http()
    assert _refused(session.get_positions, category="linear").status_code == 10001  # neither symbol nor settleCoin
    assert _refused(session.get_wallet_balance, accountType="CONTRACT").status_code == 10001
    assert _refused(session.place_order, **_order(category="spot")).status_code == 10001
    assert _refused(session.place_order, **_order(orderLinkId="x" * 37)).status_code == 10001
