"""The Bybit signature and timestamp rules, checked directly (the pybit tests cover the same over the wire)."""

from __future__ import annotations

import pytest

from runtime.sim.bybit.auth import (
    RestAuthHeaders,
    WsAuthError,
    read_auth_headers,
    sign_rest,
    sign_ws,
    verify_rest,
    verify_ws_auth,
)
from runtime.sim.bybit.codes import BybitError, RetCode

SECRETS = {"key1": "secret1"}
NOW = 1_700_000_000_000


def _headers(payload: bytes, *, ts: int = NOW, key: str = "key1", secret: str = "secret1") -> RestAuthHeaders:
    return RestAuthHeaders(key, sign_rest(secret, str(ts), key, "5000", payload), str(ts), "5000")


def test_pybit_style_signature_is_accepted() -> None:
    # The exact string pybit signs: timestamp + key + recv_window + payload.
    import hashlib
    import hmac

    payload = b"category=linear&symbol=BTCUSDT"
    sig = hmac.new(b"secret1", f"{NOW}key15000".encode() + payload, hashlib.sha256).hexdigest()
    headers = RestAuthHeaders("key1", sig, str(NOW), "5000")
    assert verify_rest(headers, payload, SECRETS.get, NOW) == "key1"


def test_signature_over_other_bytes_is_10004() -> None:
    headers = _headers(b'{"qty":"1"}')
    with pytest.raises(BybitError) as info:
        verify_rest(headers, b'{"qty": "1"}', SECRETS.get, NOW)
    assert info.value.code is RetCode.BAD_SIGN


def test_unknown_key_is_10003() -> None:
    with pytest.raises(BybitError) as info:
        verify_rest(_headers(b"", key="nope"), b"", SECRETS.get, NOW)
    assert info.value.code is RetCode.INVALID_KEY


def test_missing_key_header_is_10003() -> None:
    assert read_auth_headers({}) is None
    with pytest.raises(BybitError) as info:
        verify_rest(None, b"", SECRETS.get, NOW)
    assert info.value.code is RetCode.INVALID_KEY


@pytest.mark.parametrize(
    ("offset", "ok"),
    [(0, True), (-5000, True), (-5001, False), (999, True), (1000, False)],
)
def test_recv_window_rule(offset: int, ok: bool) -> None:
    headers = _headers(b"", ts=NOW + offset)
    if ok:
        assert verify_rest(headers, b"", SECRETS.get, NOW) == "key1"
    else:
        with pytest.raises(BybitError) as info:
            verify_rest(headers, b"", SECRETS.get, NOW)
        assert info.value.code is RetCode.TIME_WINDOW


def test_ws_auth_accepts_pybit_args_and_refuses_bad_ones() -> None:
    expires = NOW + 1000
    assert verify_ws_auth(["key1", expires, sign_ws("secret1", expires)], SECRETS.get, NOW) == "key1"
    with pytest.raises(WsAuthError, match="sign"):
        verify_ws_auth(["key1", expires, sign_ws("other", expires)], SECRETS.get, NOW)
    with pytest.raises(WsAuthError, match="expired"):
        verify_ws_auth(["key1", NOW - 1, sign_ws("secret1", NOW - 1)], SECRETS.get, NOW)
    with pytest.raises(WsAuthError, match="invalid"):
        verify_ws_auth(["nope", expires, "x"], SECRETS.get, NOW)
    with pytest.raises(WsAuthError, match="Params"):
        verify_ws_auth(["key1", expires], SECRETS.get, NOW)
