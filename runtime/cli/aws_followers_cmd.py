"""`copytrader aws followers add|list|pause|resume|remove`: manage the followers of an AWS deployment without
redeploying (docs/aws-runtime.md). The registry is the followers DynamoDB table; the dispatcher and executor read it
for every message, so a change applies from the next master change on.

- ``add --file FOLLOWER.toml [--replace] [--secret-prefix PREFIX]``: register the follower(s) of the file:
  ``[[followers]]`` tables exactly as in the local config file, or one follower's keys at the top level.
  ``--replace`` updates a registered one; ``--secret-prefix`` records ``PREFIX<id>`` as the follower's secret.
- ``list``: every registered follower with its venue, sizing and state.
- ``pause ID`` / ``resume ID``: the kill switch (new copies stop from the follower's next job; closes go through).
- ``remove ID``: stop copying for the follower for good. Its open positions stay open: close them first.

The table is ``--table NAME`` or the ``FOLLOWERS_TABLE`` environment variable; AWS credentials and region come from
the usual AWS environment (``--region``, ``--endpoint-url`` for a local AWS). Exit codes: 0 done, 2 could not run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from runtime.adapters.dynamodb.followers import FollowerRegistry, RegisteredFollower
    from runtime.config import FollowerConfig

EXIT_OK = 0
EXIT_USAGE = 2
TABLE_ENV = "FOLLOWERS_TABLE"  # = runtime.adapters.dynamodb.schema.FOLLOWERS.env_var (kept import-free here)


class CommandError(Exception):
    """Something the operator must fix; the message says what."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    aws = subparsers.add_parser("aws", help="manage an AWS deployment (followers registry)")
    aws_commands = aws.add_subparsers(dest="aws_command", required=True)
    followers = aws_commands.add_parser(
        "followers",
        help="add, list, pause, resume or remove followers without redeploying",
        description="Manage the followers registry (the followers DynamoDB table) of an AWS deployment.",
    )
    actions = followers.add_subparsers(dest="followers_action", required=True)
    add = actions.add_parser("add", help="register the follower(s) of a TOML file")
    add.add_argument("--file", required=True, metavar="FOLLOWER.toml", help="[[followers]] tables or one follower")
    add.add_argument("--replace", action="store_true", help="update followers that are already registered")
    add.add_argument(
        "--secret-prefix",
        metavar="PREFIX",
        help="record PREFIX<id> as each follower's Secrets Manager secret, e.g. copytrader/prod/followers/",
    )
    actions.add_parser("list", help="list the registered followers")
    for name, text in (
        ("pause", "stop new copies for the follower (closes still go through)"),
        ("resume", "copy for the follower again"),
        ("remove", "remove the follower from the registry (its positions stay open)"),
    ):
        action = actions.add_parser(name, help=text)
        action.add_argument("follower_id", metavar="ID")
    for action in actions.choices.values():
        action.add_argument("--table", help=f"the followers table name (default: ${TABLE_ENV})")
        action.add_argument("--region", help="AWS region (default: the AWS environment's)")
        action.add_argument("--endpoint-url", help="a local AWS endpoint, e.g. http://127.0.0.1:5000")
        action.set_defaults(handler=run_aws_followers)


