"""Building each follower's ``ExchangeClient`` from the config and its resolved credentials.

Used by the one-shot commands (``copytrader audit``, ``copytrader follower close-all``) and available to the
composition root. Nothing connects here: the adapters make no request until called. All clients of one factory
share one blocking-call runner, one rate-limiter registry (so Binance followers behind one egress IP share its
weight budget) and one secret registry (for the redacting log filter); ``close()`` closes the clients and the
runner.

Endpoints: ``rest_url`` in a follower's config overrides the venue's mainnet URL. For Binance it is the host that
serves both ``/fapi`` and ``/sapi`` (a simulator); a URL ending in ``/fapi`` is taken as the futures API itself
(testnet), which has no wallet API.
"""

from __future__ import annotations

from collections.abc import Mapping

from runtime.adapters.binance import BinanceClient, BinanceConfig, BinanceEndpoints
from runtime.adapters.bybit import BybitClient, BybitConfig, BybitCredentials
from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.adapters.common.rate_limit import RateLimiterRegistry
from runtime.adapters.common.redaction import SecretRegistry
from runtime.adapters.hyperliquid import HyperliquidClient, HyperliquidConfig
from runtime.adapters.hyperliquid import HyperliquidCredentials as HyperliquidKeys
from runtime.config.credentials import ApiCredentials, HyperliquidCredentials, follower_credentials
from runtime.config.model import AppConfig, FollowerConfig
from runtime.domain.values import Venue
from runtime.ports.exchange import ExchangeClient

# Reads only in the one-shot commands, but a close-all may send a few orders at once: 16 threads are plenty.
DEFAULT_WORKERS = 16


def binance_endpoints(rest_url: str | None) -> BinanceEndpoints:
    if rest_url is None:
        return BinanceEndpoints.mainnet()
    base = rest_url.rstrip("/")
    if base.endswith("/fapi"):
        return BinanceEndpoints(base, None)
    return BinanceEndpoints.at(base)


class ClientFactory:
    """Makes and owns follower clients. One per process (or per command run)."""

    def __init__(self, *, runner: BlockingCallRunner | None = None, secrets: SecretRegistry | None = None) -> None:
        self._owns_runner = runner is None
        self.runner = runner or BlockingCallRunner(max_workers=DEFAULT_WORKERS, thread_name_prefix="follower")
        self.limiters = RateLimiterRegistry(default_rate=10.0, default_burst=10.0)
        self.secrets = secrets or SecretRegistry()
        self._clients: list[ExchangeClient] = []

    def build(self, follower: FollowerConfig, credentials: ApiCredentials | HyperliquidCredentials) -> ExchangeClient:
        """The adapter for ``follower``; raises ``ValueError`` when the credentials do not fit its venue."""
        client = self._build(follower, credentials)
        self._clients.append(client)
        return client

    def _build(self, follower: FollowerConfig, credentials: ApiCredentials | HyperliquidCredentials) -> ExchangeClient:
        if follower.venue is Venue.HYPERLIQUID:
            if not isinstance(credentials, HyperliquidCredentials):
                raise ValueError(f"follower {follower.id}: hyperliquid needs an account address and an agent key")
            keys = HyperliquidKeys(credentials.account_address, credentials.agent_private_key.get_secret_value())
            hl_config = HyperliquidConfig(base_url=follower.rest_url) if follower.rest_url else HyperliquidConfig()
            return HyperliquidClient(keys, hl_config, runner=self.runner, limiters=self.limiters, secrets=self.secrets)
        if not isinstance(credentials, ApiCredentials):
            raise ValueError(f"follower {follower.id}: {follower.venue.value} needs an API key and secret")
        key, secret = credentials.api_key.get_secret_value(), credentials.api_secret.get_secret_value()
        if follower.venue is Venue.BYBIT:
            bybit_config = BybitConfig(base_url=follower.rest_url) if follower.rest_url else BybitConfig()
            return BybitClient(
                BybitCredentials(key, secret),
                bybit_config,
                runner=self.runner,
                limiters=self.limiters,
                secrets=self.secrets,
            )
        binance_config = BinanceConfig(api_key=key, api_secret=secret, endpoints=binance_endpoints(follower.rest_url))
        return BinanceClient(binance_config, runner=self.runner, limiter=self.limiters, secrets=self.secrets)

    def build_all(
        self, config: AppConfig, follower_ids: list[str] | None = None, environ: Mapping[str, str] | None = None
    ) -> dict[str, ExchangeClient]:
        """Clients of the enabled followers (or of ``follower_ids``), keyed by follower id. Raises
        ``MissingSecretError`` naming every unset environment variable of the followers asked for."""
        wanted = follower_ids or [follower.id for follower in config.enabled_followers]
        return {
            follower_id: self.build(config.follower(follower_id), follower_credentials(config, follower_id, environ))
            for follower_id in wanted
        }

    async def close(self) -> None:
        clients, self._clients = self._clients, []
        for client in clients:
            await client.close()
        if self._owns_runner:
            self.runner.shutdown()
