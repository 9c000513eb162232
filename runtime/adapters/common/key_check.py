"""The start-up check every venue key passes before the engine trades with it (brief section 8)."""

from __future__ import annotations

from runtime.ports.exchange import ExchangeClient, KeyPermissions


class UnsafeKeyError(Exception):
    """A key the engine refuses to use: invalid, unable to trade futures, or able to withdraw."""


def refusal_reason(owner: str, venue: str, permissions: KeyPermissions) -> str | None:
    """Why ``permissions`` are not acceptable for a copy-trading key, or None when they are."""
    if not permissions.valid:
        return (
            f"{owner}: the {venue} API key was rejected by the venue ({permissions.detail or 'invalid key'}). "
            "Check the key and secret environment variables and the key's IP whitelist."
        )
    if permissions.can_withdraw:
        return (
            f"{owner}: the {venue} API key can WITHDRAW funds. Refusing to use it: a copy-trading key must only "
            "trade. Create a key with withdrawals disabled (on Hyperliquid: an agent/API wallet, not the main "
            "wallet's private key) and point the configuration at it."
        )
    if not permissions.can_trade_futures:
        return (
            f"{owner}: the {venue} API key cannot trade futures/perpetuals ({permissions.detail or 'no permission'}). "
            "Enable futures/contract trading for the key."
        )
    return None


async def ensure_safe_key(owner: str, client: ExchangeClient) -> KeyPermissions:
    """Ask the venue what the key may do; raise ``UnsafeKeyError`` with what to do when it is not acceptable."""
    permissions = await client.check_key_permissions()
    reason = refusal_reason(owner, client.venue.value, permissions)
    if reason is not None:
        raise UnsafeKeyError(reason)
    return permissions
