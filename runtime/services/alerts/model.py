"""What an alert is, how severe it can be, and what a channel that delivers alerts looks like."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Severity(StrEnum):
    """The config's ``min_severity`` values; a channel gets every alert at or above its minimum."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def at_least(self, minimum: Severity) -> bool:
        return self.rank >= minimum.rank


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.CRITICAL: 2}


@dataclass(frozen=True)
class Alert:
    """One notification. ``key`` identifies what it is about (the audit's discrepancy key, say), so a receiver can
    tie an alert to its later "resolved" notice; ``kind`` is machine-readable (``SizeMismatch``, ``CopyFailed``)."""

    key: str
    kind: str
    severity: Severity
    title: str
    text: str
    created_ms: int
    follower_id: str | None = None
    symbol: str | None = None

    def headline(self) -> str:
        """``[CRITICAL] title (follower alice, BTCUSDT)``: the one line every channel starts with."""
        context = ", ".join(
            part for part in (f"follower {self.follower_id}" if self.follower_id else "", self.symbol or "") if part
        )
        suffix = f" ({context})" if context else ""
        return f"[{self.severity.value.upper()}] {self.title}{suffix}"

    def as_text(self) -> str:
        """Headline, then the detail: what a human reads in a chat or an e-mail."""
        return f"{self.headline()}\n{self.text}" if self.text else self.headline()

    def to_json(self) -> dict[str, object]:
        """The machine form (webhook body, SNS default message): plain JSON types only."""
        return {
            "key": self.key,
            "kind": self.kind,
            "severity": self.severity.value,
            "title": self.title,
            "text": self.text,
            "follower_id": self.follower_id,
            "symbol": self.symbol,
            "created_ms": self.created_ms,
        }


class DeliveryError(Exception):
    """A channel could not deliver an alert. ``retryable`` False means trying again cannot help (bad credentials,
    unknown chat): the dispatcher then gives up at once. The message never contains a secret."""

    def __init__(self, channel: str, message: str, *, retryable: bool) -> None:
        super().__init__(f"{channel}: {message}")
        self.channel = channel
        self.detail = message  # without the channel name, for log lines that already name it
        self.retryable = retryable


class AlertChannel(Protocol):
    """One way out (Telegram, SMS, SNS, console, webhook). ``send`` raises ``DeliveryError`` (or a transport
    error) on failure; the dispatcher owns timeouts and retries, so ``send`` makes exactly one attempt."""

    @property
    def name(self) -> str: ...

    async def send(self, alert: Alert) -> None: ...

    async def close(self) -> None: ...
