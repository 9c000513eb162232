"""The notification pipeline: alerts routed by severity to channels, delivered in the background."""

from runtime.services.alerts.dispatcher import AlertDispatcher, ChannelStats, DeliveryPolicy
from runtime.services.alerts.model import Alert, AlertChannel, DeliveryError, Severity
from runtime.services.alerts.router import AlertRouter, Route

__all__ = [
    "Alert",
    "AlertChannel",
    "AlertDispatcher",
    "AlertRouter",
    "ChannelStats",
    "DeliveryError",
    "DeliveryPolicy",
    "Route",
    "Severity",
]
