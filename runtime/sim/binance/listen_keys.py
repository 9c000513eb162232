"""The listenKeys of Binance's user data stream: one per account, valid 60 minutes, extended by PUT.

As on the venue, POST while a key is still valid returns that same key (and extends it), so every client of one
account shares it; DELETE or expiry invalidates it and the streams opened with it are closed.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from runtime.sim.binance.codes import BinanceError, ErrorCode

LISTEN_KEY_TTL_MS = 60 * 60 * 1000


@dataclass
class ListenKey:
    key: str
    account: str
    expires_ms: int


class ListenKeyRegistry:
    def __init__(self, clock: Callable[[], int], ttl_ms: int = LISTEN_KEY_TTL_MS) -> None:
        self._clock = clock
        self.ttl_ms = ttl_ms
        self._by_key: dict[str, ListenKey] = {}
        self._by_account: dict[str, str] = {}

    def create(self, account: str) -> str:
        """The account's valid key, extended; a fresh one when it has none."""
        current = self._valid(self._by_account.get(account, ""))
        if current is not None:
            current.expires_ms = self._clock() + self.ttl_ms
            return current.key
        key = secrets.token_hex(32)  # 64 characters, like the venue's keys
        self._by_key[key] = ListenKey(key, account, self._clock() + self.ttl_ms)
        self._by_account[account] = key
        return key

    def keepalive(self, account: str, key: str) -> str:
        """Extend ``key`` by another hour; -1125 when it is unknown, expired or another account's."""
        found = self._owned(account, key)
        found.expires_ms = self._clock() + self.ttl_ms
        return found.key

    def delete(self, account: str, key: str) -> None:
        found = self._owned(account, key)
        self._forget(found)

    def current(self, account: str) -> str | None:
        """The account's valid key, if it has one."""
        found = self._valid(self._by_account.get(account, ""))
        return found.key if found is not None else None

    def account_of(self, key: str) -> str | None:
        """The account a valid key belongs to; None for an unknown or expired key."""
        found = self._valid(key)
        return found.account if found is not None else None

    def expire(self, key: str) -> None:
        """Let ``key`` lapse now (admin/test control); its streams close on the next check."""
        found = self._by_key.get(key)
        if found is not None:
            found.expires_ms = self._clock()

    def expired_keys(self) -> list[str]:
        """Keys whose time ran out; they are forgotten by this call."""
        now = self._clock()
        lapsed = [item for item in self._by_key.values() if item.expires_ms <= now]
        for item in lapsed:
            self._forget(item)
        return [item.key for item in lapsed]

    def _valid(self, key: str) -> ListenKey | None:
        found = self._by_key.get(key)
        if found is None or found.expires_ms <= self._clock():
            return None
        return found

    def _owned(self, account: str, key: str) -> ListenKey:
        found = self._valid(key)
        if found is None or found.account != account:
            raise BinanceError(ErrorCode.INVALID_LISTEN_KEY)
        return found

    def _forget(self, item: ListenKey) -> None:
        self._by_key.pop(item.key, None)
        if self._by_account.get(item.account) == item.key:
            del self._by_account[item.account]
