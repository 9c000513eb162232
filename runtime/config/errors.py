"""``ConfigError`` and the translation of pydantic's validation errors into plain words with field paths.

A path reads like the TOML that holds it: ``followers[1].sizing.margin_pct``.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from runtime.config.fields import looks_like_secret_key

DOCS = "docs/configuration.md"


@dataclass(frozen=True)
class ConfigProblem:
    field: str  # "" for the file as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class ConfigError(Exception):
    """The configuration cannot be used. The message names the file, each bad field's path and what is wrong."""

    def __init__(self, source: Path | None, problems: Sequence[ConfigProblem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        where = f"{source}" if source is not None else "configuration"
        if len(self.problems) == 1:
            text = f"{where}: {self.problems[0]}"
        else:
            lines = "\n".join(f"  - {problem}" for problem in self.problems)
            text = f"{where}: {len(self.problems)} problems:\n{lines}"
        super().__init__(text)


def format_path(loc: Sequence[int | str]) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def problems_from_validation(error: ValidationError, root: type[BaseModel]) -> list[ConfigProblem]:
    problems = [_problem(detail, root) for detail in error.errors(include_url=False)]
    # Keep the file's order and drop repeats (a union can report one mistake twice).
    return list(dict.fromkeys(problems))


def _problem(detail: ErrorDetails, root: type[BaseModel]) -> ConfigProblem:
    loc = [part for part in detail["loc"] if part != "[key]"]
    kind = detail["type"]
    ctx: dict[str, Any] = dict(detail.get("ctx") or {})
    if kind == "config_field":
        return ConfigProblem(_join(format_path(loc), str(ctx["field"])), str(ctx["detail"]))
    path = format_path(loc)
    if kind == "missing":
        hint = ": add a [[followers]] table for each follower account" if path == "followers" else ""
        return ConfigProblem(path, f"is required but missing{hint}")
    if kind == "extra_forbidden":
        return ConfigProblem(path, _unknown_key_message(loc, root))
    return ConfigProblem(path, _plain(detail, kind))


def _join(base: str, field: str) -> str:
    if not base:
        return field
    return f"{base}{field}" if field.startswith("[") else f"{base}.{field}"


def _unknown_key_message(loc: Sequence[int | str], root: type[BaseModel]) -> str:
    key = str(loc[-1])
    if looks_like_secret_key(key):
        return (
            "looks like a secret, and secrets may not be written in the config file; put it in an environment "
            f"variable and name that variable with a *_env setting (see {DOCS})"
        )
    model = _model_at(root, loc[:-1])
    hint = ""
    if model is not None:
        close = difflib.get_close_matches(key, list(model.model_fields), n=1)
        hint = f"; did you mean {close[0]}?" if close else f"; known settings here: {', '.join(_public(model))}"
    return f"is not a known setting{hint}"


def _public(model: type[BaseModel]) -> list[str]:
    return [name for name, info in model.model_fields.items() if not info.exclude]


def _model_at(root: type[BaseModel], loc: Sequence[int | str]) -> type[BaseModel] | None:
    """The model class that validates the table at ``loc`` (for suggesting the setting a typo meant)."""
    current: Any = root
    for part in loc:
        if isinstance(part, int):
            continue
        model = _as_model(current)
        if model is None or part not in model.model_fields:
            return None
        current = model.model_fields[part].annotation
    return _as_model(current)


def _as_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, tuple, list):
        for arg in typing.get_args(annotation):
            found = _as_model(arg)
            if found is not None:
                return found
    return None


_TYPE_WORDS = {
    "string_type": "must be a text string in quotes",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number",
    "dict_type": "must be a table (a [section] or { key = value })",
    "model_type": "must be a table (a [section] or { key = value })",
    "model_attributes_type": "must be a table (a [section] or { key = value })",
    "list_type": 'must be a list, e.g. ["BTCUSDT", "ETHUSDT"]',
    "tuple_type": 'must be a list, e.g. ["BTCUSDT", "ETHUSDT"]',
}


def _plain(detail: ErrorDetails, kind: str) -> str:
    if kind in _TYPE_WORDS:
        return f"{_TYPE_WORDS[kind]} (got {_toml_type(detail.get('input'))})"
    message = detail["msg"]
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    if kind in ("literal_error", "enum"):
        return message.replace("Input should be", "must be")
    return message.replace("Input should be", "must be").replace("String should", "must")


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__
