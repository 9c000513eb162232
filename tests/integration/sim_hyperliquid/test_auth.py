"""Who may sign: the account's own wallet or its approved agents; unknown signers, nonces and the agent flow."""

from __future__ import annotations

from decimal import Decimal

import eth_account
import pytest
from hyperliquid.exchange import Exchange
from hyperliquid.info import Info

from runtime.sim.hyperliquid import HyperliquidSimulator
from tests.integration.sim_hyperliquid.conftest import Admin, HlAccount, call

DAY_MS = 24 * 60 * 60 * 1000


async def test_admin_account_returns_a_main_wallet_and_an_approved_agent(admin: Admin, alice: HlAccount) -> None:
    assert eth_account.Account.from_key(alice.private_key).address.lower() == alice.address
    assert eth_account.Account.from_key(alice.agent_private_key).address.lower() == alice.agent_address
    assert alice.agent_address != alice.address
    body = await admin.post("/admin/accounts", {"name": "bob", "balance": "5"})
    assert body["withdraw_capable_key"] == "private_key"  # the main wallet; the agent key cannot withdraw


async def test_agent_is_listed_and_its_role_names_the_account(info: Info, alice: HlAccount) -> None:
    [agent] = await call(info.extra_agents, alice.address)
    assert agent["address"] == alice.agent_address and agent["name"] == "sim" and agent["validUntil"] > 0
    assert await call(info.user_role, alice.agent_address) == {"role": "agent", "data": {"user": alice.address}}
    assert await call(info.user_role, alice.address) == {"role": "user"}
    assert await call(info.user_role, "0x" + "11" * 20) == {"role": "missing"}


async def test_a_wallet_that_is_neither_the_account_nor_its_agent_is_refused(
    sim: HyperliquidSimulator, info: Info, alice: HlAccount
) -> None:
    stranger = eth_account.Account.create()
    exchange = await call(Exchange, stranger, base_url=sim.base_url, account_address=alice.address)
    result = await call(exchange.market_open, "BTC", True, 0.001)
    assert result == {"status": "err", "response": f"User or API Wallet {stranger.address.lower()} does not exist."}
    assert (await call(info.user_state, alice.address))["assetPositions"] == []


async def test_the_main_wallet_may_trade_for_itself(sim: HyperliquidSimulator, info: Info, alice: HlAccount) -> None:
    exchange = await call(Exchange, alice.main, base_url=sim.base_url)
    result = await call(exchange.market_open, "ETH", True, 0.01)
    assert "filled" in result["response"]["data"]["statuses"][0]
    assert len((await call(info.user_state, alice.address))["assetPositions"]) == 1


async def test_a_mainnet_venue_does_not_accept_what_the_sdk_signs_for_a_local_url() -> None:
    mainnet = HyperliquidSimulator(is_mainnet=True)
    await mainnet.start(port=0)
    try:
        credentials = mainnet.register_account("carol", Decimal("1000"))
        assert credentials.as_json()["agent_private_key"]
        agent = eth_account.Account.from_key(credentials.as_json()["agent_private_key"])
        exchange = await call(Exchange, agent, base_url=mainnet.base_url)
        result = await call(exchange.update_leverage, 3, "BTC")
        # The SDK signed with source "b" (non-mainnet URL); recovered as "a" it names some other wallet.
        assert result["status"] == "err" and "does not exist" in result["response"]
        assert agent.address.lower() not in result["response"]
    finally:
        await mainnet.stop()


async def test_reused_and_stale_nonces_are_refused(
    exchange: Exchange, monkeypatch: pytest.MonkeyPatch, sim: HyperliquidSimulator
) -> None:
    fixed = sim.now_ms()
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", lambda: fixed)
    assert (await call(exchange.update_leverage, 3, "BTC"))["status"] == "ok"
    assert await call(exchange.update_leverage, 4, "BTC") == {
        "status": "err",
        "response": "Invalid nonce: duplicate nonce",
    }
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", lambda: fixed - 3 * DAY_MS)
    stale = await call(exchange.update_leverage, 4, "BTC")
    assert stale["status"] == "err" and "outside the accepted window" in stale["response"]


async def test_nonces_are_per_signer(
    sim: HyperliquidSimulator, alice: HlAccount, monkeypatch: pytest.MonkeyPatch
) -> None:
    fixed = sim.now_ms()
    monkeypatch.setattr("hyperliquid.exchange.get_timestamp_ms", lambda: fixed)
    as_agent = await call(Exchange, alice.agent, base_url=sim.base_url, account_address=alice.address)
    as_main = await call(Exchange, alice.main, base_url=sim.base_url)
    assert (await call(as_agent.update_leverage, 3, "ETH"))["status"] == "ok"
    assert (await call(as_main.update_leverage, 4, "ETH"))["status"] == "ok"  # same nonce, other signer


async def test_approve_agent_through_the_sdk(sim: HyperliquidSimulator, info: Info, alice: HlAccount) -> None:
    as_main = await call(Exchange, alice.main, base_url=sim.base_url)
    result, agent_key = await call(as_main.approve_agent, "bot2")
    assert result == {"status": "ok", "response": {"type": "default"}}
    new_agent = eth_account.Account.from_key(agent_key)
    names = {agent["name"]: agent["address"] for agent in await call(info.extra_agents, alice.address)}
    assert names["bot2"] == new_agent.address.lower()

    trading = await call(Exchange, new_agent, base_url=sim.base_url, account_address=alice.address)
    assert "filled" in (await call(trading.market_open, "SOL", True, 1))["response"]["data"]["statuses"][0]

    # An agent cannot approve further agents: only the main wallet can.
    refused, _ = await call(trading.approve_agent, "bot3")
    assert refused["status"] == "err" and "agent wallet" in refused["response"]


async def test_admin_reset_forgets_wallets_and_agents(
    sim: HyperliquidSimulator, exchange: Exchange, admin: Admin, alice: HlAccount
) -> None:
    await admin.post("/admin/reset", {})
    result = await call(exchange.update_leverage, 3, "BTC")
    assert result == {"status": "err", "response": f"User or API Wallet {alice.agent_address} does not exist."}
    again = await admin.create_account("alice")
    assert again.address != alice.address
