"""Bybit v5 WebSocket endpoints: public `tickers.{symbol}`, `orderbook.1.{symbol}` and
`orderbook.50.{symbol}` (linear, spot) and the private socket.

Paths as the venue's: `/v5/public/{linear,spot,inverse,option}` and `/v5/private`. Control frames are
JSON: `{"op":"subscribe"|"unsubscribe","args":[…],"req_id":…}` answered with
`{"success","ret_msg","conn_id","req_id","op"}`; `{"op":"ping"}` answered with the public
`{"success":true,"ret_msg":"pong",…,"op":"ping"}` or the private `{"op":"pong","args":[ts],…}`; the
private socket wants `{"op":"auth","args":[key, expires, sig]}` before `position`/`wallet`.
Linear tickers: a snapshot right after subscribing, then per tick a delta holding only the fields that
changed (a missing key means unchanged; ccxt merges deltas into the last snapshot); spot tickers are
snapshots only (pitfall 17). The depth-1 book is a snapshot
`{"topic","type":"snapshot","ts","data":{"s","b":[[px,qty]],"a":[[px,qty]],"u","seq"},"cts"}` whenever
the top changes, and again after 3 s without a change, as the venue does; the depth-50 book is a
snapshot after subscribing, then deltas of the changed levels (size "0" deletes). Private pushes carry the
engine's changes as they happen (funding, liquidation, scripted position changes):
`{"id","topic","creationTime","data":[…]}`; a liquidation is also an `execution` with `execType`
"BustTrade" at the bankruptcy price (isolated) or the mark (cross). The venue sends no pings of its
own and drops a peer silent for `idle_timeout_s` (its 10-minute rule).
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any, Literal

import msgspec
from aiohttp import web

from monitor.clock import Clock
from monitor.sim.bybit import account_payloads as acct_pay
from monitor.sim.bybit import payloads as pay
from monitor.sim.bybit.auth import BybitKeyRing, verify_ws_auth
from monitor.sim.bybit.market import BybitMarket
from monitor.sim.bybit.views import BybitLiquidation, BybitPositionView, BybitWalletView
from monitor.sim.faults import Faults
from monitor.sim.ws_common import SocketConnection, SocketHub, control_object, new_queue

__all__ = ["BybitConnection", "BybitHub"]

Channel = Literal["linear", "spot", "inverse", "option", "private"]
_encode = msgspec.json.encode
_MALFORMED = b'{"topic":"tickers.BTCUSDT","type":"delta","data":'
_BOOK_RESEND_MS = 3_000  # a depth-1 book unchanged this long is sent again
# all-in-one topics and their per-category forms (`position.linear` …), as the venue accepts them
_PRIVATE_TOPICS = frozenset(
    {"position", "wallet", "order", "execution", "execution.fast", "greeks", "dcp"}
    | {
        f"{t}.{c}"
        for t in ("position", "order", "execution")
        for c in ("linear", "inverse", "option", "spot")
    }
)


def _level_changes(now: dict[str, str], last: dict[str, str]) -> list[tuple[str, str]]:
    """A delta's side: levels new or resized, and "0" for the levels gone."""
    return [(p, v) for p, v in now.items() if last.get(p) != v] + [(p, "0") for p in last if p not in now]


@dataclass(eq=False)
class BybitConnection(SocketConnection):
    ws: web.WebSocketResponse
    channel: Channel
    conn_id: str
    topics: set[str] = field(default_factory=set)
    account: str | None = None
    sent: dict[str, dict[str, Any]] = field(default_factory=dict)  # last full ticker per topic
    books: dict[str, tuple[tuple[float, ...], int]] = field(default_factory=dict)  # last top, sent at (ms)
    # `orderbook.50.*`: the levels last sent (price → size, as written) per topic, for the deltas
    depths: dict[str, tuple[dict[str, str], dict[str, str]]] = field(default_factory=dict)
    queue: asyncio.Queue[bytes | None] = field(default_factory=new_queue)
    last_seen_ns: int = 0


