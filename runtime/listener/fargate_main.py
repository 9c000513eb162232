"""The listener container (ECS Fargate, one task per master): ``python -m runtime.listener.fargate_main``.

The same master stream + correlator as the local host (``build_master_feed``), with a sink that writes each
confirmed change's snapshot to DynamoDB and sends the change to ``master-changes.fifo`` (group = master leg, dedup id
= leg + seq; ``runtime.hosts.aws_listener``). Start-up, in order:
1. the heartbeat file is touched (and then at least every 30 s while the event loop runs, connected or not);
2. the master's key is checked: a key that can withdraw stops the task (exit code 2, the reason in the log);
3. the feed is seeded from REST with the lifecycles stored by an earlier run, and every leg that changed while no
   listener ran (opened, resized, closed: REST versus the stored snapshots) is sent as a change, so the followers
   catch up through the normal dispatcher -> executor path;
4. the stream starts; SIGTERM (ECS stopping the task) stops the feed, which delivers what it already confirmed.
Reconnects and gap replays are counted in the stream's stats, emitted as metrics with the heartbeat, and alerted
(info) through the alerts topic.

Environment (docs/deploy.md): MASTER_ID, MASTER_API_KEY / MASTER_API_SECRET (injected by ECS from the master's
secret), BYBIT_TESTNET, MASTER_STATE_TABLE, MASTER_CHANGES_QUEUE_URL, ALERTS_TOPIC_ARN, LISTENER_HEARTBEAT_FILE;
MASTER_REST_URL / MASTER_WS_URL point it at a simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from runtime.adapters.bybit import BybitClient, BybitConfig, BybitCredentials
from runtime.adapters.bybit.config import MAINNET_URL, TESTNET_URL
from runtime.adapters.common.blocking import BlockingCallRunner
from runtime.adapters.common.key_check import refusal_reason
from runtime.domain.correlator_state import MasterLegState
from runtime.domain.errors import ExchangeError
from runtime.domain.values import Venue
from runtime.hosts.aws import AwsServices
from runtime.hosts.aws_listener import Heartbeat, ListenerSink, stale_open_symbols, startup_changes, stop_task
from runtime.hosts.aws_names import MASTER_API_KEY, MASTER_API_SECRET
from runtime.hosts.aws_observability import CopyMetrics
from runtime.hosts.aws_settings import MissingSettingError
from runtime.listener.build import build_master_feed
from runtime.listener.master_feed import MasterFeed, MasterFeedConfig
from runtime.listener.master_rest import MasterRestConfig
from runtime.listener.master_stream_config import MasterStreamConfig, StreamCredentials
from runtime.services.stream_alerts import MasterStreamWatch

log = logging.getLogger("runtime.listener.fargate_main")

EXIT_STARTUP_REFUSED = 2


class ListenerStartupError(Exception):
    """The listener refuses to start; the message says why and what to do."""


@dataclass(frozen=True)
class ListenerTuning:
    """Timings for tests and the local AWS host; each None keeps the production default."""

    stream: MasterStreamConfig | None = None
    rest: MasterRestConfig | None = None
    feed_poll_interval_s: float = 1.0
    pending_timeout_s: float = 5.0
    heartbeat_interval_s: float = 10.0
    metric_interval_s: float = 60.0
    check_key: bool = True
    blocking_threads: int = 8


async def run_listener(services: AwsServices, stop: asyncio.Event, tuning: ListenerTuning | None = None) -> None:
    """Run one master's listener until ``stop`` is set. Raises ``ListenerStartupError`` when it cannot start."""
    tuning = tuning or ListenerTuning()
    settings = services.settings
    master_id = settings.master_id
    key, secret = _master_keys(services)
    metrics = CopyMetrics()
    runner = BlockingCallRunner(max_workers=tuning.blocking_threads, thread_name_prefix="listener")
    feed: MasterFeed | None = None
    heartbeat = Heartbeat(
        Path(settings.heartbeat_file),
        master_id,
        metrics,
        lambda: None if feed is None else feed.stats,
        interval_s=tuning.heartbeat_interval_s,
        metric_interval_s=tuning.metric_interval_s,
    )
    beating = asyncio.create_task(heartbeat.run(), name=f"listener-heartbeat:{master_id}")
    alerts = services.alerts()
    # Reconnects and gap replays also reach people (info), as on the local host.
    watch = MasterStreamWatch(lambda: None if feed is None else feed.stats, alerts.notify, master_id=master_id)
    watching = asyncio.create_task(watch.run_forever(), name=f"listener-stream-watch:{master_id}")
    try:
        await alerts.start()
        if tuning.check_key:
            await _check_master_key(services, key, secret, runner)
        sink = ListenerSink(services.store, services.master_changes(), metrics)
        feed = build_master_feed(
            master_id,
            StreamCredentials(key, secret),
            sink,
            runner=runner,
            testnet=settings.bybit_testnet,
            rest_url=settings.master_rest_url,
            ws_url=settings.master_ws_url,
            feed_config=MasterFeedConfig(
                master_id, poll_interval_s=tuning.feed_poll_interval_s, pending_timeout_s=tuning.pending_timeout_s
            ),
            stream_config=_stream_config(settings.bybit_testnet, settings.master_ws_url, tuning.stream),
            rest_config=tuning.rest,
        )
        stored = await asyncio.to_thread(services.store.list_master_snapshots, master_id)
        lifecycles = {s.leg: s.lifecycle for s in stored if s.lifecycle is not None and s.size != 0}
        await feed.seed(lifecycles)
        seeded = list(feed.correlator.snapshot())
        closed = await _read_closed_legs(feed, stale_open_symbols(stored, seeded))
        catch_up = startup_changes(master_id, stored, [*seeded, *closed], received_at=time.monotonic())
        for change in catch_up:
            await sink(change)
        log.info("%s: %d changes made while no listener ran were sent", master_id, len(catch_up))
        await feed.start(lifecycles)
        await stop.wait()
    finally:
        if feed is not None:
            await feed.stop()
        await stop_task(watching)
        await stop_task(beating)
        await alerts.close()
        runner.shutdown()


