"""WebSocket endpoints of one simulated host: URL layout, SUBSCRIBE protocol, fan-out, keep-alive.

Serves the venue's classic forms (`/ws/<stream>`, `/stream?streams=a/b`) and the category forms
ccxt.pro builds (`/market/ws/<n>`, `/public/ws/<n>`, `/private/ws?listenKey=`, and `/stream/ws/<n>`
on the spot host): a path segment holding `@` is a stream, one equal to a live listenKey is a user
stream, anything else (ccxt's connection index) is ignored. Paths under `/stream` without a later
`/ws` are *combined*: payloads arrive wrapped as `{"stream","data"}`. Each connection has its own
bounded send queue, so one slow reader cannot stall the tick; one that falls too far behind is
dropped, as the venue drops slow consumers. Pings go out every `ping_s`; a peer silent for
`pong_timeout_s` is closed, and every connection is cut when it reaches `max_age_s` (the venue's
24 h limit) by the injected clock. Fault switches act here too: a frame delay holds frames until
the clock has moved on by the delay (released on the next tick), and corrupted broadcasts carry
bad prices in well-formed frames.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import WSCloseCode, web

from monitor.clock import Clock
from monitor.sim.binance.streams import StreamKind, is_market_stream, render
from monitor.sim.corrupt import corrupt
from monitor.sim.faults import Faults
from monitor.sim.limits import MessageRate
from monitor.sim.market import Market
from monitor.sim.ws_common import SocketConnection, SocketHub, new_queue

__all__ = ["Connection", "StreamHub", "subscribe"]

_encode = msgspec.json.encode
_MALFORMED = b'{"e":"markPriceUpdate","E":'


@dataclass(eq=False)
class Connection(SocketConnection):
    ws: web.WebSocketResponse
    combined: bool
    streams: set[str] = field(default_factory=set)
    listen_keys: set[str] = field(default_factory=set)
    queue: asyncio.Queue[bytes | None] = field(default_factory=new_queue)
    last_seen_ns: int = 0
    opened_ns: int = 0
    rate: MessageRate | None = None


def subscribe(
    conn: Connection, names: list[str], is_stream: Callable[[str], bool], is_listen_key: Callable[[str], bool]
) -> None:
    """Add each name the host serves to the connection: a market stream (`is_stream`, the host's own
    list) or a live listenKey; any other name is ignored, as Binance does. COIN-M's hub uses it too."""
    for name in names:
        if is_stream(name):
            conn.streams.add(name)
        elif is_listen_key(name):
            conn.listen_keys.add(name)


def _route(path: str, query: dict[str, str]) -> tuple[bool, list[str]]:
    """(combined?, names from the URL) for any of the layouts in the module docstring."""
    segments = [s for s in path.split("/") if s]
    combined = "stream" in segments and "ws" not in segments[segments.index("stream") :]
    names: list[str] = []
    if "streams" in query:
        names += [n for n in query["streams"].split("/") if n]
    if "listenKey" in query:
        names.append(query["listenKey"])
    if "ws" in segments:
        names += segments[segments.index("ws") + 1 :]
    return combined, names


