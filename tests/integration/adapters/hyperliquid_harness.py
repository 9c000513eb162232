"""The Hyperliquid venue for the shared adapter suite: the simulator, and the adapter built from an agent wallet.

The admin API answers an account with its main wallet (``address``/``private_key``, can withdraw) and an approved
agent (``agent_address``/``agent_private_key``). The adapter gets the account address and the agent key; an account
created ``can_withdraw`` gets the main wallet's key instead (what the start-up check must refuse); a "bad secret" is
an agent key the venue never approved.
"""

from __future__ import annotations

from typing import ClassVar

import eth_account

from runtime.adapters.hyperliquid import HyperliquidClient, HyperliquidConfig, HyperliquidCredentials
from runtime.domain.values import Venue
from runtime.sim.hyperliquid import HyperliquidSimulator
from tests.integration.adapters.harness import ClientTuning, SimAccount, VenueHarness


class HyperliquidHarness(VenueHarness):
    venue = Venue.HYPERLIQUID
    supports_hedge = False  # one net position per coin
    rate_limit_gives_hint = False  # a plain HTTP 429, no reset time
    # What meta and the docs publish. tick_size is derived from the price (5 significant figures at the mid, see
    # runtime/adapters/hyperliquid/wire.py); max_qty/max_market_qty are the adapter's "no cap" default.
    published_rule_fields: ClassVar[tuple[str, ...]] = (
        "qty_step",
        "min_qty",
        "min_notional",
        "max_leverage",
        "unit_multiplier",
    )

    def build_simulator(self) -> HyperliquidSimulator:
        return HyperliquidSimulator()

    def symbol(self, base: str) -> str:
        return "kPEPE" if base in ("1000PEPE", "PEPE") else base

    def config(self, tuning: ClientTuning) -> HyperliquidConfig:
        # tuning.timeout_s is the deadline of every call: the SDK's HTTP timeout and the blocking-call deadline.
        return HyperliquidConfig(
            base_url=self.base_url, request_timeout_s=tuning.timeout_s, deadline_margin_s=0.0, retry=tuning.retry
        )

    def build_client(self, account: SimAccount, tuning: ClientTuning) -> HyperliquidClient:
        fields = account.credentials
        key = fields["private_key"] if account.can_withdraw else fields["agent_private_key"]
        return HyperliquidClient(
            HyperliquidCredentials(fields["address"], key), self.config(tuning), runner=self.runner
        )

    def build_client_with_bad_secret(self, account: SimAccount, tuning: ClientTuning) -> HyperliquidClient:
        stranger = "0x" + bytes(eth_account.Account.create().key).hex()
        credentials = HyperliquidCredentials(account.credentials["address"], stranger)
        return HyperliquidClient(credentials, self.config(tuning), runner=self.runner)

    def client_with_key(self, account: SimAccount, private_key: str, address: str | None = None) -> HyperliquidClient:
        """A client signing with any key, for the venue-only tests (closed after the test like the others)."""
        credentials = HyperliquidCredentials(address or account.credentials["address"], private_key)
        made = HyperliquidClient(credentials, self.config(ClientTuning()), runner=self.runner)
        self._clients.append(made)
        return made
