"""`copytrader demo`: the engine against the bundled simulators, playing a scenario; exit 0 only if every check passed.

Exit codes: 0 every check passed, 1 a check failed (or a step could not be played), 2 the scenario file is invalid
(or the chosen --host cannot run here).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from rich.console import Console


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the engine against the simulators and play a scenario (exit 0 = every check passed)",
        description="Start the Bybit, Binance and Hyperliquid simulators, create the master and the followers, "
        "start the engine and play a scenario in which the master trades through pybit. The built-in scenario is "
        "used unless --scenario is given (format: docs/scenarios.md).",
    )
    parser.add_argument("--scenario", metavar="FILE", help="a scenario JSON file (default: the built-in one)")
    parser.add_argument("--report", metavar="FILE", help="write the JSON report here")
    parser.add_argument(
        "--host",
        choices=("local", "aws-local"),
        default="local",
        help="local: the embedded engine (default); aws-local: the AWS wiring (SQS FIFO, DynamoDB, the Lambda "
        "handlers, the Fargate listener) on a local moto server (docs/aws-local.md)",
    )
    parser.add_argument("--no-live", action="store_true", help="print one line per step instead of a live view")
    parser.add_argument("-v", "--verbose", action="store_true", help="show the engine's info logs")
    parser.set_defaults(handler=run_demo_command)


def run_demo_command(args: argparse.Namespace) -> int:
    from runtime.adapters.common.redaction import SecretRegistry
    from runtime.cli.logging_setup import configure_logging
    from runtime.demo.builtin_scenario import builtin_scenario
    from runtime.demo.hosts import HostUnavailableError, engine_factory
    from runtime.demo.live_view import DemoLiveView, summary_table
    from runtime.demo.report import PASS, build_report, write_report
    from runtime.demo.runner import run_demo
    from runtime.demo.scenario import ScenarioError, load_scenario

    # Piped output (CI, a log file) gets a table wide enough to read rather than rich's 80-column default.
    console = Console() if sys.stdout.isatty() else Console(width=140)
    try:
        scenario = load_scenario(args.scenario) if args.scenario else builtin_scenario()
    except ScenarioError as exc:
        print(f"copytrader demo: invalid scenario\n{exc}", file=sys.stderr)
        return 2
    try:
        engine_factory(args.host)  # fails here, not mid-run, when the host's packages are missing
    except HostUnavailableError as exc:
        print(f"copytrader demo: {exc}", file=sys.stderr)
        return 2
    secrets = SecretRegistry()
    handler = configure_logging(console, secrets, level=logging.INFO if args.verbose else logging.WARNING)
    live = console.is_terminal and not args.no_live
    title = f"copytrader demo: {scenario.name}" + (f" (host: {args.host})" if args.host != "local" else "")
    view = DemoLiveView(console, title, live=live)
    try:
        with view:
            run = asyncio.run(run_demo(scenario, view, secrets=secrets, host=args.host))
    except ScenarioError as exc:
        print(f"copytrader demo: invalid scenario\n{exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("copytrader demo: interrupted", file=sys.stderr)
        return 1
    finally:
        logging.getLogger().removeHandler(handler)
    console.print(summary_table(run))
    if run.error:
        console.print(f"[red]{run.error}[/red]", highlight=False)
    if args.report:
        write_report(build_report(run), args.report)
        console.print(f"report written to {args.report}", highlight=False)
    return 0 if run.verdict == PASS else 1