class StreamHub(SocketHub[Connection]):
    def __init__(
        self,
        *,
        kind: StreamKind,
        market: Market,
        clock: Clock,
        faults: Faults,
        ping_s: float,
        pong_timeout_s: float,
        is_listen_key: Callable[[str], bool] = lambda _k: False,
        max_age_s: float = 86_400.0,
        messages_per_s: int = 10,
    ) -> None:
        super().__init__(clock=clock, name="sim-ws", expired_reason=b"listenKey expired")
        self.kind = kind
        self._market = market
        self._faults = faults
        self._ping_s = ping_s
        self._pong_timeout_ns = int(pong_timeout_s * 1e9)
        self._is_listen_key = is_listen_key
        self._max_age_ns = int(max_age_s * 1e9)
        self._messages_per_s = messages_per_s
        self.rate_closed = 0  # connections closed for sending past the message rate
        self._held: collections.deque[tuple[int, Connection, bytes | None]] = collections.deque()

    # --- connection life -------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        combined, names = _route(request.path, dict(request.query))
        ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        now = self._clock.monotonic_ns()
        rate = MessageRate(self._messages_per_s)
        conn = Connection(ws, combined, last_seen_ns=now, opened_ns=now, rate=rate)
        self._subscribe(conn, names)
        if self.kind == "futures" and "private" in request.path.split("/") and not conn.listen_keys:
            await ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"invalid listenKey")
            return ws
        await self._serve(conn)
        return ws

    def _admit_message(self, conn: Connection) -> bool:
        # a wire-level rate: measured on the loop's clock, not the venue's (a test's manual clock)
        if conn.rate is None or conn.rate.admit(time.monotonic_ns()):
            return True
        self.rate_closed += 1
        return False

    def _subscribe(self, conn: Connection, names: list[str]) -> None:
        subscribe(conn, names, is_market_stream, self._is_listen_key)

    def _control(self, conn: Connection, text: str) -> None:
        """SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS / SET_PROPERTY / GET_PROPERTY."""
        try:
            req = msgspec.json.decode(text)
        except msgspec.DecodeError:
            conn.offer(
                _encode(
                    {
                        "error": {"code": 3, "msg": "Invalid JSON: expected value at line 1 column 1"},
                        "id": None,
                    }
                )
            )
            return
        rid = req.get("id") if isinstance(req, dict) else None
        method = req.get("method") if isinstance(req, dict) else None
        params = req.get("params", []) if isinstance(req, dict) else []
        result: Any = None
        if method in ("SUBSCRIBE", "UNSUBSCRIBE") and isinstance(params, list):
            names = [str(p) for p in params]
            if method == "SUBSCRIBE":
                self._subscribe(conn, names)
            else:
                conn.streams.difference_update(names)
                conn.listen_keys.difference_update(names)
        elif method == "LIST_SUBSCRIPTIONS":
            result = sorted(conn.streams) + sorted(conn.listen_keys)
        elif (
            method == "SET_PROPERTY"
            and isinstance(params, list)
            and len(params) == 2
            and params[0] == "combined"
        ):
            conn.combined = bool(params[1])
        elif method == "GET_PROPERTY" and params == ["combined"]:
            result = conn.combined
        else:
            conn.offer(
                _encode(
                    {"error": {"code": 2, "msg": f"Invalid request: unknown method {method!r}"}, "id": rid}
                )
            )
            return
        conn.offer(_encode({"result": result, "id": rid}))

    # --- fan-out -----------------------------------------------------------------------------
    def broadcast(self, tick: int) -> None:
        """Send every due market frame of this tick to every subscriber (unless stalled)."""
        self._cut_aged()
        self._release_held()
        if self._faults.stalled or not self.connections:
            return
        malformed = self._faults.take_malformed()
        repeat = 2 if self._faults.take_repeat() else 1
        bad = self._faults.take_corruption()
        cache: dict[tuple[str, bool], list[bytes]] = {}
        for conn in list(self.connections):
            if malformed:
                self._offer(conn, _MALFORMED)
            for name in conn.streams:
                key = (name, conn.combined)
                frames = cache.get(key)
                if frames is None:
                    frames = [
                        self._frame(name, corrupt(p, bad) if bad else p, conn.combined)
                        for p in render(name, self.kind, self._market, tick)
                    ]
                    cache[key] = frames
                for frame in frames:
                    for _ in range(repeat):
                        self._offer(conn, frame)

    def push_user(self, listen_key: str, payload: dict[str, Any], then_close: bool = False) -> None:
        """Send a user-data event to the key's connections (and close them after it if asked)."""
        raw = _encode(payload)
        for conn in list(self.connections):
            if listen_key in conn.listen_keys:
                self._offer(conn, self._wrap(listen_key, raw) if conn.combined else raw)
                if then_close:
                    self._offer(conn, None)

    def _frame(self, name: str, payload: Any, combined: bool) -> bytes:
        raw = _encode(payload)
        return self._wrap(name, raw) if combined else raw

    @staticmethod
    def _wrap(name: str, raw: bytes) -> bytes:
        return b'{"stream":' + _encode(name) + b',"data":' + raw + b"}"

    def _offer(self, conn: Connection, frame: bytes | None) -> None:
        """Queue a frame (None: close after what is queued), or hold it while a delay is in force."""
        if self._faults.delay_s > 0 or self._held:
            release = self._clock.monotonic_ns() + int(self._faults.delay_s * 1e9)
            self._held.append((release, conn, frame))
            return
        self._queue_or_drop(conn, frame)

    def _release_held(self) -> None:
        now = self._clock.monotonic_ns()
        while self._held and self._held[0][0] <= now:
            _, conn, frame = self._held.popleft()
            if conn in self.connections:
                self._queue_or_drop(conn, frame)

    # --- keep-alive and forced closes ---------------------------------------------------------
    async def ping_forever(self) -> None:
        await self._close_silent_forever(self._ping_s, self._pong_timeout_ns, b"pong timeout", ping=True)

    def _cut_aged(self) -> None:
        """The venue's 24 h limit: a connection that old is closed, whatever it is doing."""
        now = self._clock.monotonic_ns()
        for conn in [c for c in self.connections if now - c.opened_ns >= self._max_age_ns]:
            self.connections.discard(conn)
            self._spawn(self._close(conn, WSCloseCode.GOING_AWAY, b"connection reached 24h"))
