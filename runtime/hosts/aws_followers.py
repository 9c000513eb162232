"""Followers on AWS: the registry (DynamoDB) + their secrets -> ready venue clients, cached across warm invocations.

A follower's context (config, client, rules and leverage caches) is built the first time a job names it and
rebuilt when its registry item changed (``updated_ms``, ``secret_id``) or its keys changed (the secret cache expires
after ``SECRET_CACHE_SECONDS``). Before a client is used for the first time its key is checked, as at the local
host's start-up: a key that can withdraw is refused (``UnsafeKeyError``), and the account is put in its configured
position mode.

``LiveRiskGate`` is the executor's risk gate for followers that come and go without a redeploy: it takes each
follower's config as the cache builds it and reads the pause flag from the store per order.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from dataclasses import dataclass

from runtime.adapters.common.key_check import UnsafeKeyError, ensure_safe_key
from runtime.adapters.dynamodb.followers import FollowerRegistry, RegisteredFollower
from runtime.config.model import FollowerConfig
from runtime.domain.errors import ExchangeError
from runtime.domain.refusals import Refusal
from runtime.domain.risk import PlannedOrder, check_order
from runtime.domain.values import Venue
from runtime.hosts.aws_secrets import SecretError, SecretSource, follower_credentials
from runtime.ports.store import StateStore
from runtime.services.client_factory import ClientFactory
from runtime.services.follower_context import FollowerContext
from runtime.services.risk_gate import risk_limits

log = logging.getLogger(__name__)


class FollowerSetupError(Exception):
    """A follower's venue client could not be made ready; ``permanent`` says a retry cannot help (a refused key)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class LiveRiskGate:
    """``OrderGate`` over the followers the cache has built (their limits) and the store's pause flags."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self._configs: dict[str, FollowerConfig] = {}

    def set_follower(self, config: FollowerConfig) -> None:
        self._configs[config.id] = config

    def check(self, follower_id: str, order: PlannedOrder) -> Refusal | None:
        config = self._configs[follower_id]
        return check_order(risk_limits(config, paused=self._store.is_follower_paused(follower_id)), order)


@dataclass(frozen=True)
class _Built:
    version: tuple[int, str, str]  # registry updated_ms, secret id, fingerprint of the keys
    context: FollowerContext


class FollowerAccounts:
    """Registered followers -> ``FollowerContext``. ``secret_prefix`` + id names a follower's secret unless its
    registry item names one (``secret_id``)."""

    def __init__(
        self,
        registry: FollowerRegistry,
        secrets: SecretSource,
        factory: ClientFactory,
        *,
        secret_prefix: str | None,
        check_keys: bool = True,
    ) -> None:
        self.registry = registry
        self._secrets = secrets
        self._factory = factory
        self._prefix = secret_prefix
        self._check_keys = check_keys
        self._built: dict[str, _Built] = {}
        # One build at a time per follower: the audit and a job (or two jobs) must not both make its client.
        self._locks: dict[str, asyncio.Lock] = {}

    async def context(self, follower_id: str) -> FollowerContext | None:
        """The follower's ready context; None when it is not registered or disabled. Raises
        ``FollowerSetupError`` when its keys cannot be read or its account cannot be made ready."""
        registered = self.registry.get(follower_id)
        if registered is None or not registered.config.enabled:
            return None
        return await self._ready(registered)

    async def contexts(self) -> tuple[dict[str, FollowerContext], dict[str, str]]:
        """Every enabled follower's context, and the problem of each one that could not be made ready."""
        ready: dict[str, FollowerContext] = {}
        problems: dict[str, str] = {}
        for registered in self.registry.list_followers():
            if not registered.config.enabled:
                continue
            try:
                ready[registered.follower_id] = await self._ready(registered)
            except FollowerSetupError as exc:
                problems[registered.follower_id] = str(exc)
        return ready, problems

    def secret_id(self, registered: RegisteredFollower) -> str:
        if registered.secret_id:
            return registered.secret_id
        if not self._prefix:
            raise FollowerSetupError(
                f"follower {registered.follower_id}: no secret_id in its registry item and FOLLOWER_SECRET_PREFIX is "
                "not set; register it with --secret-prefix or set the variable",
                permanent=False,
            )
        return self._prefix + registered.follower_id

    async def close(self) -> None:
        self._built.clear()
        await self._factory.close()

    async def _ready(self, registered: RegisteredFollower) -> FollowerContext:
        async with self._locks.setdefault(registered.follower_id, asyncio.Lock()):
            return await self._build(registered)

    async def _build(self, registered: RegisteredFollower) -> FollowerContext:
        follower = registered.config
        secret_id = self.secret_id(registered)
        try:
            values = self._secrets.read(secret_id)
            credentials = follower_credentials(follower, secret_id, values)
        except SecretError as exc:
            raise FollowerSetupError(str(exc), permanent=False) from exc
        version = (registered.updated_ms, secret_id, _fingerprint(dict(values)))
        built = self._built.get(follower.id)
        if built is not None and built.version == version:
            return built.context
        if built is not None:
            await built.context.client.close()
        client = self._factory.build(follower, credentials)
        context = FollowerContext(follower, client)
        try:
            await self._prepare(context)
        except BaseException:
            await client.close()
            raise
        self._built[follower.id] = _Built(version, context)
        log.info("follower %s: %s client ready (registry version %d)", follower.id, follower.venue.value, version[0])
        return context

    async def _prepare(self, context: FollowerContext) -> None:
        owner = f"follower {context.follower_id}"
        try:
            if self._check_keys:
                await ensure_safe_key(owner, context.client)
            if context.venue is not Venue.HYPERLIQUID:
                current = await context.client.position_mode()
                if current is not context.position_mode:
                    log.info("%s: switching position mode %s -> %s", owner, current, context.position_mode)
                    await context.client.set_position_mode(context.position_mode)
        except ExchangeError as exc:
            raise FollowerSetupError(
                f"{owner}: could not make the {context.venue.value} account ready ({exc}); it is tried again with "
                f"the next job. If it persists, check the key and that the account can be put in "
                f"{context.position_mode.value} mode (close its positions and orders, or change position_mode)",
                permanent=False,
            ) from exc
        except UnsafeKeyError as exc:
            raise FollowerSetupError(str(exc), permanent=True) from exc


def _fingerprint(values: dict[str, str]) -> str:
    # A digest, so the cache compares keys without keeping a second copy of them around.
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode("utf-8")).hexdigest()
