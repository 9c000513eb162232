"""MasterRest over a fake pybit client: paging, ordering, error translation, retries and secret hygiene."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from pybit.exceptions import FailedRequestError, InvalidRequestError

from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.adapters.common.retry import RetryPolicy
from runtime.domain.errors import ErrorKind, ExchangeError
from runtime.listener.master_rest import MasterRest, MasterRestConfig
from runtime.listener.master_stream_config import StreamCredentials

KEY, SECRET = "key-ABCDEF123", "secret-XYZ987654"


def envelope(result: dict[str, Any]) -> dict[str, Any]:
    return {"retCode": 0, "retMsg": "OK", "result": result}


def invalid(code: int, message: str) -> InvalidRequestError:
    return InvalidRequestError(
        request=f"GET /x: api_key={KEY}", message=message, status_code=code, time="", resp_headers={}
    )


def position_item(symbol: str, size: str, seq: int) -> dict[str, Any]:
    return {"symbol": symbol, "positionIdx": 0, "side": "Buy" if size != "0" else "", "size": size, "seq": seq,
            "positionIM": "10", "leverage": "10", "avgPrice": "100", "markPrice": "100"}  # fmt: skip


def execution_item(exec_id: str, seq: int) -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "execId": exec_id, "orderId": "o", "side": "Buy", "execQty": "0.001",
            "execPrice": "60000", "execType": "Trade", "seq": seq, "execTime": str(1000 + seq)}  # fmt: skip


class FakeHttp:
    """Answers scripted per method: each call pops the next answer (a dict, or an exception to raise)."""

    def __init__(self, **scripts: list[Any]) -> None:
        self.scripts = scripts
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __getattr__(self, method: str) -> Any:
        def call(**params: Any) -> Any:
            self.calls.append((method, params))
            answer = self.scripts[method].pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        return call


@pytest.fixture
def runner() -> Iterator[BlockingCallRunner]:
    pool = BlockingCallRunner(max_workers=2)
    yield pool
    pool.shutdown()


def make_rest(http: FakeHttp, runner: BlockingCallRunner, **config: Any) -> MasterRest:
    settings: dict[str, Any] = {"retry": RetryPolicy(3, 0.001, 0.002), "rate_per_s": 1000, "burst": 1000}
    settings.update(config)
    return MasterRest(http, runner, MasterRestConfig(**settings), hidden=(KEY, SECRET))


async def test_positions_follow_the_cursor_across_pages(runner: BlockingCallRunner) -> None:
    http = FakeHttp(
        get_positions=[
            envelope({"list": [position_item("BTCUSDT", "0.01", 3)], "nextPageCursor": "p2"}),
            envelope({"list": [position_item("ETHUSDT", "0.1", 4)], "nextPageCursor": ""}),
        ]
    )
    positions = await make_rest(http, runner).open_positions("USDT")
    assert [(p.symbol, p.size, p.seq) for p in positions] == [
        ("BTCUSDT", Decimal("0.01"), 3),
        ("ETHUSDT", Decimal("0.1"), 4),
    ]
    assert http.calls[0] == ("get_positions", {"category": "linear", "limit": 200, "settleCoin": "USDT"})
    assert http.calls[1][1]["cursor"] == "p2"


async def test_executions_come_back_oldest_first_and_flag_a_truncated_read(runner: BlockingCallRunner) -> None:
    pages = [
        envelope({"list": [execution_item("e4", 4), execution_item("e3", 3)], "nextPageCursor": "c2"}),
        envelope({"list": [execution_item("e2", 2), execution_item("e1", 1)], "nextPageCursor": "c3"}),
    ]
    http = FakeHttp(get_executions=list(pages))
    batch = await make_rest(http, runner, max_execution_pages=2).executions_since(500)
    assert [e.exec_id for e in batch.executions] == ["e1", "e2", "e3", "e4"]
    assert batch.complete is False
    assert http.calls[0][1] == {"category": "linear", "startTime": 500, "limit": 100}
    http = FakeHttp(get_executions=[envelope({"list": [execution_item("e1", 1)], "nextPageCursor": ""})])
    assert (await make_rest(http, runner).executions_since(0)).complete is True


async def test_an_unreadable_execution_is_skipped_but_an_unreadable_position_fails_the_read(
    runner: BlockingCallRunner,
) -> None:
    broken_exec = {**execution_item("e2", 2), "execQty": "lots"}
    http = FakeHttp(get_executions=[envelope({"list": [execution_item("e1", 1), broken_exec], "nextPageCursor": ""})])
    batch = await make_rest(http, runner).executions_since(0)
    assert [e.exec_id for e in batch.executions] == ["e1"]
    broken_position = {**position_item("BTCUSDT", "1", 1), "positionIdx": 9}
    http = FakeHttp(get_positions=[envelope({"list": [broken_position], "nextPageCursor": ""})])
    with pytest.raises(ExchangeError, match="position list: unreadable item"):
        await make_rest(http, runner).symbol_positions("BTCUSDT")


async def test_wallet_equity_reads_the_unified_account(runner: BlockingCallRunner) -> None:
    http = FakeHttp(get_wallet_balance=[envelope({"list": [{"accountType": "UNIFIED", "totalEquity": "1234.5"}]})])
    assert await make_rest(http, runner).wallet_equity() == Decimal("1234.5")
    http = FakeHttp(get_wallet_balance=[envelope({"list": []})])
    with pytest.raises(ExchangeError, match="unified trading account"):
        await make_rest(http, runner).wallet_equity()


async def test_rate_limits_and_network_errors_are_retried(runner: BlockingCallRunner) -> None:
    ok = envelope({"list": [{"totalEquity": "1"}]})
    http = FakeHttp(get_wallet_balance=[invalid(10006, "Too many visits!"), requests.ConnectionError("reset"), ok])
    assert await make_rest(http, runner).wallet_equity() == Decimal("1")
    assert len(http.calls) == 3


async def test_an_exhausted_retry_reports_the_venue_code_and_no_secret(runner: BlockingCallRunner) -> None:
    limited = invalid(10006, f"Too many visits for {KEY}")
    limited.resp_headers = {"X-Bapi-Limit-Reset-Timestamp": "1000020"}
    http = FakeHttp(get_wallet_balance=[limited] * 3)
    rest = MasterRest(
        http, runner, MasterRestConfig(retry=RetryPolicy(3, 0.001, 0.002)), hidden=(KEY,), wall_ms=lambda: 1_000_000
    )
    with pytest.raises(ExchangeError) as caught:
        await rest.wallet_equity()
    assert caught.value.kind is ErrorKind.RATE_LIMITED and caught.value.raw_code == 10006
    assert caught.value.retry_after_s == pytest.approx(0.02)  # Bybit's reset hint, honoured by the retry
    assert KEY not in str(caught.value)


async def test_auth_errors_are_not_retried(runner: BlockingCallRunner) -> None:
    http = FakeHttp(get_positions=[invalid(10003, "API key is invalid.")])
    with pytest.raises(ExchangeError) as caught:
        await make_rest(http, runner).open_positions("USDT")
    assert caught.value.kind is ErrorKind.AUTH and len(http.calls) == 1


@pytest.mark.parametrize(
    ("status", "kind"), [(503, ErrorKind.TEMPORARY), (403, ErrorKind.AUTH), (429, ErrorKind.RATE_LIMITED)]
)
async def test_http_failures_are_classified(runner: BlockingCallRunner, status: int, kind: ErrorKind) -> None:
    failure = FailedRequestError(request="GET /x", message="failed", status_code=status, time="", resp_headers={})
    http = FakeHttp(get_positions=[failure] * 3)
    with pytest.raises(ExchangeError) as caught:
        await make_rest(http, runner, retry=RetryPolicy(1)).open_positions("USDT")
    assert caught.value.kind is kind and caught.value.raw_code == status


async def test_a_call_past_its_deadline_is_temporary(runner: BlockingCallRunner) -> None:
    class SlowHttp:
        def get_wallet_balance(self, **params: Any) -> Any:
            time.sleep(0.3)
            return envelope({"list": [{"totalEquity": "1"}]})

    config = MasterRestConfig(call_timeout_s=0.05, deadline_pad_s=0.0, retry=RetryPolicy(1))
    rest = MasterRest(SlowHttp(), runner, config)
    with pytest.raises(ExchangeError, match=r"no answer within 0\.05 s") as caught:
        await rest.wallet_equity()
    assert caught.value.kind is ErrorKind.TEMPORARY


def test_the_client_never_shows_its_secret(runner: BlockingCallRunner) -> None:
    credentials = StreamCredentials(KEY, SECRET)
    rest = MasterRest.from_credentials(credentials, runner, MasterRestConfig(base_url="http://127.0.0.1:9/"))
    assert SECRET not in repr(rest) and KEY not in repr(rest)
    assert SECRET not in repr(credentials) and KEY not in repr(credentials)
    assert rest._http.endpoint == "http://127.0.0.1:9"
