"""OKX v5 WebSocket: `/ws/v5/public` (`mark-price`, `funding-rate`, `tickers`, `bbo-tbt`) and `/ws/v5/private`
(`login`, then `positions`, `account`, `balance_and_position`), as venues-next §c describes them.

Requests are `{"id"?,"op":"subscribe"|"unsubscribe"|"login","args":[…]}`; each subscribed arg is
acknowledged `{"event":"subscribe","arg":{…},"connId":…}`, then pushed `{"arg":{…},"data":[…]}`
(private pushes add `eventType`, and the positions snapshot `curPage`/`lastPage`). Errors are
`{"event":"error","code":"60012",…}`: 60011 a private channel before login, 60018 an unknown
channel or instrument, 60008 login on the public socket, 60009/60005/60006/60007 a failed login.
The text `ping` is answered `pong`. Public channels are pushed every tick (the funding forecast
when it changes); private ones every tick and at once after an engine event (funding, liquidation).
Not simulated: the 30-second idle cut, the per-hour subscribe budget, connection-count events.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import msgspec
from aiohttp import web

from monitor.clock import Clock
from monitor.sim.okx import payloads as pay
from monitor.sim.okx.accounts import OkxAccountEngine
from monitor.sim.okx.auth import OkxAuthError, OkxKeyRing, verify_login
from monitor.sim.okx.market import OkxMarket
from monitor.sim.okx.symbols import by_inst_id
from monitor.sim.ws_common import SocketConnection, SocketHub, new_queue

__all__ = ["OkxConnection", "OkxHub"]

_encode = msgspec.json.encode
PUBLIC = frozenset({"mark-price", "funding-rate", "tickers", "bbo-tbt"})
PRIVATE = frozenset({"positions", "account", "balance_and_position"})


def _key(arg: dict[str, Any]) -> str:
    return _encode(arg).decode()


@dataclass(eq=False)
class OkxConnection(SocketConnection):
    ws: web.WebSocketResponse
    private: bool
    conn_id: str
    args: dict[str, dict[str, Any]] = field(default_factory=dict)  # subscribed args by their JSON
    account: str | None = None
    last_funding: dict[str, float] = field(default_factory=dict)
    queue: Any = field(default_factory=new_queue)
    last_seen_ns: int = 0


class OkxHub(SocketHub[OkxConnection]):
    def __init__(
        self,
        *,
        market: OkxMarket,
        engine: OkxAccountEngine,
        keys: OkxKeyRing,
        clock: Clock,
        settled: Callable[[str], float | None],
    ) -> None:
        super().__init__(clock=clock, name="sim-okx-ws")
        self._market = market
        self._engine = engine
        self._keys = keys
        self._settled = settled
        self._ids = itertools.count(1)

    def _now_ms(self) -> int:
        return self._clock.now_ns() // 1_000_000

    async def handle(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(autoping=True, max_msg_size=1 << 20)
        await ws.prepare(request)
        private = request.match_info.get("channel") == "private"
        conn = OkxConnection(ws, private, f"{next(self._ids):08x}", last_seen_ns=self._clock.monotonic_ns())
        await self._serve(conn)
        return ws

    def _send(self, conn: OkxConnection, payload: Any) -> None:
        self._queue_or_drop(conn, _encode(payload))

    def _error(self, conn: OkxConnection, code: str, msg: str) -> None:
        self._send(conn, {"event": "error", "code": code, "msg": msg, "connId": conn.conn_id})

    def _control(self, conn: OkxConnection, text: str) -> None:
        if text == "ping":
            self._queue_or_drop(conn, b"pong")
            return
        try:
            req = msgspec.json.decode(text)
        except msgspec.DecodeError:
            req = None
        if not isinstance(req, dict) or req.get("op") not in ("subscribe", "unsubscribe", "login"):
            self._error(conn, "60012", f"Illegal request: {text[:200]}")
            return
        if req["op"] == "login":
            self._login(conn, req.get("args"))
            return
        args = req.get("args")
        if not isinstance(args, list) or not args:
            self._error(conn, "60012", f"Illegal request: {text[:200]}")
            return
        for arg in args:
            self._subscription(conn, req["op"], arg)

    def _login(self, conn: OkxConnection, args: object) -> None:
        if not conn.private:
            self._error(conn, "60008", "The requested service is not supported by the public channel")
            return
        try:
            conn.account = verify_login(self._keys, args, self._now_ms())
        except OkxAuthError as err:
            self._error(conn, err.code, err.msg)
            return
        self._send(conn, {"event": "login", "code": "0", "msg": "", "connId": conn.conn_id})

    def _subscription(self, conn: OkxConnection, op: str, arg: object) -> None:
        if not isinstance(arg, dict) or not isinstance(arg.get("channel"), str):
            self._error(conn, "60012", f"Illegal request: {arg!r}"[:200])
            return
        channel = arg["channel"]
        known = PRIVATE if conn.private else PUBLIC
        if channel not in known:
            self._error(conn, "60018", f"channel:{channel} doesn't exist")
            return
        if conn.private and conn.account is None:
            self._error(conn, "60011", "Please log in")
            return
        if channel in PUBLIC and by_inst_id(self._market.specs, str(arg.get("instId"))) is None:
            self._error(conn, "60018", f"channel:{channel},instId:{arg.get('instId')} doesn't exist")
            return
        self._send(conn, {"event": op, "arg": arg, "connId": conn.conn_id})
        if op == "unsubscribe":
            conn.args.pop(_key(arg), None)
            return
        conn.args[_key(arg)] = arg
        self._push(conn, arg, snapshot=True)

    # --- pushes ----------------------------------------------------------------------------
    def _push(self, conn: OkxConnection, arg: dict[str, Any], *, snapshot: bool, event: str = "") -> None:
        channel = arg["channel"]
        if channel in PUBLIC:
            spec = by_inst_id(self._market.specs, str(arg.get("instId")))
            if spec is None:
                return
            q = self._market.quotes[spec.symbol]
            if channel == "funding-rate":
                if not snapshot and conn.last_funding.get(spec.symbol) == q.funding_rate:
                    return
                conn.last_funding[spec.symbol] = q.funding_rate
                row = pay.funding_row(spec, q, self._settled(spec.symbol))
            else:
                rows = {"mark-price": pay.mark_row, "tickers": pay.ticker_row, "bbo-tbt": pay.bbo_row}
                row = rows[channel](spec, q)
            self._send(conn, {"arg": arg, "data": [row]})
            return
        if conn.account is None or conn.account not in self._engine.accounts:
            return
        self._send(conn, self._private_frame(conn.account, arg, snapshot, event))

    def _private_frame(self, name: str, arg: dict[str, Any], snapshot: bool, event: str) -> dict[str, Any]:
        now_ms = self._now_ms()
        acct = self._engine.accounts[name]
        views = self._engine.views(name)
        full_arg = {**arg, "uid": self._keys.uid_of(name)}
        kind = "snapshot" if snapshot else (event or "event_update")
        channel = arg["channel"]
        if channel == "positions":
            inst = arg.get("instId")
            rows = [pay.position_row(v, now_ms) for v in views if inst in (None, v.spec.inst_id)]
            return {"arg": full_arg, "eventType": kind, "curPage": 1, "lastPage": True, "data": rows}
        if channel == "account":
            return {"arg": full_arg, "eventType": kind, "curPage": 1, "lastPage": True,
                    "data": [pay.balance_row(acct, views, now_ms)]}  # fmt: skip
        pos = [
            {"posId": v.p.pos_id, "tradeId": "", "instId": v.spec.inst_id, "instType": "SWAP",
             "mgnMode": v.p.mgn_mode, "posSide": v.p.pos_side, "pos": pay.position_row(v, now_ms)["pos"],
             "ccy": "USDT", "posCcy": "", "avgPx": repr(v.p.avg_px), "uTime": str(acct.update_ms)}
            for v in views
        ]  # fmt: skip
        bal = [{"ccy": "USDT", "cashBal": repr(acct.cash_bal), "uTime": str(acct.update_ms)}]
        return {"arg": full_arg, "data": [{"pTime": str(now_ms), "eventType": kind if event else "snapshot",
                                           "balData": bal, "posData": pos, "trades": []}]}  # fmt: skip

    def broadcast(self) -> None:
        """One tick's pushes: every subscribed arg of every connection."""
        for conn in list(self.connections):
            for arg in list(conn.args.values()):
                if arg["channel"] != "balance_and_position":  # event-driven only, as the venue's
                    self._push(conn, arg, snapshot=False)

    def push_private(self, account: str, event: str) -> None:
        """An engine event (`funding_fee`, `liquidation`) on `account`: its private channels at once."""
        for conn in list(self.connections):
            if conn.account == account:
                for arg in list(conn.args.values()):
                    self._push(conn, arg, snapshot=False, event=event)
