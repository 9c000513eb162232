"""Signature, timestamp and key checks seen through pybit, and the key permissions of /v5/user/query-api."""

from __future__ import annotations

from typing import Any

import pybit._helpers
import pytest
import requests
from pybit.exceptions import InvalidRequestError
from pybit.unified_trading import HTTP

from tests.integration.sim_bybit.conftest import Account, SimHost

# Any non-empty set without 10002/10006 stops pybit's own retry-with-sleep of those codes.
NO_RETRY = {-1}


def _positions(session: HTTP) -> dict[str, Any]:
    answer: dict[str, Any] = session.get_positions(category="linear", symbol="BTCUSDT")
    return answer


def test_bad_signature_is_10004(host: SimHost) -> None:
    acct = host.new_account()
    wrong = Account(host, acct.name, acct.key, "not-the-secret")
    with pytest.raises(InvalidRequestError) as info:
        _positions(wrong.http())
    assert info.value.status_code == 10004
    with pytest.raises(InvalidRequestError) as info:  # POST: the signature covers the raw JSON body
        wrong.http().place_order(category="linear", symbol="BTCUSDT", side="Buy", orderType="Market", qty="0.01")
    assert info.value.status_code == 10004
    assert acct.state()["orders"] == []


def test_unknown_key_is_10003(host: SimHost) -> None:
    stranger = Account(host, "nobody", "unknown-key", "whatever")
    with pytest.raises(InvalidRequestError) as info:
        _positions(stranger.http())
    assert info.value.status_code == 10003


@pytest.mark.parametrize("skew_ms", [-10_000, 5_000])
def test_stale_or_future_timestamp_is_10002(host: SimHost, monkeypatch: pytest.MonkeyPatch, skew_ms: int) -> None:
    session = host.new_account().http(retry_codes=NO_RETRY)
    real = pybit._helpers.generate_timestamp
    monkeypatch.setattr(pybit._helpers, "generate_timestamp", lambda: real() + skew_ms)
    with pytest.raises(InvalidRequestError) as info:
        _positions(session)
    assert info.value.status_code == 10002
    assert "recv_window" in info.value.message


def test_pybit_widens_recv_window_after_10002_and_succeeds(host: SimHost, monkeypatch: pytest.MonkeyPatch) -> None:
    # 6 s behind fails the default 5000 ms window; pybit's retry adds 2500 ms and then passes.
    acct = host.new_account()
    real = pybit._helpers.generate_timestamp
    monkeypatch.setattr(pybit._helpers, "generate_timestamp", lambda: real() - 6_000)
    with pytest.raises(InvalidRequestError) as info:
        _positions(acct.http(retry_codes=NO_RETRY))
    assert info.value.status_code == 10002
    assert _positions(acct.http())["retCode"] == 0


def test_query_api_shows_withdraw_only_for_keys_made_to_withdraw(host: SimHost) -> None:
    plain = host.new_account().http().get_api_key_information()["result"]
    assert plain["readOnly"] == 0
    assert plain["permissions"]["ContractTrade"] == ["Order", "Position"]
    assert "Withdraw" not in plain["permissions"]["Wallet"]

    withdrawer = host.new_account(can_withdraw=True)
    info = withdrawer.http().get_api_key_information()["result"]
    assert "Withdraw" in info["permissions"]["Wallet"]
    assert info["apiKey"] == withdrawer.key


def test_admin_refuses_a_non_boolean_can_withdraw(host: SimHost) -> None:
    response = requests.post(
        f"{host.base_url}/admin/accounts", json={"name": "x", "balance": "1", "can_withdraw": "yes"}, timeout=5
    )
    assert response.status_code == 400
    assert response.json()["field"] == "can_withdraw"
    created = host.admin("accounts", {"name": "flagged", "balance": "1", "can_withdraw": True})
    assert created["can_withdraw"] is True


def test_register_account_in_python_can_make_a_withdrawing_key(host: SimHost) -> None:
    from decimal import Decimal

    creds = host.call(host.sim.register_account, "py-made", Decimal("50"), can_withdraw=True)
    info = Account(host, "py-made", creds.key, creds.secret).http().get_api_key_information()["result"]
    assert "Withdraw" in info["permissions"]["Wallet"]
    default = host.call(host.sim.register_account, "py-plain", Decimal("50"))
    info = Account(host, "py-plain", default.key, default.secret).http().get_api_key_information()["result"]
    assert "Withdraw" not in info["permissions"]["Wallet"]
