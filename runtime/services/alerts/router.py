"""Which channels an alert goes to: each channel has a minimum severity (SMS defaults to critical only, because
texts cost money and wake people; the console defaults to everything)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from runtime.services.alerts.model import Alert, AlertChannel, Severity


@dataclass(frozen=True)
class Route:
    channel: AlertChannel
    min_severity: Severity


class AlertRouter:
    def __init__(self, routes: Iterable[Route]) -> None:
        self._routes = tuple(routes)
        names = [route.channel.name for route in self._routes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            # Per-channel queues and counters are keyed by name; two channels with one name would share them.
            raise ValueError(f"alert channel names must be unique; repeated: {', '.join(duplicates)}")

    @property
    def routes(self) -> tuple[Route, ...]:
        return self._routes

    def channels_for(self, alert: Alert) -> list[AlertChannel]:
        """The channels whose minimum severity this alert reaches, in configuration order."""
        return [route.channel for route in self._routes if alert.severity.at_least(route.min_severity)]
