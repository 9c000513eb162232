"""Reading a configuration file: TOML -> validated ``AppConfig``, or a ``ConfigError`` saying exactly what is wrong.

Loading never reads the environment: secrets are resolved separately (``runtime.config.credentials``) so a config
can be checked on a machine without the keys.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from runtime.config.errors import ConfigError, ConfigProblem, problems_from_validation
from runtime.config.model import AppConfig

EXAMPLE = "examples/copytrader.example.toml"


def load_config(path: str | Path) -> AppConfig:
    """Read and validate a TOML config file. Raises ``ConfigError`` naming the file, the field and the problem."""
    source = Path(path)
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            source, [ConfigProblem("", f"no such file; pass --config PATH, or start from {EXAMPLE}")]
        ) from None
    except IsADirectoryError:
        raise ConfigError(source, [ConfigProblem("", "is a directory; pass the path of a .toml file")]) from None
    except OSError as exc:
        raise ConfigError(source, [ConfigProblem("", f"cannot be read: {exc.strerror or exc}")]) from None
    try:
        raw = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(source, [ConfigProblem("", "is not UTF-8 text; save it as UTF-8")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [ConfigProblem("", f"is not valid TOML: {exc}")]) from None
    return parse_config(raw, source=source)


def parse_config(raw: Mapping[str, Any], *, source: Path | None = None) -> AppConfig:
    """Validate already-parsed TOML. With ``source``, a relative ``state.sqlite_path`` is made relative to the
    file's directory (so the state file does not move with the working directory)."""
    try:
        config = AppConfig.model_validate(dict(raw))
    except ValidationError as exc:
        raise ConfigError(source, problems_from_validation(exc, AppConfig)) from None
    if source is not None:
        config = _anchor_sqlite_path(config, source.resolve().parent)
    return config


def _anchor_sqlite_path(config: AppConfig, base: Path) -> AppConfig:
    sqlite_path = Path(config.state.sqlite_path).expanduser()
    if not sqlite_path.is_absolute():
        sqlite_path = base / sqlite_path
    state = config.state.model_copy(update={"sqlite_path": str(sqlite_path)})
    return config.model_copy(update={"state": state})
