"""`copytrader follower pause|resume|close-all ID --config FILE`: the kill switch from the command line.

- ``pause``: no new copies for the follower from its next job on (the flag is in the state store, which the running
  engine reads for every job); closes and reductions still go through.
- ``resume``: copying again; the next master change (or heal) brings the follower back in line.
- ``close-all``: pause, then close every position the follower holds with reduce-only market orders (each recorded
  in the order log). The follower stays paused: resume it when you want copying back.

Exit codes: 0 done, 1 close-all left something open or an order failed, 2 the command could not run.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, TextIO

from runtime.cli.state_access import CommandError, fail, follower_or_error, load, open_store

if TYPE_CHECKING:
    from runtime.config import AppConfig
    from runtime.services.kill_switch import CloseAllReport

EXIT_OK = 0
EXIT_NOT_FLAT = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "follower",
        help="pause, resume or close out one follower (the kill switch)",
        description="The kill switch (docs/risk-controls.md): pause or resume copying for one follower, or pause "
        "it and close all its positions.",
    )
    actions = parser.add_subparsers(dest="follower_command", required=True)
    helps = {
        "pause": "stop new copies for the follower (closes still go through)",
        "resume": "copy for the follower again",
        "close-all": "pause the follower and close every position it holds with reduce-only market orders",
    }
    for name, text in helps.items():
        action = actions.add_parser(name, help=text, description=text[0].upper() + text[1:] + ".")
        action.add_argument("follower_id", metavar="ID", help="the follower's id in the config")
        action.add_argument("--config", required=True, metavar="FILE", help="the TOML configuration file")
        action.set_defaults(handler=run_follower, follower_action=name)


def run_follower(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from runtime.config import MissingSecretError

    out = out or sys.stdout
    command = f"follower {args.follower_action}"
    try:
        config = load(args.config)
        follower_or_error(config, args.follower_id)
        if args.follower_action == "close-all":
            report = asyncio.run(close_all(config, args.follower_id))
            print_close_all(report, out)
            return EXIT_OK if report.ok else EXIT_NOT_FLAT
        set_paused(config, args.follower_id, paused=args.follower_action == "pause", out=out)
    except (CommandError, MissingSecretError, ValueError) as exc:
        return fail(command, exc, err)
    return EXIT_OK


def set_paused(config: AppConfig, follower_id: str, *, paused: bool, out: TextIO) -> None:
    from runtime.services.kill_switch import KillSwitch

    store = open_store(config, must_exist=False)
    try:
        switch = KillSwitch(store)
        if paused:
            switch.pause(follower_id)
            print(f"follower {follower_id} paused: no new copies; closes still go through", file=out)
            return
        switch.resume(follower_id)
    finally:
        store.close()
    print(f"follower {follower_id} resumed: copying from the next master change", file=out)
    if config.follower(follower_id).paused:
        print(
            f"note: the config still says paused = true for {follower_id}, which keeps it paused; remove that line "
            "and restart the engine to copy again",
            file=out,
        )


async def close_all(config: AppConfig, follower_id: str) -> CloseAllReport:
    from runtime.services.client_factory import ClientFactory
    from runtime.services.kill_switch import KillSwitch

    store = open_store(config, must_exist=False)
    factory = ClientFactory()
    try:
        client = factory.build_all(config, [follower_id])[follower_id]
        return await KillSwitch(store).close_all(follower_id, client)
    finally:
        await factory.close()
        store.close()


def print_close_all(report: CloseAllReport, out: TextIO) -> None:
    from runtime.domain.values import decimal_str

    print(f"follower {report.follower_id} paused; close-all round {report.round_id}:", file=out)
    if not report.orders:
        print("  nothing was open", file=out)
    for order in report.orders:
        status = order.outcome.value if order.outcome is not None else "already done"
        filled = f", filled {decimal_str(order.filled_qty)}" if order.filled_qty else ""
        detail = f" ({order.message})" if order.outcome is not None and not order.ok else ""
        print(
            f"  {order.side.value.lower()} {decimal_str(order.qty)} {order.symbol} leg {order.position_idx}: "
            f"{status}{filled}{detail}",
            file=out,
        )
    if report.remaining:
        still = ", ".join(f"{p.symbol} {decimal_str(p.size)}" for p in report.remaining)
        print(f"still open: {still}; run close-all again or close it on the venue", file=out)
    else:
        print("the follower is flat", file=out)