def run_aws_followers(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    from runtime.config import ConfigError
    from runtime.ports.store import StoreError

    out = out or sys.stdout
    command = f"aws followers {args.followers_action}"
    try:
        registry = open_registry(args.table, region=args.region, endpoint_url=args.endpoint_url)
        if args.followers_action == "add":
            configs = load_follower_file(Path(args.file))
            add_followers(registry, configs, replace=args.replace, secret_prefix=args.secret_prefix, out=out)
        elif args.followers_action == "list":
            print_followers(registry.list_followers(), out)
        elif args.followers_action == "pause":
            registry.pause(args.follower_id)
            print(
                f"follower {args.follower_id} paused: no new copies from its next job on; closes still go through",
                file=out,
            )
        elif args.followers_action == "resume":
            resume(registry, args.follower_id, out)
        else:
            removed = registry.remove(args.follower_id)
            print(
                f"follower {removed.follower_id} removed: no more copies. Positions it holds on "
                f"{removed.config.venue.value} stay open; close them on the venue if you no longer want them",
                file=out,
            )
    except (CommandError, ConfigError, StoreError) as exc:
        print(f"copytrader {command}: {exc}", file=err or sys.stderr)
        return EXIT_USAGE
    return EXIT_OK


def open_registry(table: str | None, *, region: str | None, endpoint_url: str | None) -> FollowerRegistry:
    from runtime.adapters.dynamodb.followers import FollowerRegistry
    from runtime.adapters.dynamodb.reads import dynamodb_client

    name = table or os.environ.get(TABLE_ENV)
    if not name:
        raise CommandError(
            f"which followers table? pass --table NAME or set {TABLE_ENV} (the data stack names it "
            "copytrader-<env>-followers, e.g. copytrader-prod-followers)"
        )
    return FollowerRegistry(dynamodb_client(region=region, endpoint_url=endpoint_url), name)


def load_follower_file(path: Path) -> list[FollowerConfig]:
    """The followers of ``path``: ``[[followers]]`` tables, or one follower's keys at the top level."""
    from pydantic import ValidationError

    from runtime.config import ConfigError, ConfigProblem, FollowerConfig
    from runtime.config.errors import problems_from_validation

    try:
        raw: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"{path}: cannot be read ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(path, [ConfigProblem("", f"is not valid TOML: {exc}")]) from None
    as_array = "followers" in raw
    tables = raw.get("followers", [raw])
    if not isinstance(tables, list) or not tables:
        raise ConfigError(path, [ConfigProblem("followers", "must be one or more [[followers]] tables")])
    configs: list[FollowerConfig] = []
    problems: list[ConfigProblem] = []
    for index, table in enumerate(tables):
        where = f"followers[{index}]" if as_array else ""
        try:
            configs.append(FollowerConfig.model_validate(table))
        except ValidationError as exc:
            for problem in problems_from_validation(exc, FollowerConfig):
                field = ".".join(part for part in (where, problem.field) if part)
                problems.append(ConfigProblem(field, problem.message))
    ids = [config.id for config in configs]
    repeated = sorted(follower_id for follower_id in set(ids) if ids.count(follower_id) > 1)
    problems.extend(ConfigProblem("id", f"{dup!r} appears more than once in the file") for dup in repeated)
    if problems:
        raise ConfigError(path, problems)
    return configs


def add_followers(
    registry: FollowerRegistry,
    configs: list[FollowerConfig],
    *,
    replace: bool,
    secret_prefix: str | None,
    out: TextIO,
) -> None:
    for config in configs:
        secret_id = f"{secret_prefix}{config.id}" if secret_prefix else None
        registry.put(config, replace=replace, secret_id=secret_id)
        state = "enabled" if config.enabled else "disabled (enabled = false)"
        keys = f", keys in secret {secret_id}" if secret_id else ""
        print(
            f"follower {config.id} registered: {config.venue.value}, {config.sizing.describe()}, {state}{keys}",
            file=out,
        )


def resume(registry: FollowerRegistry, follower_id: str, out: TextIO) -> None:
    registry.resume(follower_id)
    follower = registry.require(follower_id)
    print(f"follower {follower_id} resumed: copying from the next master change", file=out)
    if follower.config.paused:
        print(
            "note: its registered config says paused = true, which keeps it paused; remove that line and run "
            "`copytrader aws followers add --replace --file FOLLOWER.toml`",
            file=out,
        )


def print_followers(followers: list[RegisteredFollower], out: TextIO) -> None:
    if not followers:
        print("no followers registered; add one with `copytrader aws followers add --file FOLLOWER.toml`", file=out)
        return
    header = f"{'ID':<20} {'VENUE':<12} {'STATE':<10} {'SIZING':<34} UPDATED (UTC)"
    print(header, file=out)
    for follower in followers:
        config = follower.config
        if not config.enabled:
            state = "disabled"
        elif follower.copying_paused:
            state = "paused"
        else:
            state = "copying"
        updated = datetime.fromtimestamp(follower.updated_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S")
        sizing = config.sizing.describe()
        print(f"{config.id:<20} {config.venue.value:<12} {state:<10} {sizing:<34} {updated}", file=out)
