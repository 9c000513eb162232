"""The engine's live status, as rich renderables: the latest master change and one line per follower.

Shared by ``copytrader run`` and ``copytrader demo``; both feed it from a ``StatusBoard`` observer.
"""

from __future__ import annotations

from collections.abc import Mapping

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from runtime.services.observers import EngineCounters, StatusBoard


def feed_connected(feed: object) -> bool | None:
    """Whether the master's private stream is up (None when the feed does not say)."""
    stats = getattr(feed, "stats", None)
    return None if stats is None else bool(getattr(stats, "connected", False))


def follower_table(board: StatusBoard, venues: Mapping[str, str], title: str = "followers") -> Table:
    table = Table(title=title, title_justify="left", expand=True)
    table.add_column("follower", no_wrap=True)
    table.add_column("venue", no_wrap=True)
    table.add_column("state", no_wrap=True)
    table.add_column("placed", justify="right")
    table.add_column("refused", justify="right")
    table.add_column("failed", justify="right")
    table.add_column("latency", justify="right")
    table.add_column("last action", overflow="fold")
    for follower_id, venue in venues.items():
        status = board.status(follower_id)
        if status.running:
            state = Text(f"running {status.running}", style="yellow")
        elif status.queued:
            state = Text(f"{status.queued} queued", style="yellow")
        else:
            state = Text("idle", style="green")
        latency = f"{status.last_latency_s * 1000:.0f} ms" if status.last_latency_s is not None else "-"
        table.add_row(
            follower_id,
            venue,
            state,
            str(status.placed),
            Text(str(status.refused), style="yellow" if status.refused else ""),
            Text(str(status.failed), style="red" if status.failed else ""),
            latency,
            status.last_action,
        )
    return table


def master_line(board: StatusBoard, connected: bool | None = None) -> Text:
    line = Text("master: ", style="bold")
    if connected is not None:
        line.append(
            "stream up  " if connected else "stream DOWN (replaying over REST)  ", "green" if connected else "red"
        )
    line.append(f"last change {board.last_master_change}")
    return line


def counters_line(counters: EngineCounters) -> Text:
    p50 = counters.latency_percentile_s(0.5)
    p99 = counters.latency_percentile_s(0.99)
    latency = f"copy latency p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms" if p50 is not None and p99 else ""
    orders = ", ".join(f"{count} {status}" for status, count in sorted(counters.orders.items())) or "no orders yet"
    return Text(
        f"master changes {counters.master_changes} | jobs {counters.jobs_finished}/{counters.jobs_queued} done"
        f" | orders: {orders}" + (f" | {latency}" if latency else ""),
        style="dim",
    )


def engine_view(
    board: StatusBoard, counters: EngineCounters, venues: Mapping[str, str], connected: bool | None = None
) -> RenderableType:
    return Group(master_line(board, connected), follower_table(board, venues), counters_line(counters))
