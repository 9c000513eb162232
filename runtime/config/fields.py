"""Field types shared by the configuration models: exact numbers, env-var names, literal-secret traps, URLs.

Every check raises ``PydanticCustomError`` with a plain-words message; the loader prefixes it with the field path.
A message never repeats the value it refused when that value might be a secret.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo
from pydantic_core import PydanticCustomError

from runtime.domain.values import to_decimal

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_URL = re.compile(r"^(https?|wss?)://[^\s/]+", re.IGNORECASE)


class ConfigModel(BaseModel):
    """Base of every config section: unknown keys are errors (typos fail loudly), values are immutable, and
    pydantic's own error text never includes the input (it could be a secret)."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, hide_input_in_errors=True)


def _field(info: ValidationInfo) -> str:
    return info.field_name or "value"


def _exact_number(value: object, info: ValidationInfo) -> object:
    """TOML strings and integers become Decimal; TOML floats are refused because binary floats lose digits."""
    if isinstance(value, bool):
        raise PydanticCustomError("number_type", "must be a number, not true/false")
    if isinstance(value, float):
        raise PydanticCustomError(
            "float_number",
            'is written as a TOML float ({value}); floats lose digits, so quote it as a string: {field} = "{value}"',
            {"value": repr(value), "field": _field(info)},
        )
    if isinstance(value, str) and not value.strip():
        raise PydanticCustomError("number_empty", 'is empty; write a number as a quoted string, e.g. "0.2"')
    if isinstance(value, (str, int, Decimal)):
        try:
            return to_decimal(value, field=_field(info))
        except (TypeError, ValueError):
            raise PydanticCustomError(
                "number_parsing", 'is not a number; write it as a quoted decimal string, e.g. "0.2"'
            ) from None
    raise PydanticCustomError("number_type", 'must be a number written as a quoted string, e.g. "0.2"')


ExactDecimal = Annotated[Decimal, BeforeValidator(_exact_number)]
PositiveDecimal = Annotated[Decimal, BeforeValidator(_exact_number), Field(gt=0)]


def _seconds(value: object) -> object:
    # Durations are timings, not money: TOML floats are fine here; booleans are not numbers.
    if isinstance(value, bool):
        raise PydanticCustomError("seconds_type", "must be a number of seconds, not true/false")
    return value


Seconds = Annotated[float, BeforeValidator(_seconds), Field(gt=0)]
SecondsOrZero = Annotated[float, BeforeValidator(_seconds), Field(ge=0)]


def _env_var_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        # The value might be the secret itself pasted in by mistake: never echo it.
        raise PydanticCustomError(
            "env_var_name",
            "must be the NAME of an environment variable (letters, digits and _, e.g. ALICE_API_SECRET), "
            "not the secret itself; set the secret in that variable",
        )
    return value


EnvVarName = Annotated[str, AfterValidator(_env_var_name)]


def _identifier(value: str) -> str:
    if not _IDENTIFIER.match(value):
        raise PydanticCustomError(
            "identifier",
            "must be 1-64 characters of letters, digits, '_', '.' or '-', starting with a letter or digit "
            "(it names the account in the state store and in logs); got '{value}'",
            {"value": value},
        )
    return value


Identifier = Annotated[str, AfterValidator(_identifier)]


def _url(value: str) -> str:
    if not _URL.match(value):
        raise PydanticCustomError(
            "url",
            "must be a full URL such as https://api.example.com or wss://stream.example.com; got '{value}'",
            {"value": value},
        )
    return value.rstrip("/")


Url = Annotated[str, AfterValidator(_url)]


def _refuse_literal_secret(value: object, info: ValidationInfo) -> None:
    if value is None:
        return None
    name = _field(info)
    raise PydanticCustomError(
        "literal_secret",
        "a secret may not be written in the config file (it would end up in backups, diffs and logs); put it in "
        'an environment variable and name that variable instead: {name}_env = "{example}"',
        {"name": name, "example": f"MY_{name.upper()}"},
    )


# A field named like a secret (``api_secret``) next to its env-var reference (``api_secret_env``): present only to
# turn the common mistake into a clear message instead of "unknown setting".
LiteralSecretTrap = Annotated[Any, BeforeValidator(_refuse_literal_secret), Field(exclude=True, repr=False)]

SECRET_WORDS = ("secret", "private_key", "privatekey", "password", "passphrase", "token", "mnemonic", "seed")


def looks_like_secret_key(key: str) -> bool:
    """Whether an unknown config key probably holds a secret (so the error explains env vars, not spelling)."""
    lowered = key.lower()
    return not lowered.endswith("_env") and any(word in lowered for word in SECRET_WORDS)
