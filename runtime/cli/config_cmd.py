"""`copytrader config check --config FILE`: validate a configuration file and summarise it.

Exit codes: 0 valid (missing environment variables are only warned about, unless --require-secrets), 2 invalid.
Errors go to stderr in plain words, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from runtime.config import AppConfig, SecretReference

EXIT_OK = 0
EXIT_INVALID = 2


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "config",
        help="work with the configuration file",
        description="Work with the TOML configuration file (see docs/configuration.md).",
    )
    actions = parser.add_subparsers(dest="config_command", required=True)
    check = actions.add_parser(
        "check",
        help="validate a configuration file and print a summary",
        description="Validate a configuration file: every field, and whether the environment variables it names "
        "for secrets are set. Exits 2 when the file is invalid.",
    )
    check.add_argument("--config", required=True, metavar="FILE", help="the TOML configuration file")
    check.add_argument(
        "--require-secrets",
        action="store_true",
        help="treat an unset secret environment variable as an error (exit 2) instead of a warning",
    )
    check.set_defaults(handler=run_check)


def run_check(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    # Imported here so `copytrader --help` does not pay for pydantic.
    from runtime.config import ConfigError, load_config, missing_secrets

    out = out or sys.stdout
    err = err or sys.stderr
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        print(f"copytrader config check: invalid configuration\n{exc}", file=err)
        return EXIT_INVALID
    missing = missing_secrets(config)
    if missing and args.require_secrets:
        print(f"copytrader config check: {args.config}: {len(missing)} secret variable(s) not set:", file=err)
        _list_missing(missing, err)
        print("export them (or load them from your secret store) before starting copytrader", file=err)
        return EXIT_INVALID
    _print_summary(config, args.config, out)
    if missing:
        print(f"warning: {len(missing)} secret variable(s) not set; copytrader run needs them:", file=err)
        _list_missing(missing, err)
    return EXIT_OK


def _list_missing(missing: list[SecretReference], err: TextIO) -> None:
    for ref in missing:
        print(f"  - {ref.env_var} ({ref.field}: the {ref.purpose} of {ref.owner})", file=err)


def _print_summary(config: AppConfig, path: str, out: TextIO) -> None:
    master = config.master
    print(f"configuration OK: {path}", file=out)
    print(f"master     {master.id} ({master.venue}, position mode {master.position_mode})", file=out)
    print(f"followers  {len(config.followers)} ({len(config.enabled_followers)} enabled)", file=out)
    width = max(len(follower.id) for follower in config.followers)
    for follower in config.followers:
        flags = [follower.position_mode.value]
        if not follower.enabled:
            flags.append("disabled")
        if follower.paused:
            flags.append("paused")
        line = (
            f"  {follower.id:<{width}}  {follower.venue.value:<11}  {follower.sizing.describe()}  [{', '.join(flags)}]"
        )
        print(line, file=out)
    state = config.state
    where = state.sqlite_path if state.backend == "sqlite" else f"table prefix {state.dynamodb_table_prefix}"
    print(f"state      {state.backend} {where}", file=out)
    print(f"alerts     {', '.join(config.alerts.channel_names()) or 'none'}", file=out)
