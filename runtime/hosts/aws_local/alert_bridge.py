"""The demo's alert feed as an alert channel of the AWS services.

The services deliver alerts on their own loop thread; the feed and its listeners (the demo's alert log and live
view) live on the host's loop. ``LoopFeedChannel`` hands each alert over to that loop and waits until the feed has
it, so a drained dispatcher means the feed holds every alert.
"""

from __future__ import annotations

import asyncio

from runtime.adapters.notifiers.feed import AlertFeed
from runtime.services.alerts.model import Alert


class LoopFeedChannel:
    """``AlertChannel`` that sends to ``feed`` on ``loop``."""

    def __init__(self, feed: AlertFeed, loop: asyncio.AbstractEventLoop, *, name: str = "feed") -> None:
        self._feed = feed
        self._loop = loop
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def send(self, alert: Alert) -> None:
        if self._loop.is_closed():
            return
        await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(self._feed.send(alert), self._loop))

    async def close(self) -> None:
        return None