class BybitHub(SocketHub[BybitConnection]):
    def __init__(
        self,
        *,
        market: BybitMarket,
        keys: BybitKeyRing,
        clock: Clock,
        faults: Faults,
        idle_timeout_s: float,
        check_s: float,
    ) -> None:
        super().__init__(clock=clock, name="sim-bybit-ws")
        self._market = market
        self._keys = keys
        self._faults = faults
        self._idle_ns = int(idle_timeout_s * 1e9)
        self._check_s = check_s
        self._ids = itertools.count(1)
        self._cs = itertools.count(9_532_239_429)

    def _now_ms(self) -> int:
        return self._clock.now_ns() // 1_000_000

    def next_update_id(self) -> int:
        """One sequence for every book the venue publishes (socket depth-1 tops and REST books)."""
        return next(self._ids)

    # --- connection life -------------------------------------------------------------------
    async def handle(self, request: web.Request) -> web.StreamResponse:
        channel: Channel = request.match_info.get("channel", "private")  # type: ignore[assignment]
        ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        conn = BybitConnection(
            ws, channel, f"sim-{next(self._ids):08d}", last_seen_ns=self._clock.monotonic_ns()
        )
        await self._serve(conn)
        return ws

    def _reply(self, conn: BybitConnection, payload: dict[str, Any]) -> None:
        self._offer(conn, _encode(payload))

    def _status(self, conn: BybitConnection, op: str, rid: Any, ok: bool, msg: str = "") -> None:
        self._reply(
            conn, {"success": ok, "ret_msg": msg, "conn_id": conn.conn_id, "req_id": rid or "", "op": op}
        )

    def _control(self, conn: BybitConnection, text: str) -> None:
        req = control_object(text)
        if req is None:
            self._status(conn, "", None, False, "error:request format error")
            return
        op, rid, args = req.get("op"), req.get("req_id"), req.get("args")
        if op == "ping":
            if conn.channel == "private":
                self._reply(
                    conn,
                    {
                        "req_id": rid or "",
                        "op": "pong",
                        "args": [str(self._now_ms())],
                        "conn_id": conn.conn_id,
                    },
                )
            else:
                self._status(conn, "ping", rid, True, "pong")
        elif op == "auth" and conn.channel == "private":
            account, why = verify_ws_auth(self._keys, args, self._now_ms())
            conn.account = account
            self._reply(
                conn, {"success": account is not None, "ret_msg": why, "op": "auth", "conn_id": conn.conn_id}
            )
        elif op == "subscribe" and isinstance(args, list):
            self._subscribe(conn, [str(a) for a in args], rid)
        elif op == "unsubscribe" and isinstance(args, list):
            for a in args:
                conn.topics.discard(str(a))
                conn.sent.pop(str(a), None)
                conn.books.pop(str(a), None)
            self._status(conn, "unsubscribe", rid, True)
        else:
            self._status(conn, str(op or ""), rid, False, f"error:unsupported op {op!r}")

    def _subscribe(self, conn: BybitConnection, topics: list[str], rid: Any) -> None:
        if conn.channel == "private":
            if conn.account is None:
                self._status(conn, "subscribe", rid, False, "Request not authorized")
                return
            bad = [t for t in topics if t not in _PRIVATE_TOPICS]
        else:
            bad = [t for t in topics if not self._public_topic_ok(conn.channel, t)]
        if bad:
            self._status(conn, "subscribe", rid, False, f"error:handler not found,topic:{bad[0]}")
            return
        conn.topics.update(topics)
        self._status(conn, "subscribe", rid, True)
        if conn.channel in ("linear", "spot") and not self._faults.stalled:
            for t in topics:
                frame = self._frame(conn, t)
                if frame is not None:
                    self._offer(conn, frame)

    def _public_topic_ok(self, channel: Channel, topic: str) -> bool:
        """`tickers.{symbol}` and the book top `orderbook.1.{symbol}` of a listed symbol."""
        if channel not in ("linear", "spot"):
            return False
        parts = topic.split(".")
        if len(parts) == 2 and parts[0] == "tickers":
            return parts[1] in self._market.specs
        return (
            len(parts) == 3
            and parts[0] == "orderbook"
            and parts[1] in ("1", "50")
            and parts[2] in self._market.specs
        )

    # --- fan-out -----------------------------------------------------------------------------
    def _ticker_data(self, channel: Channel, symbol: str) -> dict[str, Any]:
        q, spec = self._market.quotes[symbol], self._market.specs[symbol]
        return pay.ws_linear_ticker(q, spec) if channel == "linear" else pay.ws_spot_ticker(q, spec)

    def _book_frame(
        self, conn: BybitConnection, topic: str, cache: dict[tuple[Any, ...], Any] | None = None
    ) -> bytes | None:
        """`orderbook.1.{symbol}`: a snapshot when the top changed, or after 3 s without a change."""
        cache = {} if cache is None else cache
        symbol = topic.rpartition(".")[2]
        q, spec = self._market.quotes[symbol], self._market.specs[symbol]
        key = (conn.channel, topic)
        hit = cache.get(key)
        if hit is None:
            if conn.channel == "spot":
                tick, step = spec.spot_tick, spec.spot_step
                top = (q.spot_bid, q.spot_bid_size, q.spot_ask, q.spot_ask_size)
            else:
                tick, step = spec.tick, spec.step
                top = (q.bid, q.bid_size, q.ask, q.ask_size)
            px, qty = len(tick.partition(".")[2]), len(step.partition(".")[2])
            data = {
                "s": symbol,
                "b": [[f"{top[0]:.{px}f}", f"{top[1]:.{qty}f}"]],
                "a": [[f"{top[2]:.{px}f}", f"{top[3]:.{qty}f}"]],
                "u": next(self._ids),
                "seq": next(self._cs),
            }
            frame = {"topic": topic, "type": "snapshot", "ts": q.time_ms, "data": data, "cts": q.time_ms}
            hit = cache[key] = (top, _encode(frame), q.time_ms)
        top, raw, now = hit
        last = conn.books.get(topic)
        if last is not None and last[0] == top and now - last[1] < _BOOK_RESEND_MS:
            return None
        conn.books[topic] = (top, now)
        return raw

    def _deep_book_frame(
        self, conn: BybitConnection, topic: str, cache: dict[tuple[Any, ...], Any] | None = None
    ) -> bytes | None:
        """`orderbook.50.{symbol}`: a snapshot first, then deltas of the levels that changed (size
        "0" removes a level), as the venue sends them; the levels are `payloads.orderbook`'s."""
        cache = {} if cache is None else cache
        _, depth, symbol = topic.split(".")
        key = (conn.channel, topic, "levels")
        book = cache.get(key)
        if book is None:
            q, spec = self._market.quotes[symbol], self._market.specs[symbol]
            full = pay.orderbook(q, spec, int(depth), conn.channel == "spot", 0)
            book = cache[key] = (dict(full["b"]), dict(full["a"]), q.time_ms)
        bids, asks, ts = book
        last = conn.depths.get(topic)
        if last is None:
            kind, b, a = "snapshot", list(bids.items()), list(asks.items())
        else:
            b, a = _level_changes(bids, last[0]), _level_changes(asks, last[1])
            if not b and not a:
                return None
            kind = "delta"
        conn.depths[topic] = (bids, asks)
        u = next(self._ids)
        data = {"s": symbol, "b": [list(x) for x in b], "a": [list(x) for x in a], "u": u, "seq": u}
        return _encode({"topic": topic, "type": kind, "ts": ts, "data": data, "cts": ts})

    def _frame(
        self, conn: BybitConnection, topic: str, cache: dict[tuple[Any, ...], Any] | None = None
    ) -> bytes | None:
        if topic.startswith("orderbook.1."):
            return self._book_frame(conn, topic, cache)
        if topic.startswith("orderbook."):
            return self._deep_book_frame(conn, topic, cache)
        return self._ticker_frame(conn, topic, cache)

    def _ticker_frame(
        self, conn: BybitConnection, topic: str, cache: dict[tuple[Any, ...], Any] | None = None
    ) -> bytes | None:
        """The next frame of `topic` for this connection: snapshot first, then what changed.

        Within one broadcast `cache` shares the work: the full ticker per topic, and the frame per
        (topic, previous state) - connections that saw the same last frame get the same delta bytes.
        """
        cache = {} if cache is None else cache
        symbol = topic.partition(".")[2]
        full_key = (conn.channel, topic)
        full = cache.get(full_key)
        if full is None:
            full = cache[full_key] = self._ticker_data(conn.channel, symbol)
        last = conn.sent.get(topic)
        frame_key = (conn.channel, topic, id(last))
        hit = cache.get(frame_key)
        if hit is not None and hit[0] is last:  # the entry holds `last`, so its id cannot be reused
            frame: bytes | None = hit[1]
        else:
            frame = self._encode_ticker(conn.channel, topic, symbol, full, last)
            cache[frame_key] = (last, frame)
        if frame is not None:
            conn.sent[topic] = full
        return frame

    def _encode_ticker(
        self, channel: Channel, topic: str, symbol: str, full: dict[str, Any], last: dict[str, Any] | None
    ) -> bytes | None:
        if channel == "spot" or last is None:
            data, kind = full, "snapshot"
        else:
            changed = {k: v for k, v in full.items() if last.get(k) != v}
            if not changed:
                return None
            data, kind = {"symbol": symbol, **changed}, "delta"
        ts = self._market.quotes[symbol].time_ms
        return _encode({"topic": topic, "type": kind, "data": data, "cs": next(self._cs), "ts": ts})

    def broadcast(self) -> None:
        """One tick of public ticker frames (unless the venue's feed is stalled)."""
        if self._faults.stalled or not self.connections:
            return
        malformed = self._faults.take_malformed()
        repeat = 2 if self._faults.take_repeat() else 1
        cache: dict[tuple[Any, ...], Any] = {}
        for conn in list(self.connections):
            if conn.channel not in ("linear", "spot"):
                continue
            if malformed:
                self._offer(conn, _MALFORMED)
            for topic in sorted(conn.topics):
                frame = self._frame(conn, topic, cache)
                if frame is not None:
                    for _ in range(repeat):
                        self._offer(conn, frame)

    def push_private(
        self,
        account: str,
        topic: str,
        payload: list[BybitPositionView] | BybitWalletView | list[BybitLiquidation],
    ) -> None:
        """An engine change for `account` to its authenticated private sockets subscribed to `topic`."""
        data: list[dict[str, Any]] = []
        if isinstance(payload, BybitWalletView):
            data = [acct_pay.ws_wallet_row(payload)]
        else:
            for item in payload:
                spec = self._market.specs[item.symbol]
                if isinstance(item, BybitLiquidation):
                    data.append(acct_pay.execution_row(item, spec))
                else:
                    data.append(acct_pay.ws_position_row(item, spec))
        now = self._now_ms()
        # positions here are all linear: `position` and `position.linear` subscribers both get them
        names = (topic, f"{topic}.linear") if topic in ("position", "execution") else (topic,)
        frames = {
            name: _encode(
                {"id": f"sim-{account}-{now}-{name}", "topic": name, "creationTime": now, "data": data}
            )
            for name in names
        }
        for conn in list(self.connections):
            if conn.channel == "private" and conn.account == account:
                for name, frame in frames.items():
                    if name in conn.topics:
                        self._offer(conn, frame)

    def _offer(self, conn: BybitConnection, frame: bytes) -> None:
        self._queue_or_drop(conn, frame)

    # --- keep-alive and forced closes ---------------------------------------------------------
    async def idle_forever(self) -> None:
        """The venue sends no pings of its own: it only drops a peer silent too long."""
        await self._close_silent_forever(self._check_s, self._idle_ns, b"idle", ping=False)
