"""Quiet, or stalled? The half of `WsFeed` that probes a change-only feed's silent streams.

A venue that pushes only changes (Bybit's `tickers` and `orderbook.50`) says nothing while its
market is quiet, and silence alone cannot tell a quiet market from a stalled feed. Such a feed has
a `QuietProbe`: once a stream has been silent for half its limit, the feed sends the dialect's
application ping on that socket and asks the probe for the venue's current value over REST. A
stream whose socket answers the ping *and* whose REST value equals the last one pushed is quiet,
not stale: the REST record (stamped with the venue's reply time, so `lagging` still judges the
venue's clock) is stored and its silence counts from now. A stream whose REST value moved on has
missed a change, and is left to go stale at its limit; so is one whose probe fails. One probe per
stretch of silence: a stream is probed again only after it advanced or was confirmed.

Split from `wsfeed.py` as a mixin: the feed's loop decides when to look (`_quiet_due`) and runs
the probe as a task (`_confirm_quiet`); these read the feed's liveness and last records, which the
feed's reader keeps.
"""

from __future__ import annotations

import asyncio
import math
from typing import Protocol

import structlog
from websockets.asyncio.client import ClientConnection

from monitor.clock import NS_PER_S, Clock
from monitor.collectors.base import CollectorStats, RecordSink
from monitor.collectors.liveness import Liveness, progress
from monitor.collectors.ws_policy import NETWORK_ERRORS, QuietProbe, WsDialect, describe
from monitor.errors import FeedError, ParseError
from monitor.records import Record

__all__ = ["QUIET_PROBE_AT", "QuietProbing"]

log = structlog.get_logger("monitor.collectors.wsfeed")  # the feed's logger: one socket, one log name
QUIET_PROBE_AT = 0.5  # a silent stream is probed after this share of its limit


class _Socket(Protocol):
    ws: ClientConnection
    pong: asyncio.Event  # set when the socket answers a ping


class QuietProbing:
    """The quiet probe's state and steps, mixed into `WsFeed` (which sets every attribute below)."""

    name: str
    dialect: WsDialect
    limits: dict[str, float]
    clock: Clock
    stats: CollectorStats
    sink: RecordSink
    live: Liveness
    quiet: QuietProbe | None
    _current: object  # the feed's live connection: a probe's answer counts only for it
    _last: dict[str, Record]  # the last record per stream, for the quiet probe
    _probed: dict[str, int]  # stream → the progress time its last probe saw
    _pings: int

    def _quiet_due(self, now: int) -> tuple[list[str], float]:
        """Silent streams to probe now, and when the next one will be due.

        When one stream is due, every stream silent for half as long rides along: streams that
        fall quiet together are then confirmed together, one probe for all instead of a queue.
        """
        due: list[str] = []
        along: list[str] = []
        next_at = math.inf
        stale = self.live.stale
        for s in self._last:
            since = self.live.progress_ns(s)
            if s in stale or self._probed.get(s) == since:
                continue
            at = since + QUIET_PROBE_AT * self.limits[s] * NS_PER_S
            if at <= now:
                due.append(s)
            else:
                next_at = min(next_at, at)
                if now - since >= 0.5 * QUIET_PROBE_AT * self.limits[s] * NS_PER_S:
                    along.append(s)
        return (due + along if due else []), next_at

    async def _confirm_quiet(self, conn: _Socket, streams: list[str]) -> None:
        """Ping the socket and read the venue's values; confirm the streams both vouch for."""
        assert self.quiet is not None
        last = {s: self._last[s] for s in streams}
        for s in streams:
            self._probed[s] = self.live.progress_ns(s)
        deadline = min(self.live.progress_ns(s) + int(self.limits[s] * NS_PER_S) for s in streams)
        ping, is_pong = self.dialect.app_ping, self.dialect.is_pong
        try:
            if ping is not None and is_pong is not None:
                conn.pong.clear()
                self._pings += 1
                await conn.ws.send(ping(self._pings))
            fresh = await self.quiet.confirm(last)
            if ping is not None and is_pong is not None and not conn.pong.is_set():
                left = max(0.0, (deadline - self.clock.monotonic_ns()) / NS_PER_S)
                await asyncio.wait_for(conn.pong.wait(), left)
        except (FeedError, ParseError, TimeoutError, *NETWORK_ERRORS) as exc:
            self.stats.events["quiet_probe_failed"] += 1
            log.info("quiet probe failed", socket=self.name, error=describe(exc))
            return
        except Exception:  # a probe bug leaves the stream to its limit, like any failed probe
            self.stats.events["quiet_probe_failed"] += 1
            log.exception("quiet probe raised", socket=self.name)
            return
        now = self.clock.monotonic_ns()
        confirmed = 0
        for rec in fresh:
            key = progress(rec)
            if key is None or key[0] not in last or conn is not self._current:
                continue
            s = key[0]
            if self._last.get(s) is not last[s]:
                continue  # it spoke while we asked: it needs no confirmation
            if self.live.confirm(s, now):  # silence counts from now; the next probe is half a limit on
                self.sink.put(rec)
                confirmed += 1
        self.stats.events["quiet_confirmed"] += confirmed
        if confirmed < len(streams):  # moved on at the venue (or spoke meanwhile): left to its limit
            self.stats.events["quiet_unconfirmed"] += len(streams) - confirmed
