"""The benchmark's followers: spread evenly over the three venues, with seeded balances and sizing modes.

Every follower is sized so that each step of the master's sequence moves it by well over its venue's minimums
(Binance BTCUSDT needs 100 USDT of notional, Hyperliquid $10) and never runs out of margin: every cycle is real
work for every follower, and a refusal or a failure in a run is a finding, not noise.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from runtime.config.model import FollowerConfig, SizingConfig
from runtime.domain.values import PositionMode, Venue

VENUES = (Venue.BYBIT, Venue.BINANCE, Venue.HYPERLIQUID)
MARGIN_PCTS = ("0.1", "0.15", "0.2", "0.25", "0.3")
MULTIPLIERS = ("0.5", "1", "1.5", "2")
HEDGE_SHARE = 0.3  # of the Bybit and Binance followers (a one-way master's flip is then close leg 1 + open leg 2)


@dataclass(frozen=True)
class FollowerSpec:
    config: FollowerConfig
    balance: Decimal


def _sizing(rng: random.Random, balance: Decimal) -> SizingConfig:
    mode = rng.choice(("margin_ratio", "equity_ratio", "fixed_margin"))
    if mode == "margin_ratio":
        return SizingConfig(mode=mode, margin_pct=Decimal(rng.choice(MARGIN_PCTS)))
    if mode == "equity_ratio":
        return SizingConfig(mode=mode, multiplier=Decimal(rng.choice(MULTIPLIERS)))
    # At most 40% of the balance behind a position, so the largest step (1.6x the opening size) still fits.
    ceiling = int(balance * Decimal("0.4"))
    return SizingConfig(mode=mode, margin_usdt=Decimal(rng.randrange(500, ceiling + 1, 100)))


def follower_specs(count: int, seed: int) -> list[FollowerSpec]:
    """``count`` followers, round-robin over the venues; balances 5000-50000 USDT."""
    rng = random.Random(seed)
    specs: list[FollowerSpec] = []
    for index in range(count):
        venue = VENUES[index % len(VENUES)]
        balance = Decimal(rng.randrange(5000, 50001, 500))
        hedge = venue is not Venue.HYPERLIQUID and rng.random() < HEDGE_SHARE
        fields: dict[str, Any] = {
            "id": f"{venue.value}-{index:04d}",
            "venue": venue,
            "sizing": _sizing(rng, balance),
            "position_mode": PositionMode.HEDGE if hedge else PositionMode.ONE_WAY,
        }
        if venue is Venue.HYPERLIQUID:
            fields |= {"account_address": "0x" + f"{index:040x}", "agent_private_key_env": "PAPER_HL_KEY"}
        else:
            fields |= {"api_key_env": "PAPER_KEY", "api_secret_env": "PAPER_SECRET"}
        specs.append(FollowerSpec(FollowerConfig(**fields), balance))
    return specs
