"""dstream as the simulator serves it: `<symbol>@markPrice@1s` (and `@markPrice`) plus user streams.

The URL layouts ccxt.pro and the collectors use on the COIN-M host: `/ws/<name>` (ccxt's
`/ws/<n>` connection index is ignored), `/stream?streams=a/b` (combined: payloads wrapped as
`{"stream","data"}`), and SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS messages. A path segment
equal to a live listenKey is that account's user stream. The loop, the send queue, slow-consumer
drops and keep-alive are the shared `ws_common.SocketHub`'s; the connection record and how names
are subscribed are USDⓈ-M's (`binance/ws.py`), the hosts differing only in which streams they serve.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec
from aiohttp import web

from monitor.clock import Clock
from monitor.sim.binance.ws import Connection, subscribe
from monitor.sim.ws_common import SocketHub

__all__ = ["CoinmHub"]

_encode = msgspec.json.encode


def is_mark_stream(name: str) -> bool:
    """`btcusd_perp@markPrice@1s`, `btcusd_perp@markPrice` (case as the client sends it)."""
    sym, _, tail = name.partition("@")
    return bool(sym) and tail.lower() in ("markprice", "markprice@1s", "markprice@3s")


class CoinmHub(SocketHub[Connection]):
    def __init__(
        self, *, clock: Clock, ping_s: float, pong_timeout_s: float, is_listen_key: Callable[[str], bool]
    ) -> None:
        super().__init__(clock=clock, name="sim-coinm-ws", expired_reason=b"listenKey expired")
        self._ping_s = ping_s
        self._pong_timeout_ns = int(pong_timeout_s * 1e9)
        self._is_listen_key = is_listen_key

    async def handle(self, request: web.Request) -> web.StreamResponse:
        segments = [s for s in request.path.split("/") if s]
        combined = segments[:1] == ["stream"]
        names = [n for n in request.query.get("streams", "").split("/") if n]
        names += segments[segments.index("ws") + 1 :] if "ws" in segments else []
        ws = web.WebSocketResponse(autoping=False, max_msg_size=1 << 20)
        await ws.prepare(request)
        conn = Connection(ws, combined, last_seen_ns=self._clock.monotonic_ns())
        self._subscribe(conn, names)
        await self._serve(conn)
        return ws

    def _subscribe(self, conn: Connection, names: list[str]) -> None:
        subscribe(conn, names, is_mark_stream, self._is_listen_key)

    def _control(self, conn: Connection, text: str) -> None:
        try:
            req = msgspec.json.decode(text)
        except msgspec.DecodeError:
            conn.offer(_encode({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None}))
            return
        if not isinstance(req, dict):
            conn.offer(_encode({"error": {"code": 3, "msg": "Invalid request"}, "id": None}))
            return
        rid, method, params = req.get("id"), req.get("method"), req.get("params", [])
        names = [str(p) for p in params] if isinstance(params, list) else []
        result: Any = None
        if method == "SUBSCRIBE":
            self._subscribe(conn, names)
        elif method == "UNSUBSCRIBE":
            conn.streams.difference_update(names)
            conn.listen_keys.difference_update(names)
        elif method == "LIST_SUBSCRIPTIONS":
            result = sorted(conn.streams) + sorted(conn.listen_keys)
        else:
            err = {"code": 2, "msg": f"Invalid request: unknown method {method!r}"}
            conn.offer(_encode({"error": err, "id": rid}))
            return
        conn.offer(_encode({"result": result, "id": rid}))

    def broadcast(self, frames: Mapping[str, dict[str, Any]]) -> None:
        """This tick's mark frame per symbol (upper-case id) to every connection subscribed to it."""
        encoded: dict[str, bytes] = {}
        for conn in list(self.connections):
            for name in conn.streams:
                symbol = name.partition("@")[0].upper()
                if symbol not in frames:
                    continue
                raw = encoded.get(symbol)
                if raw is None:
                    raw = encoded[symbol] = _encode(frames[symbol])
                self._queue_or_drop(conn, _wrap(name, raw) if conn.combined else raw)

    def push_user(self, listen_key: str, payload: dict[str, Any], then_close: bool = False) -> None:
        """A user-data event to the key's connections (closed after it when asked: expiry)."""
        raw = _encode(payload)
        for conn in list(self.connections):
            if listen_key in conn.listen_keys:
                self._queue_or_drop(conn, _wrap(listen_key, raw) if conn.combined else raw)
                if then_close:
                    self._queue_or_drop(conn, None)

    async def ping_forever(self) -> None:
        await self._close_silent_forever(self._ping_s, self._pong_timeout_ns, b"pong timeout", ping=True)


def _wrap(name: str, raw: bytes) -> bytes:
    return b'{"stream":' + _encode(name) + b',"data":' + raw + b"}"
