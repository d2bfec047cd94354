"""What every collector shares: the sink it writes to, its counters, and its shape.

A collector parses each frame once, at the edge; a frame that cannot become a record raises
`ParseError`, is counted by reason and dropped, and never causes a reconnect (treating parse bugs
as network errors is how reconnect storms start). Silence is different: a stream whose event id
stops advancing for longer than its limit is reported stale and its connection replaced
(`wsfeed.WsFeed`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Protocol

from monitor.records import Record

__all__ = ["Collector", "CollectorStats", "RecordSink", "TaskFactory"]

TaskFactory = Callable[[], Awaitable[None]]


class RecordSink(Protocol):
    def put(self, record: Record) -> None: ...


class CollectorStats:
    """Counters read by the metrics exporter at scrape time."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.messages: Counter[str] = Counter()  # by socket
        self.dropped: Counter[str] = Counter()  # by reason
        self.reconnects: Counter[str] = Counter()  # by socket name
        self.connected: dict[str, bool] = {}  # by socket name
        # notable events by kind: rotation, stale_reconnect, rate_limited, margin_call, liquidation,
        # adl, listen_key_expired, listen_key_kept_alive, reconcile_drift, rest_failure
        self.events: Counter[str] = Counter()

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1


class Collector(Protocol):
    """One venue's collector: named task factories for the supervisor, and a start-up key check."""

    venue: str
    stats: CollectorStats

    def tasks(self) -> dict[str, TaskFactory]: ...

    async def check_keys(self) -> None:
        """Refuse keys that can trade, transfer or withdraw (unless the config allows trading)."""
        ...
