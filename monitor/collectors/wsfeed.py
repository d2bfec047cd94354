"""One market-data WebSocket, kept honest: per-stream staleness, paced subscribes, make-before-break.

The loop: open a connection (after the venue's cool-down and the connection pacer), SUBSCRIBE in
paced batches, and read. A reader task parses and stores frames; the watcher wakes at the next
deadline. Three things end a connection's life:

* the venue closes it or it breaks (ping timeout) — every stream on it is DOWN, and a new one is
  opened after a jittered backoff that resets once a connection has delivered data;
* one of its streams stops advancing beyond its limit (`cadence.stream_limits`) — that stream is
  STALE (the `feed_stale` figure alerts) and the connection is replaced; repeated forced
  replacements back off, so a stream that is dead at the venue cannot cause a reconnect storm;
* it nears the venue's 24 h cut (`connection_max_age_s`) — it is rotated.

A change-only venue's silent streams are probed before they count as stale (`ws_quiet.py`); what
the socket is told (policy, dialect, probe) is `ws_policy.py`'s, re-exported here.

Replacements are make-before-break: the new connection is subscribed before the old one is
closed, both are read during a short overlap, and the per-stream sequence drops the duplicates.

Streams can be added while the socket runs (`add`: a symbol an account was found to hold). The
feed's own task sends the SUBSCRIBE, on the live connection and through that connection's pacer,
so added and initial subscribes together stay under the venue's inbound message limit, and every
later connection subscribes the whole list.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import structlog
import websockets
from websockets.asyncio.client import ClientConnection

from monitor.backoff import backoff
from monitor.clock import NS_PER_S, Clock
from monitor.collectors import ws_policy as policy
from monitor.collectors.base import CollectorStats, RecordSink
from monitor.collectors.liveness import Liveness, progress
from monitor.collectors.pacing import Cooldown, Pacer, retry_after_s
from monitor.collectors.ws_policy import NETWORK_ERRORS, Parser, WsDialect, WsPolicy, open_socket, ws_policy
from monitor.collectors.ws_quiet import QUIET_PROBE_AT, QuietProbing
from monitor.errors import ParseError
from monitor.records import FeedState, FeedStatus, Record

# all but WsFeed are ws_policy.py's, re-exported: the collectors import a socket's parts from here
__all__ = ["NETWORK_ERRORS", "Parser", "WsDialect", "WsFeed", "WsPolicy", "open_socket", "ws_policy"]

log = structlog.get_logger(__name__)

_CHECK_EVERY_S = 5.0  # the watcher wakes at least this often


class _Why(enum.Enum):
    CLOSED = "closed"
    STALE = "stale"
    ROTATE = "rotate"


@dataclass(slots=True)
class _Conn:
    ws: ClientConnection
    reader: asyncio.Task[None]
    rotate_at_ns: int
    pacer: Pacer  # this connection's subscribe messages (the venue counts per connection)
    sent: int = 0  # how many of the feed's subscriptions this connection has asked for
    requests: int = 0  # subscribe messages sent (their ids)
    delivered: bool = False
    pong: asyncio.Event = field(default_factory=asyncio.Event)  # set when the socket answers a ping


class WsFeed(QuietProbing):
    def __init__(
        self,
        *,
        name: str,
        url: str,
        subscriptions: Sequence[str],
        limits: Mapping[str, float],
        parse: Parser,
        sink: RecordSink,
        clock: Clock,
        stats: CollectorStats,
        policy: WsPolicy,
        connect_pacer: Pacer,
        cooldown: Cooldown,
        dialect: WsDialect = policy.BINANCE_DIALECT,
        quiet: policy.QuietProbe | None = None,
    ) -> None:
        self.name = name
        self.dialect = dialect
        self.url = url
        self.subscriptions = tuple(subscriptions)
        self.limits = dict(limits)
        self.parse = parse
        self.sink = sink
        self.clock = clock
        self.stats = stats
        self.policy = policy
        self._connect_pacer = connect_pacer
        self._cooldown = cooldown
        self.live = Liveness(self.limits, clock.monotonic_ns())
        self._delays = self._fresh_backoff()
        self._stale_delays = self._stale_backoff()
        self._next_forced_ns = 0
        self._current: _Conn | None = None
        self._added = asyncio.Event()
        self._retiring: dict[asyncio.Task[None], _Conn] = {}  # old connections in their overlap
        self.quiet = quiet
        self._last: dict[str, Record] = {}  # the last record per stream, for the quiet probe
        self._probed: dict[str, int] = {}  # stream → the progress time its last probe saw
        self._probe: asyncio.Task[None] | None = None
        self._pings = 0
        self._quiet_step_ns = int(QUIET_PROBE_AT * min(self.limits.values(), default=1.0) * NS_PER_S)

    def add(self, subscriptions: Sequence[str], limits: Mapping[str, float]) -> None:
        """Watch more streams on this socket from now on; their silence counts from now."""
        new = [s for s in subscriptions if s not in self.subscriptions]
        if not new:
            return
        self.subscriptions += tuple(new)
        fresh = {s: v for s, v in limits.items() if s not in self.limits}
        self.limits.update(fresh)
        self.live.add(fresh, self.clock.monotonic_ns())
        self._status(fresh, FeedState.DOWN, "subscribing")
        self._added.set()

    def _fresh_backoff(self) -> Iterator[float]:
        return backoff(initial_s=self.policy.backoff_initial_s, max_s=self.policy.backoff_max_s)

    def _stale_backoff(self) -> Iterator[float]:
        first = max(1.0, min(self.limits.values(), default=1.0))
        return backoff(initial_s=first, max_s=self.policy.stale_backoff_max_s, jitter=0.2)

    # ---------------------------------------------------------------- the loop
    async def run(self) -> None:
        self._status(self.live.streams, FeedState.DOWN, "connecting")
        try:
            while True:
                if self._current is None:
                    self._current = await self._open_until_up()
                    self.live.restart(self.clock.monotonic_ns())
                why, detail = await self._watch(self._current)
                if why is _Why.CLOSED:
                    self._lost(detail)
                    await self.clock.sleep(next(self._delays))
                    continue
                await self._replace(why)
        finally:
            await self._shutdown()

    async def _open_until_up(self) -> _Conn:
        while True:
            try:
                return await self._open()
            except NETWORK_ERRORS as exc:
                self._status(self.live.streams, FeedState.DOWN, type(exc).__name__)
                log.warning("stream connect failed", socket=self.name, error=policy.describe(exc))
                self.stats.reconnects[self.name] += 1
                await self.clock.sleep(next(self._delays))

    async def _replace(self, why: _Why) -> None:
        """Make-before-break: subscribe a new connection, then retire the old one."""
        old = self._current
        if old is None:
            return
        try:
            new = await self._open()
        except NETWORK_ERRORS as exc:
            log.warning(
                "replacement connect failed", socket=self.name, why=why.value, error=policy.describe(exc)
            )
            if why is _Why.ROTATE:  # the old one still works: try again later
                old.rotate_at_ns = self.clock.monotonic_ns() + int(next(self._delays) * NS_PER_S)
                return
            await self._close(old)
            self._lost("stale, and the replacement failed")
            await self.clock.sleep(next(self._delays))
            return
        self._current = new
        self.live.restart(self.clock.monotonic_ns(), self.live.stale)
        self.stats.events["rotation" if why is _Why.ROTATE else "stale_reconnect"] += 1
        self.stats.reconnects[self.name] += 1
        log.info("connection replaced", socket=self.name, why=why.value, stale=sorted(self.live.stale))
        task = asyncio.create_task(self._retire(old), name=f"{self.name}.retire")
        self._retiring[task] = old
        task.add_done_callback(lambda t: self._retiring.pop(t, None))

    async def _watch(self, conn: _Conn) -> tuple[_Why, str]:
        """Wake at each deadline; say why this connection should end."""
        while True:
            now = self.clock.monotonic_ns()
            for s in self.live.overdue(now):
                silent = self.live.silent_for_s(s, now)
                reason = f"no new event for {silent:.1f}s (limit {self.limits[s]:g}s)"
                self._status([s], FeedState.STALE, reason)
                log.warning("stream stale", socket=self.name, stream=s, silent_s=round(silent, 2))
            if self.live.stale:
                if now >= self._next_forced_ns:
                    self._next_forced_ns = now + int(next(self._stale_delays) * NS_PER_S)
                    return _Why.STALE, ""
            elif self._next_forced_ns:
                self._next_forced_ns = 0
                self._stale_delays = self._stale_backoff()
            if now >= conn.rotate_at_ns:
                return _Why.ROTATE, ""
            if conn.sent < len(self.subscriptions):
                try:
                    await self._subscribe(conn)
                except NETWORK_ERRORS as exc:
                    return _Why.CLOSED, policy.describe(exc)
                continue
            wake = min(self.live.next_deadline_ns(), float(conn.rotate_at_ns))
            if self.quiet is not None and (self._probe is None or self._probe.done()):
                due, next_probe = self._quiet_due(now)
                if due:
                    probe = self._confirm_quiet(conn, due)
                    self._probe = asyncio.create_task(probe, name=f"{self.name}.quiet")
                else:  # a stream that first spoke after this sleep began is looked at in time too
                    wake = min(wake, next_probe, now + self._quiet_step_ns)
            if self.live.stale:
                wake = min(wake, float(self._next_forced_ns))
            timeout = min(_CHECK_EVERY_S, max(0.0, (wake - now) / NS_PER_S)) + 0.001
            added = asyncio.ensure_future(self._added.wait())
            waits: set[asyncio.Future[Any]] = {conn.reader, added}
            if self._probe is not None and not self._probe.done():
                waits.add(self._probe)  # a confirmation moves the next probe: look again when it ends
            try:
                await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
            finally:
                added.cancel()
            self._added.clear()
            if conn.reader.done():
                return _Why.CLOSED, _end_reason(conn)

    # ---------------------------------------------------------------- connections
    async def _open(self) -> _Conn:
        await self._cooldown.wait()
        await self._connect_pacer.wait()
        await self._cooldown.wait()  # a 429 heard while this one waited its turn holds it too
        p = self.policy
        try:
            ws = await open_socket(self.url, p, max_queue=p.max_queue)
        except websockets.exceptions.InvalidStatus as exc:
            status = exc.response.status_code
            if status in (418, 429):  # a handshake refused for rate: the whole venue waits
                self._cooldown.hold(retry_after_s(dict(exc.response.headers), status), status)
                self.stats.events["rate_limited"] += 1
            raise
        pacer = Pacer(self.clock, self.policy.subscribe_rate_per_s)
        pong = asyncio.Event()
        conn = _Conn(ws, asyncio.get_running_loop().create_task(self._read(ws, pong)), 0, pacer, pong=pong)
        conn.reader.set_name(f"{self.name}.reader")
        try:
            await self._subscribe(conn)
        except BaseException:
            conn.reader.cancel()
            await ws.close()
            raise
        conn.rotate_at_ns = self.clock.monotonic_ns() + int(p.max_age_s * NS_PER_S)
        self.stats.connected[self.name] = True
        return conn

    async def _subscribe(self, conn: _Conn) -> None:
        """SUBSCRIBE what this connection has not asked for yet, in batches, paced per connection."""
        n = min(self.policy.subscribe_batch, self.dialect.max_batch)
        while conn.sent < len(self.subscriptions):
            batch = list(self.subscriptions[conn.sent : conn.sent + n])
            await conn.pacer.wait()
            conn.requests += 1
            await conn.ws.send(self.dialect.subscribe(batch, conn.requests))
            conn.sent += len(batch)

    async def _read(self, ws: ClientConnection, pong: asyncio.Event) -> None:
        ping, is_pong = self.dialect.app_ping, self.dialect.is_pong
        pinger = asyncio.ensure_future(self._app_ping(ws, ping)) if ping is not None else None
        try:
            async for raw in ws:
                if not self._handle(raw) and is_pong is not None and is_pong(raw):
                    pong.set()
        finally:
            if pinger is not None:
                pinger.cancel()

    async def _app_ping(self, ws: ClientConnection, ping: Callable[[int], str]) -> None:
        """Application-level pings for venues that want them; a failed send ends with the reader."""
        n = 0
        with contextlib.suppress(*NETWORK_ERRORS):
            while True:
                await self.clock.sleep(self.dialect.app_ping_s)
                n += 1
                await ws.send(ping(n))

    def _handle(self, raw: bytes | str) -> bool:
        """Parse and store one frame; False when it carried no record (a control reply, garbage)."""
        now = self.clock.now_ns()
        try:
            records = self.parse(raw, now)
        except ParseError as exc:
            self.stats.drop(exc.reason)
            return False
        except Exception:  # a parser bug must not become a reconnect loop: count it and go on
            self.stats.drop("parser_error")
            log.exception("parser raised", socket=self.name)
            return False
        mono = self.clock.monotonic_ns()
        for rec in records:
            key = progress(rec)
            if key is not None and not self.live.observe(key[0], key[1], mono):
                self.stats.drop("repeated")  # a repeat is not life
                continue
            if key is not None and self.quiet is not None and key[0] in self.limits:
                self._last[key[0]] = rec  # (a stream the feed does not watch is never probed)
            self.sink.put(rec)
            self.stats.messages[self.name] += 1
            conn = self._current
            if conn is not None and not conn.delivered:
                conn.delivered = True
                self._delays = self._fresh_backoff()  # the backoff resets on success
        return bool(records)

    async def _retire(self, old: _Conn) -> None:
        await self.clock.sleep(self.policy.overlap_s)
        await self._close(old)

    async def _close(self, conn: _Conn) -> None:
        with contextlib.suppress(*NETWORK_ERRORS):
            await conn.ws.close()
        conn.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError, *NETWORK_ERRORS):
            await conn.reader

    async def _shutdown(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)  # never swallows our own cancel
        if self.quiet is not None:
            await self.quiet.aclose()
        for task, conn in list(self._retiring.items()):
            task.cancel()
            await self._close(conn)
        if self._current is not None:
            await self._close(self._current)
            self._current = None
        self.stats.connected[self.name] = False

    # ---------------------------------------------------------------- status
    def _lost(self, detail: str) -> None:
        self._current = None
        self.stats.connected[self.name] = False
        self.stats.reconnects[self.name] += 1
        self._status(self.live.streams, FeedState.DOWN, detail)
        log.warning("stream connection lost", socket=self.name, detail=detail)

    def _status(self, streams: Iterable[str], state: FeedState, reason: str) -> None:
        now = self.clock.now_ns()
        for s in streams:
            venue = self.stats.venue
            self.sink.put(
                FeedStatus(venue=venue, ts_event_ns=now, ts_recv_ns=now, stream=s, state=state, reason=reason)
            )


def _end_reason(conn: _Conn) -> str:
    exc = conn.reader.exception() if not conn.reader.cancelled() else None
    code = conn.ws.close_code
    if exc is not None:
        return policy.describe(exc)
    return f"closed by peer (code {code})" if code is not None else "closed"
