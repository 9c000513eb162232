"""Alerts as log lines (the console, and whatever the process's logging sends on): always there, costs nothing."""

from __future__ import annotations

import logging

from runtime.services.alerts.model import Alert, Severity

_LEVELS = {Severity.INFO: logging.INFO, Severity.WARNING: logging.WARNING, Severity.CRITICAL: logging.CRITICAL}


class ConsoleNotifier:
    def __init__(self, logger: logging.Logger | None = None) -> None:
        # A logger of its own, so operators can route alerts (a file, a terminal) apart from diagnostics.
        self._log = logger or logging.getLogger("copytrader.alerts")

    @property
    def name(self) -> str:
        return "console"

    async def send(self, alert: Alert) -> None:
        detail = " | ".join(line for line in alert.text.splitlines() if line.strip())
        self._log.log(
            _LEVELS[alert.severity], "ALERT %s%s [%s]", alert.headline(), f" -- {detail}" if detail else "", alert.key
        )

    async def close(self) -> None:
        return None
