"""Log lines never carry a registered secret, whichever logger wrote them."""

from __future__ import annotations

import io
import logging

import pytest
from rich.console import Console

from runtime.adapters.common.redaction import SecretRegistry
from runtime.cli.logging_setup import configure_logging


@pytest.mark.parametrize("terminal", [True, False])
def test_secrets_are_redacted_from_every_logger(terminal: bool, capsys: pytest.CaptureFixture[str]) -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, force_terminal=terminal, width=200)
    secrets = SecretRegistry()
    secrets.add("sk-live-0123456789abcdef")
    handler = configure_logging(console, secrets)
    try:
        logging.getLogger("some.library").warning("request failed for key %s", "sk-live-0123456789abcdef")
    finally:
        logging.getLogger().removeHandler(handler)
    output = buffer.getvalue() + capsys.readouterr().err
    assert "request failed for key ***" in output
    assert "0123456789abcdef" not in output
