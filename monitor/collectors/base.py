"""What every collector shares: the sink it writes to, its counters, and the stream loop.

A collector parses each frame once, at the edge; a frame that cannot become a record raises
`ParseError`, is counted by reason and dropped, and never causes a reconnect (treating parse bugs
as network errors is how reconnect storms start). Silence is different: a socket that says nothing
for `stale_after_s` is reported stale and reconnected.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol

import structlog
import websockets
from websockets.asyncio.client import connect

from monitor.backoff import backoff
from monitor.clock import Clock
from monitor.errors import ParseError
from monitor.records import FeedState, FeedStatus, Record

__all__ = ["CollectorStats", "RecordSink", "run_ws_stream"]

log = structlog.get_logger(__name__)


class RecordSink(Protocol):
    def put(self, record: Record) -> None: ...


class CollectorStats:
    """Counters read by the metrics exporter at scrape time."""

    def __init__(self, venue: str) -> None:
        self.venue = venue
        self.messages: Counter[str] = Counter()  # by stream
        self.dropped: Counter[str] = Counter()  # by reason
        self.reconnects: Counter[str] = Counter()  # by socket name
        self.connected: dict[str, bool] = {}  # by socket name

    def drop(self, reason: str) -> None:
        self.dropped[reason] += 1


Parser = Callable[[bytes | str, int], Iterable[Record]]


async def run_ws_stream(
    *,
    name: str,
    url: str,
    streams: Sequence[str],
    parse: Parser,
    sink: RecordSink,
    clock: Clock,
    stats: CollectorStats,
    stale_after_s: float,
) -> None:
    """Connect, read and parse forever; reconnect with jittered backoff that resets on success.

    `streams` are the perpmon stream names carried by this socket: their FeedStatus follows the
    socket's fate (up on connect, stale on silence, down on error).
    """
    delays = backoff(initial_s=0.5, max_s=30.0)

    def status(state: FeedState, reason: str) -> None:
        now = clock.now_ns()
        for s in streams:
            sink.put(
                FeedStatus(
                    venue=stats.venue, ts_event_ns=now, ts_recv_ns=now, stream=s, state=state, reason=reason
                )
            )

    status(FeedState.DOWN, "connecting")
    while True:
        try:
            async with connect(url, open_timeout=10, ping_interval=20, ping_timeout=20, max_size=2**22) as ws:
                stats.connected[name] = True
                status(FeedState.UP, "")
                delays = backoff(initial_s=0.5, max_s=30.0)
                while True:
                    try:
                        raw = await asyncio.wait_for(ws.recv(), timeout=stale_after_s)
                    except TimeoutError:
                        status(FeedState.STALE, f"no message for {stale_after_s:g}s")
                        log.warning("stream silent, reconnecting", socket=name, after_s=stale_after_s)
                        break
                    now = clock.now_ns()
                    try:
                        for rec in parse(raw, now):
                            sink.put(rec)
                            stats.messages[name] += 1
                    except ParseError as exc:
                        stats.drop(exc.reason)
                        log.debug("frame dropped", socket=name, reason=exc.reason)
        except asyncio.CancelledError:
            stats.connected[name] = False
            raise
        except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
            status(FeedState.DOWN, type(exc).__name__)
            log.warning(
                "stream connection failed", socket=name, error=type(exc).__name__, detail=str(exc)[:200]
            )
        stats.connected[name] = False
        stats.reconnects[name] += 1
        await clock.sleep(next(delays))
