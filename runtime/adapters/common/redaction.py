"""Keeping secrets out of logs, reprs and exception text."""

from __future__ import annotations

import logging
import threading


class SecretRegistry:
    """Known secret values; anything logged through ``RedactingFilter`` has them replaced by ``***``."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add(self, secret: str) -> None:
        # Very short values would redact ordinary words; real keys are long.
        if len(secret) >= 6:
            with self._lock:
                self._secrets.add(secret)

    def redact(self, text: str) -> str:
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            if secret in text:
                text = text.replace(secret, "***")
        return text


class RedactingFilter(logging.Filter):
    def __init__(self, registry: SecretRegistry) -> None:
        super().__init__()
        self.registry = registry

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self.registry.redact(message)
        if redacted != message:
            record.msg = redacted
            record.args = None
        return True


def mask(value: str, keep: int = 4) -> str:
    """A key id shown to humans: the first ``keep`` characters, then stars."""
    return value[:keep] + "***" if len(value) > keep else "***"
