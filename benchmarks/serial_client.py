"""The original sequential model's venue access: one call at a time per follower.

The original system did leverage sync -> equity -> position -> order one after another. The executor overlaps the
leverage sync and the two reads (``asyncio.gather``); wrapping each follower's client in ``SerialClient`` makes
those calls queue behind each other again, so the sequential model runs the very same executor code with the
original model's call pattern.
"""

from __future__ import annotations

import asyncio
from decimal import Decimal

from runtime.domain.instruments import InstrumentRules
from runtime.domain.positions import FollowerPosition
from runtime.domain.values import PositionMode, Venue
from runtime.ports.exchange import ExchangeClient, KeyPermissions, OrderReport, OrderRequest


class SerialClient:
    """An ``ExchangeClient`` that lets one call of ``inner`` run at a time."""

    def __init__(self, inner: ExchangeClient) -> None:
        self.inner = inner
        self.venue: Venue = inner.venue
        self._lock = asyncio.Lock()

    async def instrument_rules(self, symbol: str) -> InstrumentRules:
        async with self._lock:
            return await self.inner.instrument_rules(symbol)

    async def refresh_instruments(self) -> None:
        async with self._lock:
            await self.inner.refresh_instruments()

    async def equity(self) -> Decimal:
        async with self._lock:
            return await self.inner.equity()

    async def positions(self, symbol: str | None = None) -> list[FollowerPosition]:
        async with self._lock:
            return await self.inner.positions(symbol)

    async def leverage(self, symbol: str) -> Decimal:
        async with self._lock:
            return await self.inner.leverage(symbol)

    async def set_leverage(self, symbol: str, leverage: Decimal) -> None:
        async with self._lock:
            await self.inner.set_leverage(symbol, leverage)

    async def position_mode(self) -> PositionMode:
        async with self._lock:
            return await self.inner.position_mode()

    async def set_position_mode(self, mode: PositionMode) -> None:
        async with self._lock:
            await self.inner.set_position_mode(mode)

    async def place_market_order(self, order: OrderRequest) -> OrderReport:
        async with self._lock:
            return await self.inner.place_market_order(order)

    async def get_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        async with self._lock:
            return await self.inner.get_order(symbol, client_order_id)

    async def cancel_order(self, symbol: str, client_order_id: str) -> None:
        async with self._lock:
            await self.inner.cancel_order(symbol, client_order_id)

    async def check_key_permissions(self) -> KeyPermissions:
        async with self._lock:
            return await self.inner.check_key_permissions()

    async def close(self) -> None:
        await self.inner.close()
