"""`copytrader run --config FILE`: the engine against the configured venues until Ctrl-C.

Logs are readable lines with every secret redacted; a live status view (rich) shows the master and each follower
when stdout is a terminal. Ctrl-C (or SIGTERM) stops the master feed first, lets running follower jobs finish and
closes everything. Exit codes: 0 clean stop, 2 the config, a secret or a start-up check is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from typing import TYPE_CHECKING

from rich.console import Console
from rich.live import Live

if TYPE_CHECKING:
    from runtime.adapters.common.redaction import SecretRegistry
    from runtime.config import AppConfig

log = logging.getLogger("copytrader.run")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the copy engine against the configured venues (Ctrl-C to stop)",
        description="Copy the configured Bybit master into its followers until stopped. Secrets are read from the "
        "environment variables the config names (docs/configuration.md).",
    )
    parser.add_argument("--config", required=True, metavar="FILE", help="the TOML configuration file")
    parser.add_argument("--no-live", action="store_true", help="log lines only, no live status view")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logs")
    parser.set_defaults(handler=run_engine_command)


def run_engine_command(args: argparse.Namespace) -> int:
    from runtime.adapters.common.redaction import SecretRegistry
    from runtime.cli.logging_setup import configure_logging
    from runtime.config import ConfigError, load_config

    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"copytrader run: invalid configuration\n{exc}", file=sys.stderr)
        return 2
    # Piped output (CI, a log file) gets a table wide enough to read rather than rich's 80-column default.
    console = Console() if sys.stdout.isatty() else Console(width=140)
    secrets = SecretRegistry()
    handler = configure_logging(console, secrets, level=logging.DEBUG if args.verbose else logging.INFO)
    try:
        return asyncio.run(_run(config, console, secrets, live=console.is_terminal and not args.no_live))
    except KeyboardInterrupt:  # a second Ctrl-C during shutdown
        return 130
    finally:
        logging.getLogger().removeHandler(handler)


async def _run(config: AppConfig, console: Console, secrets: SecretRegistry, *, live: bool) -> int:
    from runtime.bootstrap import build_engine
    from runtime.cli.status_view import engine_view, feed_connected
    from runtime.config import MissingSecretError
    from runtime.domain.errors import ExchangeError
    from runtime.hosts.local import StartupError

    try:
        engine = build_engine(config, secrets=secrets)
    except MissingSecretError as exc:
        print(f"copytrader run: missing secrets\n{exc}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await engine.start()
    except StartupError as exc:
        await engine.stop()
        print(f"copytrader run: {exc}", file=sys.stderr)
        return 2
    except (ExchangeError, OSError) as exc:  # e.g. the master's REST API unreachable while seeding
        await engine.stop()
        print(f"copytrader run: cannot start: {exc}. Check the endpoints and the network, then retry.", file=sys.stderr)
        return 2
    except BaseException:
        await engine.stop()
        raise
    venues = {follower.id: follower.venue.value for follower in config.enabled_followers}
    log.info("engine running: %d followers; Ctrl-C to stop", len(venues))

    try:
        if live:
            with Live(
                get_renderable=lambda: engine_view(
                    engine.board, engine.counters, venues, feed_connected(engine.host.feed)
                ),
                console=console,
                refresh_per_second=4,
            ):
                await stop.wait()
        else:
            await stop.wait()
    finally:
        log.info("stopping: master feed first, then the follower workers")
        await engine.stop()
    log.info("stopped cleanly: %s", engine.counters.as_dict())
    return 0
