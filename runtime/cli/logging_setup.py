"""Readable logs for the long-running commands, with every known secret redacted from every line."""

from __future__ import annotations

import logging
import sys

from rich.console import Console
from rich.logging import RichHandler

from runtime.adapters.common.redaction import RedactingFilter, SecretRegistry

# Chatty third-party loggers: their INFO lines are transport noise next to the engine's own.
QUIET_LOGGERS = ("websockets", "urllib3", "aiohttp.access", "pybit", "binance", "hyperliquid")
PLAIN_FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure_logging(console: Console, secrets: SecretRegistry, *, level: int = logging.INFO) -> logging.Handler:
    """Send the root logger's records to the terminal through ``console`` (rich, so a live view stays intact), or as
    plain one-line records to stderr when there is no terminal (a service, a pipe, CI). Secrets are redacted: the
    filter sits on the handler, so records of every logger pass through it. Returns the handler (to remove it)."""
    handler: logging.Handler
    if console.is_terminal:
        handler = RichHandler(console=console, show_path=False, rich_tracebacks=False, markup=False)
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter(PLAIN_FORMAT))
    handler.addFilter(RedactingFilter(secrets))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(level, logging.WARNING))
    return handler
