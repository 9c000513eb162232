"""Binance signature, timestamp and parameter rules, checked directly (the SDK tests cover the same over the wire)."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from urllib.parse import urlencode

import pytest

from runtime.domain.values import Side
from runtime.sim.binance.auth import SignedRequest, require_api_key, sign, strip_signature, total_params, verify_signed
from runtime.sim.binance.codes import BinanceError, ErrorCode
from runtime.sim.binance.params import merge_params, parse_dual_side, parse_new_order, parse_order_ref

SECRETS = {"key1": "secret1"}
NOW = 1_700_000_000_000


def _signed_body(params: dict[str, str], secret: str = "secret1") -> str:
    body = urlencode(params)
    return f"{body}&signature={sign(secret, body)}"


def _request(raw_query: str = "", raw_body: str = "", key: str | None = "key1") -> SignedRequest:
    return SignedRequest(key, raw_query, raw_body, merge_params(raw_query, raw_body))


def test_python_binance_style_body_signature_is_accepted() -> None:
    # python-binance: sorted params, timestamp and recvWindow added, hex HMAC of "k=v&..." appended last.
    payload = "quantity=0.001&recvWindow=10000&side=BUY&symbol=BTCUSDT&timestamp=1700000000000&type=MARKET"
    digest = hmac.new(b"secret1", payload.encode(), hashlib.sha256).hexdigest()
    assert verify_signed(_request(raw_body=f"{payload}&signature={digest}"), SECRETS.get, NOW) == "key1"


def test_query_and_body_are_concatenated_without_separator() -> None:
    query, body = "symbol=BTCUSDT&side=BUY", f"quantity=1&timestamp={NOW}"
    signature = sign("secret1", query + body)
    assert total_params(query, body + f"&signature={signature}") == query + body
    assert verify_signed(_request(query, body + f"&signature={signature}"), SECRETS.get, NOW) == "key1"


def test_signature_is_checked_over_the_raw_bytes_not_a_decoded_copy() -> None:
    # The client signed "a:b" but sent "a%3Ab": Binance hashes what arrived, so this is -1022.
    signed_over = f"newClientOrderId=a:b&timestamp={NOW}"
    sent = f"newClientOrderId=a%3Ab&timestamp={NOW}&signature={sign('secret1', signed_over)}"
    with pytest.raises(BinanceError) as info:
        verify_signed(_request(raw_body=sent), SECRETS.get, NOW)
    assert info.value.code == ErrorCode.INVALID_SIGNATURE


def test_wrong_secret_is_minus_1022() -> None:
    with pytest.raises(BinanceError) as info:
        verify_signed(_request(raw_body=_signed_body({"timestamp": str(NOW)}, "wrong")), SECRETS.get, NOW)
    assert (info.value.code, info.value.http_status) == (ErrorCode.INVALID_SIGNATURE, 400)


@pytest.mark.parametrize(
    ("timestamp", "recv_window", "accepted"),
    [
        (NOW - 5000, None, True),
        (NOW - 5001, None, False),
        (NOW - 9000, "10000", True),
        (NOW + 999, None, True),
        (NOW + 1000, None, False),
    ],
)
def test_timestamp_window(timestamp: int, recv_window: str | None, accepted: bool) -> None:
    params = {"timestamp": str(timestamp)} | ({"recvWindow": recv_window} if recv_window else {})
    request = _request(raw_body=_signed_body(params))
    if accepted:
        assert verify_signed(request, SECRETS.get, NOW) == "key1"
    else:
        with pytest.raises(BinanceError) as info:
            verify_signed(request, SECRETS.get, NOW)
        assert info.value.code == ErrorCode.INVALID_TIMESTAMP


def test_missing_and_unknown_keys() -> None:
    with pytest.raises(BinanceError) as missing:
        require_api_key(None, SECRETS.get)
    with pytest.raises(BinanceError) as unknown:
        require_api_key("nobody", SECRETS.get)
    assert (missing.value.code, missing.value.http_status) == (ErrorCode.BAD_API_KEY_FMT, 401)
    assert (unknown.value.code, unknown.value.http_status) == (ErrorCode.REJECTED_MBX_KEY, 401)


def test_missing_timestamp_or_signature_is_minus_1102() -> None:
    for raw in ("symbol=BTCUSDT&signature=abc", f"timestamp={NOW}"):
        with pytest.raises(BinanceError) as info:
            verify_signed(_request(raw_body=raw), SECRETS.get, NOW)
        assert info.value.code == ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED


def test_strip_signature_keeps_everything_else() -> None:
    assert strip_signature("a=1&signature=ff&b=2") == "a=1&b=2"
    assert strip_signature("") == ""


def test_parse_market_order_with_python_binance_booleans() -> None:
    order = parse_new_order(
        {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.010", "reduceOnly": "True",
         "newClientOrderId": "x-Cb7ytekJ0123456789abcdef01234", "newOrderRespType": "RESULT"}
    )
    assert order.side is Side.SELL
    assert order.quantity == Decimal("0.010")
    assert order.reduce_only is True
    assert order.position_side == "BOTH"
    assert order.response_type == "RESULT"


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"side": "BUY", "type": "MARKET", "quantity": "1"}, ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ({"symbol": "X", "side": "HOLD", "type": "MARKET", "quantity": "1"}, ErrorCode.INVALID_SIDE),
        ({"symbol": "X", "side": "BUY", "type": "STOP", "quantity": "1"}, ErrorCode.INVALID_ORDER_TYPE),
        ({"symbol": "X", "side": "BUY", "type": "MARKET", "quantity": "0"}, ErrorCode.QTY_LESS_THAN_ZERO),
        ({"symbol": "X", "side": "BUY", "type": "MARKET", "quantity": "abc"},
         ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ({"symbol": "X", "side": "BUY", "type": "LIMIT", "quantity": "1", "price": "10"},
         ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED),
        ({"symbol": "X", "side": "BUY", "type": "MARKET", "quantity": "1", "price": "10"},
         ErrorCode.PARAM_NOT_REQUIRED),
        ({"symbol": "X", "side": "BUY", "type": "MARKET", "quantity": "1", "newClientOrderId": "has space"},
         ErrorCode.INVALID_CL_ORD_ID_LEN),
        ({"symbol": "X", "side": "BUY", "type": "MARKET", "quantity": "1", "newClientOrderId": "a" * 37},
         ErrorCode.INVALID_CL_ORD_ID_LEN),
    ],
)
def test_new_order_refusals(params: dict[str, str], code: ErrorCode) -> None:
    with pytest.raises(BinanceError) as info:
        parse_new_order(params)
    assert info.value.code == code


def test_order_ref_needs_an_id() -> None:
    with pytest.raises(BinanceError) as info:
        parse_order_ref({"symbol": "BTCUSDT"})
    assert info.value.code == ErrorCode.MANDATORY_PARAM_EMPTY_OR_MALFORMED
    assert parse_order_ref({"symbol": "BTCUSDT", "origClientOrderId": "abc"}).client_order_id == "abc"


def test_dual_side_reads_python_binance_text() -> None:
    assert parse_dual_side({"dualSidePosition": "true"}) is True
    assert parse_dual_side({"dualSidePosition": "False"}) is False


def test_body_wins_over_query_and_blank_values_are_kept() -> None:
    assert merge_params("a=1&b=", "a=2") == {"a": "2", "b": ""}
