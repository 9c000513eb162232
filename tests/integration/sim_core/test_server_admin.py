"""The simulator base over real HTTP on 127.0.0.1: lifecycle, the admin API, latency and error injection."""

import asyncio
import time
from decimal import Decimal
from typing import Any
from unittest import mock

import aiohttp
import pytest
from aiohttp.test_utils import make_mocked_request

from runtime.domain.values import Side
from runtime.sim.admin import AdminApi
from runtime.sim.model import OrderType
from tests.integration.sim_core.conftest import ToySimulator


async def admin(
    http: aiohttp.ClientSession, sim: ToySimulator, path: str, body: dict[str, Any] | None = None, expect: int = 200
) -> Any:
    method = http.post if body is not None else http.get
    async with method(f"{sim.base_url}/admin/{path}", json=body) as response:
        payload = await response.json()
        assert response.status == expect, payload
        return payload


async def new_account(
    http: aiohttp.ClientSession, sim: ToySimulator, name: str = "alice", balance: str = "10000", mode: str = "one_way"
) -> Any:
    return await admin(http, sim, "accounts", {"name": name, "balance": balance, "position_mode": mode})


async def test_start_on_a_free_port_and_stop(toy, http):
    assert toy.port > 0
    assert toy.base_url == f"http://127.0.0.1:{toy.port}"
    assert toy.ws_base == f"ws://127.0.0.1:{toy.port}"
    async with http.get(f"{toy.base_url}/toy/ping") as response:
        assert (await response.json()) == {"pong": True}
    await toy.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.get(f"{toy.base_url}/toy/ping"):
            pass


async def test_admin_account_round_trip(toy, http):
    credentials = await new_account(http, toy)
    assert credentials["name"] == "alice" and credentials["api_key"] and credentials["api_secret"]
    await admin(http, toy, "marks", {"symbol": "BTCUSDT", "price": "50000"})
    async with http.post(
        f"{toy.base_url}/toy/order",
        json={"symbol": "BTCUSDT", "side": "Buy", "qty": "0.1"},
        headers={"X-Key": credentials["api_key"]},
    ) as response:
        assert response.status == 200
    await admin(http, toy, "marks", {"symbol": "BTCUSDT", "price": "52000"})
    view = await admin(http, toy, "accounts/alice")
    assert (view["balance"], view["equity"], view["available"]) == ("10000", "10200", "9700")
    [position] = view["positions"]
    assert position == position | {
        "symbol": "BTCUSDT",
        "side": "Buy",
        "size": "0.1",
        "leverage": "10",
        "im": "500",
        "entry_price": "50000",
        "position_idx": 0,
    }
    assert [o["status"] for o in view["orders"]] == ["Filled"]
    assert view["fills"][0]["seq"] == 1 and view["fills"][0]["exec_type"] == "Trade"
    assert (await admin(http, toy, "accounts"))["accounts"] == ["alice"]


async def test_admin_liquidate_adl_and_reset(toy, http):
    await new_account(http, toy, mode="hedge")
    toy.engine.set_mark("ETHUSDT", Decimal("3000"))
    toy.engine.place_order(
        "alice", symbol="ETHUSDT", side=Side.SELL, qty=Decimal("2"), order_type=OrderType.MARKET, position_idx=2
    )
    adl = await admin(http, toy, "adl", {"account": "alice", "symbol": "ETHUSDT", "qty": "0.5", "position_idx": 2})
    assert (adl["exec_type"], adl["qty"], adl["seq"]) == ("AdlTrade", "0.5", 2)
    bust = await admin(http, toy, "liquidate", {"account": "alice", "symbol": "ETHUSDT", "position_idx": 2})
    assert (bust["exec_type"], bust["qty"], bust["side"]) == ("BustTrade", "1.5", "Buy")
    refused = await admin(
        http, toy, "liquidate", {"account": "alice", "symbol": "ETHUSDT", "position_idx": 2}, expect=400
    )
    assert refused["kind"] == "no_position"
    await admin(http, toy, "reset", {})
    missing = await admin(http, toy, "accounts/alice", expect=404)
    assert missing["kind"] == "unknown_account"
    assert toy.account_for_key("anything") is None


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("accounts", {"balance": "1"}, "name"),
        ("accounts", {"name": "x", "balance": 1.5}, "balance"),
        ("accounts", {"name": "x", "balance": "1", "position_mode": "both"}, "position_mode"),
        ("marks", {"symbol": "BTCUSDT", "price": "-1"}, "price"),
        ("marks", {"symbol": "BTCUSDT", "path": [{"after_ms": 5}]}, "price"),
        ("faults", {"latency": {"order": {"uniform_s": ["9", "1"]}}}, "latency.order"),
        ("faults", {"errors": [{"class": "order", "kind": "meltdown", "count": 1}]}, "errors[0].kind"),
        ("faults", {"topic_order": "sideways"}, "topic_order"),
        ("adl", {"account": "a", "symbol": "BTCUSDT"}, "qty"),
    ],
)
async def test_bad_admin_input_names_the_field(toy, http, path, body, field):
    answer = await admin(http, toy, path, body, expect=400)
    assert answer["field"] == field
    assert field.split(".")[0].split("[")[0] in answer["error"]


