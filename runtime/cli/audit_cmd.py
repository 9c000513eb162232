"""`copytrader audit --config FILE [--json]`: one reconciliation pass, as a report.

It compares every enabled follower's live positions (read through its venue) with the master's legs in the state
store, exactly as the engine's periodic audit does, but only reports: it sends no alert, changes no alert state
and heals nothing (the running engine does those). A status of "alerted" means the engine's next audit will alert;
"suppressed" means it already has.

Exit codes: 0 no discrepancies, 1 discrepancies found, 2 the command could not run (config, secrets, state file).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import TYPE_CHECKING, TextIO

from runtime.cli.state_access import CommandError, fail, load, open_store

if TYPE_CHECKING:
    from runtime.config import AppConfig
    from runtime.services.audit_report import AuditReport

EXIT_CLEAN = 0
EXIT_DISCREPANCIES = 1


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "audit",
        help="compare every follower with the master once and print a reconciliation report",
        description="One audit pass (docs/audit.md): every enabled follower's live positions against the master's "
        "legs in the state store. Reports only: no alerts are sent and nothing is healed. Exits 1 when there "
        "are discrepancies.",
    )
    parser.add_argument("--config", required=True, metavar="FILE", help="the TOML configuration file")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (for machines)")
    parser.set_defaults(handler=run_audit)


def run_audit(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from runtime.config import MissingSecretError

    try:
        config = load(args.config)
        report = asyncio.run(audit_once(config))
    except (CommandError, MissingSecretError, ValueError) as exc:  # each says what to fix; no traceback
        return fail("audit", exc, err)
    print_report(report, as_json=args.json, out=out or sys.stdout)
    return EXIT_DISCREPANCIES if report.discrepancies else EXIT_CLEAN


async def audit_once(config: AppConfig) -> AuditReport:
    from runtime.services.audit import AuditService, AuditSettings
    from runtime.services.client_factory import ClientFactory

    store = open_store(config, must_exist=True)
    factory = ClientFactory()
    try:
        clients = factory.build_all(config)
        service = AuditService(
            store,
            clients,
            {follower.id: follower for follower in config.followers},
            config.symbol_map(),
            config.master.id,
            settings=AuditSettings.from_engine(config.engine, dry_run=True),
        )
        return await service.run_once()
    finally:
        await factory.close()
        store.close()


def print_report(report: AuditReport, *, as_json: bool, out: TextIO) -> None:
    if as_json:
        print(report.to_json(), file=out)
        return
    from rich.console import Console

    from runtime.services.audit_report import render_report

    render_report(report, Console(file=out, width=140))