def _master_keys(services: AwsServices) -> tuple[str, str]:
    settings = services.settings
    for env_var, value in ((MASTER_API_KEY, settings.master_api_key), (MASTER_API_SECRET, settings.master_api_secret)):
        if value is None:
            raise MissingSettingError(env_var, "the listener (the master's Bybit API key pair)")
    assert settings.master_api_key is not None and settings.master_api_secret is not None
    key, secret = settings.master_api_key.get_secret_value(), settings.master_api_secret.get_secret_value()
    services.secret_registry.add(key)
    services.secret_registry.add(secret)
    return key, secret


async def _check_master_key(services: AwsServices, key: str, secret: str, runner: BlockingCallRunner) -> None:
    """The master's key only reads, so it need not trade; it must not be able to withdraw."""
    settings = services.settings
    base_url = settings.master_rest_url or (TESTNET_URL if settings.bybit_testnet else MAINNET_URL)
    client = BybitClient(
        BybitCredentials(key, secret), BybitConfig(base_url=base_url), runner=runner, secrets=services.secret_registry
    )
    owner = f"master {settings.master_id}"
    try:
        permissions = await client.check_key_permissions()
    except ExchangeError as exc:
        raise ListenerStartupError(f"{owner}: could not check the Bybit key ({exc}); check the network path") from exc
    finally:
        await client.close()
    reason = refusal_reason(owner, Venue.BYBIT.value, replace(permissions, can_trade_futures=True))
    if reason is not None:
        raise ListenerStartupError(reason)


async def _read_closed_legs(feed: MasterFeed, symbols: list[str]) -> list[MasterLegState]:
    states: list[MasterLegState] = []
    for symbol in symbols:
        for position in await feed.rest.symbol_positions(symbol):
            states.append(
                MasterLegState(
                    leg=position.leg,
                    size=position.signed_size,
                    seq=position.seq,
                    position_im=position.position_im,
                    leverage=position.leverage,
                    entry_price=position.entry_price,
                    mark_price=position.mark_price,
                    lifecycle=None,
                    updated_time_ms=position.updated_time_ms,
                )
            )
    return states


def _stream_config(testnet: bool, ws_url: str | None, tuned: MasterStreamConfig | None) -> MasterStreamConfig:
    config = tuned or MasterStreamConfig.for_network(testnet=testnet, url=ws_url)
    return replace(config, url=ws_url) if ws_url else config


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        services = AwsServices.from_environment()
    except (ValueError, LookupError) as exc:
        log.error("listener cannot start: %s", exc)
        return EXIT_STARTUP_REFUSED
    stop = asyncio.Event()

    async def run() -> None:
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stop.set)
        await run_listener(services, stop)

    try:
        asyncio.run(run())
    except (ListenerStartupError, LookupError) as exc:
        log.error("listener cannot start: %s", exc)
        return EXIT_STARTUP_REFUSED
    finally:
        services.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