async def test_duplicate_account_and_unknown_symbol(toy, http):
    await new_account(http, toy)
    assert (await new_account_expect(http, toy, 400))["field"] == "name"
    assert (await admin(http, toy, "marks", {"symbol": "NOPE", "price": "1"}, expect=400))["kind"] == "unknown_symbol"


async def new_account_expect(http: aiohttp.ClientSession, sim: ToySimulator, status: int) -> Any:
    return await admin(http, sim, "accounts", {"name": "alice", "balance": "1"}, expect=status)


async def test_admin_refuses_non_loopback_clients():
    sim = ToySimulator()
    handler = AdminApi(sim).guarded(AdminApi(sim).list_accounts)
    transport = mock.Mock()
    transport.get_extra_info.return_value = ("10.1.2.3", 40000)
    response = await handler(make_mocked_request("GET", "/admin/accounts", transport=transport))
    assert response.status == 403


async def test_mark_path_is_played(toy, http):
    answer = await admin(
        http,
        toy,
        "marks",
        {"symbol": "SOLUSDT", "path": [{"price": "151", "after_ms": 10}, {"price": "152", "after_ms": 10}]},
    )
    assert answer["steps"] == 2
    for _ in range(100):
        if toy.engine.mark("SOLUSDT") == Decimal("152"):
            break
        await asyncio.sleep(0.01)
    assert toy.engine.mark("SOLUSDT") == Decimal("152")
    assert (await admin(http, toy, "marks"))["SOLUSDT"] == "152"


async def test_fixed_latency_shows_in_call_time_and_the_order_still_lands(toy, http):
    credentials = await new_account(http, toy)
    state = await admin(http, toy, "faults", {"latency": {"read": {"fixed_s": "0.3"}, "order": {"fixed_s": "0.5"}}})
    assert state["latency"]["read"] == {"fixed_s": "0.3"}
    started = time.monotonic()
    async with http.get(f"{toy.base_url}/toy/ping") as response:
        assert response.status == 200
    assert time.monotonic() - started >= 0.3
    with pytest.raises(asyncio.TimeoutError):
        async with http.post(
            f"{toy.base_url}/toy/order",
            json={"symbol": "BTCUSDT", "side": "Buy", "qty": "0.01"},
            headers={"X-Key": credentials["api_key"]},
            timeout=aiohttp.ClientTimeout(total=0.15),
        ):
            pass
    # The client gave up, but the venue processed the order before the delay.
    assert len(toy.engine.account("alice").orders) == 1
    await admin(http, toy, "faults", {"clear": True})
    started = time.monotonic()
    async with http.get(f"{toy.base_url}/toy/ping"):
        pass
    assert time.monotonic() - started < 0.3


async def test_seeded_uniform_latency(toy, http):
    await admin(http, toy, "faults", {"seed": 11, "latency": {"*": {"uniform_s": ["1", "9"], "scale": "0.02"}}})
    started = time.monotonic()
    async with http.get(f"{toy.base_url}/toy/ping"):
        pass
    assert 0.02 <= time.monotonic() - started < 1.0


async def test_injected_errors_use_the_venue_formatter_then_stop(toy, http):
    await admin(
        http,
        toy,
        "faults",
        {
            "errors": [
                {"class": "read", "kind": "server_error", "count": 2},
                {"class": "order", "kind": "rate_limit", "count": 1},
            ]
        },
    )
    statuses = []
    for _ in range(3):
        async with http.get(f"{toy.base_url}/toy/ping") as response:
            statuses.append((response.status, await response.json()))
    assert statuses == [(502, {"code": "oops"}), (502, {"code": "oops"}), (200, {"pong": True})]
    async with http.post(f"{toy.base_url}/toy/order", json={}) as response:
        assert (response.status, await response.json()) == (429, {"code": "slow down"})


async def test_injected_timeout_processes_then_drops_the_connection(toy, http):
    credentials = await new_account(http, toy)
    await admin(
        http, toy, "faults", {"timeout_hold_s": "0.2", "errors": [{"class": "order", "kind": "timeout", "count": 1}]}
    )
    started = time.monotonic()
    with pytest.raises(aiohttp.ClientConnectionError):
        async with http.post(
            f"{toy.base_url}/toy/order",
            json={"symbol": "BTCUSDT", "side": "Buy", "qty": "0.01"},
            headers={"X-Key": credentials["api_key"]},
        ) as response:
            await response.read()
    assert time.monotonic() - started >= 0.2
    assert len(toy.engine.account("alice").orders) == 1


async def test_fee_and_slippage_settings(toy, http):
    state = await admin(http, toy, "faults", {"slippage_bps": "10", "taker_fee_rate": "0.00055"})
    assert (state["slippage_bps"], state["taker_fee_rate"]) == ("10", "0.00055")
    assert toy.engine.settings.slippage_bps == Decimal("10")
