"""`copytrader sim`: run the three exchange simulators until stopped (Ctrl-C)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "sim",
        help="run the Bybit, Binance and Hyperliquid simulators on 127.0.0.1",
        description="Run the bundled exchange simulators (paper trading, tests, the demo). "
        "Port 0 picks a free port. The admin API of each is under /admin (see docs/simulators.md).",
    )
    parser.add_argument("--bybit-port", type=int, default=0, help="port for the Bybit simulator (0 = any free)")
    parser.add_argument("--binance-port", type=int, default=0, help="port for the Binance simulator (0 = any free)")
    parser.add_argument(
        "--hyperliquid-port", type=int, default=0, help="port for the Hyperliquid simulator (0 = any free)"
    )
    parser.set_defaults(handler=run_sim)


def run_sim(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(_serve(args.bybit_port, args.binance_port, args.hyperliquid_port))
    except KeyboardInterrupt:
        return 0


async def _serve(bybit_port: int, binance_port: int, hyperliquid_port: int) -> int:
    from runtime.sim.cluster import SimulatorCluster

    cluster = SimulatorCluster(bybit_port, binance_port, hyperliquid_port)
    try:
        await cluster.start()
    except OSError as exc:
        print(
            f"copytrader sim: could not bind a port: {exc}. Pick other ports or use 0 for any free one.",
            file=sys.stderr,
        )
        return 2
    for venue, rest, ws in cluster.describe():
        print(f"{venue:<12} rest {rest:<28} ws {ws}", flush=True)
    print("simulators running; admin API under /admin on each (docs/simulators.md). Ctrl-C to stop.", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await cluster.stop()
    return 0
