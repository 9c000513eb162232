"""What the operator commands (``audit``, ``follower``) share: load the config and open its state store, with
errors in plain words and exit code 2 instead of a traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from runtime.adapters.sqlite_store import SqliteStore
    from runtime.config import AppConfig

EXIT_USAGE = 2


class CommandError(Exception):
    """A problem the operator must fix before the command can run; the message says what and how."""


def load(path: str) -> AppConfig:
    from runtime.config import ConfigError, load_config

    try:
        return load_config(path)
    except ConfigError as exc:
        raise CommandError(f"invalid configuration\n{exc}") from None


def open_store(config: AppConfig, *, must_exist: bool) -> SqliteStore:
    """The local SQLite state store the engine uses with this config. ``must_exist``: refuse to create an empty
    one (a report over a store the engine never wrote would say nothing true)."""
    from runtime.adapters.sqlite_store import SqliteStore

    if config.state.backend != "sqlite":
        raise CommandError(
            f"state.backend is {config.state.backend}: this command reads the local SQLite state file; run it with "
            "a config whose state.backend is sqlite (the engine's local host)"
        )
    path = Path(config.state.sqlite_path)
    if must_exist and not path.is_file():
        raise CommandError(
            f"no state file at {path}: the engine has not run with this config yet (start it first), or "
            "state.sqlite_path points somewhere else"
        )
    return SqliteStore(path)


def follower_or_error(config: AppConfig, follower_id: str) -> None:
    known = [follower.id for follower in config.followers]
    if follower_id not in known:
        raise CommandError(f"no follower with id {follower_id!r} in the config; known ids: {', '.join(known)}")


def fail(command: str, exc: Exception, err: TextIO | None = None) -> int:
    print(f"copytrader {command}: {exc}", file=err or sys.stderr)
    return EXIT_USAGE
