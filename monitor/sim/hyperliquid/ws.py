"""Hyperliquid's `/ws` on the simulator: `{"method":"subscribe","subscription":{…}}` and the pushes.

Acks are `{"channel":"subscriptionResponse","data":<the request>}`; data frames are
`{"channel":<type>,"data":…}` [doc]. A subscription is answered at once with the current value (the
venue's snapshot on subscribe), then on every tick. Served: `activeAssetCtx {coin}`, `allMids`,
`clearinghouseState {user}` and `webData2 {user}` (its `clearinghouseState` part); `{"method":"ping"}`
→ `{"channel":"pong"}`; a socket silent for 60 s is closed [doc]. Anything else gets the venue's
`{"channel":"error","data":"…"}`.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import msgspec
from aiohttp import web

from monitor.clock import Clock
from monitor.sim.hyperliquid import payloads
from monitor.sim.ws_common import SocketConnection, SocketHub, control_object, new_queue

if TYPE_CHECKING:
    from monitor.sim.hyperliquid.venue import HyperliquidVenue

__all__ = ["HlConnection", "HlHub"]

_encode = msgspec.json.encode
_USER_TYPES = ("clearinghouseState", "webData2")
_MALFORMED = b'{"channel":"activeAssetCtx","data":{"coin":"BTC","ctx":{"funding":"0.0000125","markPx":'


@dataclass(eq=False)
class HlConnection(SocketConnection):
    ws: web.WebSocketResponse
    id: str
    last_seen_ns: int = 0
    queue: asyncio.Queue[bytes | None] = field(default_factory=new_queue)
    coins: set[str] = field(default_factory=set)  # activeAssetCtx
    mids: bool = False
    users: set[tuple[str, str]] = field(default_factory=set)  # (type, user)


class HlHub(SocketHub[HlConnection]):
    def __init__(self, venue: HyperliquidVenue, *, clock: Clock, idle_s: float) -> None:
        super().__init__(clock=clock, name="sim-hyperliquid-ws")
        self._venue = venue
        self._idle_s = idle_s
        self._ids = itertools.count(1)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        refused = self._venue.faults.handshake_refusal(self._venue.now_ms() * 1_000_000)
        if refused is not None:
            return web.Response(status=refused, text="Too many requests")
        ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        conn = HlConnection(ws, f"hl-{next(self._ids):08d}", last_seen_ns=self._clock.monotonic_ns())
        await self._serve(conn)
        return ws

    async def idle_forever(self) -> None:
        """Close sockets silent for `idle_s` (the venue: 60 s without a message)."""
        await self._close_silent_forever(min(self._idle_s, 5.0), int(self._idle_s * 1e9), b"idle", False)

    def _send(self, conn: HlConnection, channel: str, data: Any) -> None:
        self._queue_or_drop(conn, _encode({"channel": channel, "data": data}))

    def _control(self, conn: HlConnection, text: str) -> None:
        req = control_object(text)
        if req is None:
            self._send(conn, "error", f"Error parsing JSON into valid websocket request: {text}")
            return
        method, sub = req.get("method"), req.get("subscription")
        if method == "ping":
            self._queue_or_drop(conn, b'{"channel":"pong"}')
            return
        if method not in ("subscribe", "unsubscribe") or not isinstance(sub, dict):
            self._send(conn, "error", f"Error parsing JSON into valid websocket request: {text}")
            return
        kind, on = sub.get("type"), method == "subscribe"
        coin, user = sub.get("coin"), sub.get("user")
        if kind == "activeAssetCtx" and coin in self._venue.market.ctxs:
            (conn.coins.add if on else conn.coins.discard)(coin)
        elif kind == "allMids":
            conn.mids = on
        elif kind in _USER_TYPES and isinstance(user, str) and len(user) == 42:
            (conn.users.add if on else conn.users.discard)((kind, user.lower()))
        else:
            self._send(conn, "error", f"Invalid subscription {msgspec.json.encode(sub).decode()}")
            return
        self._send(conn, "subscriptionResponse", req)
        if on:
            self._push(conn, only=(kind, coin, user.lower() if isinstance(user, str) else None))

    def _push(
        self, conn: HlConnection, only: tuple[Any, Any, Any] | None = None, market: bool = True
    ) -> None:
        v = self._venue
        ctxs = v.market.ctxs
        for coin in sorted(conn.coins) if market else ():
            if only is None or only[:2] == ("activeAssetCtx", coin):
                self._send(conn, "activeAssetCtx", {"coin": coin, "ctx": payloads.asset_ctx(ctxs[coin])})
        if market and conn.mids and (only is None or only[0] == "allMids"):
            self._send(
                conn, "allMids", {"mids": {c: payloads.asset_ctx(x)["midPx"] for c, x in ctxs.items()}}
            )
        for kind, user in sorted(conn.users):
            if only is not None and (only[0], only[2]) != (kind, user):
                continue
            state = payloads.clearinghouse_state(v.engine.state(user), v.now_ms())
            if kind == "clearinghouseState":
                self._send(conn, kind, {"dex": "", "user": user, "clearinghouseState": state})
            else:
                self._send(conn, kind, {"clearinghouseState": state, "user": user, "serverTime": v.now_ms()})

    def broadcast(self) -> None:
        """Each tick's pushes; the venue's `faults`: stalled → no market frames (user state and control
        replies go on), `send_malformed` → one cut frame to each socket first."""
        faults = self._venue.faults
        malformed = faults.take_malformed()
        for conn in list(self.connections):
            if malformed:
                self._queue_or_drop(conn, _MALFORMED)
            if faults.stalled:
                self._push(conn, market=False)
            else:
                self._push(conn)
