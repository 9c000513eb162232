from runtime.adapters.common.key_check import refusal_reason
from runtime.ports.exchange import KeyPermissions


def test_a_trading_only_key_is_accepted() -> None:
    assert refusal_reason("follower a", "bybit", KeyPermissions(True, True, False)) is None


def test_a_key_that_can_withdraw_is_refused_with_what_to_do() -> None:
    reason = refusal_reason("follower a", "binance", KeyPermissions(True, True, True))
    assert reason is not None and "WITHDRAW" in reason and "withdrawals disabled" in reason


def test_invalid_and_non_futures_keys_are_refused() -> None:
    invalid = refusal_reason("master", "bybit", KeyPermissions(False, False, False, "10003 invalid api key"))
    assert invalid is not None and "10003" in invalid
    spot_only = refusal_reason("follower b", "binance", KeyPermissions(True, False, False))
    assert spot_only is not None and "futures" in spot_only
