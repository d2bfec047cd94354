"""OKX v5 USDT-margined swaps: native public socket for marks and funding, signed REST through ccxt.

Markets: `/ws/v5/public`, one arg `{"channel","instId"}` per topic in `{"op":"subscribe","args":[…]}`
(at most 20 a message here), the text `ping` every 20 s (OKX cuts a socket silent for 30 s) answered
`pong`. `mark-price` pushes every 200 ms on change and every 10 s otherwise, so a mark silent for
`stale_after_s` is a dead feed without a quiet probe; `funding-rate` carries the forecast and its
interval (`wire.OkxMarks` joins it onto the marks). Reference data: `ctVal` per instrument (for the
accounts), a REST seed of marks (`/public/mark-price`), funding (`/public/funding-rate?instId=ANY`).
Accounts: `account.OkxAccount`. The wiring is `native.NativeCollector`'s.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from monitor.collectors.base import AccountAccess
from monitor.collectors.held import Topic
from monitor.collectors.native import NativeCollector
from monitor.collectors.okx.account import OkxAccount
from monitor.collectors.okx.history import OkxHistory
from monitor.collectors.okx.wire import OkxMarks, okx_inst_id, parse_ct_vals, parse_public_frame
from monitor.collectors.wsfeed import WsDialect, WsFeed

__all__ = ["OKX_DIALECT", "OkxCollector"]


def _subscribe(topics: list[str], request_id: int) -> str:
    """Topics are "channel:instId"; OKX wants one object per subscription."""
    args = [dict(zip(("channel", "instId"), t.split(":", 1), strict=True)) for t in topics]
    return json.dumps({"id": str(request_id), "op": "subscribe", "args": args})


def _is_pong(raw: bytes | str) -> bool:
    return raw in ("pong", b"pong")


OKX_DIALECT = WsDialect(
    subscribe=_subscribe, max_batch=20, app_ping=lambda _n: "ping", app_ping_s=20.0, is_pong=_is_pong
)


class OkxCollector(NativeCollector):
    def _wire(self) -> None:
        self.ct_vals: dict[str, float] = {}  # base units per contract, from the instruments
        super()._wire()

    def _history_source(self) -> OkxHistory:
        return OkxHistory()

    def _watcher(self, name: str, access: AccountAccess) -> OkxAccount:
        return OkxAccount(
            **self._watcher_args(name),
            private_ws=f"{self.ws.rstrip('/')}/ws/v5/private",
            access=access,
            ct_vals=self.ct_vals,
        )

    def _topics(self, symbols: Sequence[str], spot_symbols: Sequence[str]) -> dict[str, list[Topic]]:
        """One public socket kind: the mark (its liveness) and the funding forecast per swap."""
        public: list[Topic] = []
        for s in symbols:
            inst = okx_inst_id(s)
            public += [(f"mark-price:{inst}", (f"mark:{s}",)), (f"funding-rate:{inst}", ())]
        return {"public": public}

    def _feed(self, kind: str, index: int, topics: Sequence[Topic]) -> WsFeed:
        marks = OkxMarks()
        return self._socket(
            kind,
            index,
            topics,
            url=f"{self.ws.rstrip('/')}/ws/v5/public",
            parse=lambda raw, now: parse_public_frame(raw, venue=self.venue, marks=marks, recv_ns=now),
            dialect=OKX_DIALECT,
        )

    async def _instruments(self, ex: Any) -> None:
        body = await self.rest.call(ex, ex.publicGetPublicInstruments, {"instType": "SWAP"})
        self.ct_vals.update(parse_ct_vals(body))

    async def _seed_marks(self, ex: Any) -> None:
        await self._instruments(ex)
        body = await self.rest.call(ex, ex.publicGetPublicMarkPrice, {"instType": "SWAP"})
        watched = set(self.held.watched)
        rows = [r for r in _data(body) if isinstance(r, dict) and _symbol_of(r) in watched]
        self._put_frame("mark-price", rows)

    async def _reference(self, ex: Any) -> None:
        await self._instruments(ex)
        watched = set(self.held.watched)
        for s in sorted(watched):
            body = await self.rest.call(ex, ex.publicGetPublicFundingRate, {"instId": okx_inst_id(s)})
            self._put_frame("funding-rate", _data(body))

    def _put_frame(self, channel: str, rows: list[Any]) -> None:
        """REST rows are the channel's rows: parsed as its push (one parser for both)."""
        frame = json.dumps({"arg": {"channel": channel}, "data": rows})
        now = self.clock.now_ns()
        for rec in parse_public_frame(frame, venue=self.venue, marks=OkxMarks(), recv_ns=now):
            self.sink.put(rec)


def _data(body: Any) -> list[Any]:
    data = body.get("data") if isinstance(body, dict) else None
    return data if isinstance(data, list) else []


def _symbol_of(row: dict[str, Any]) -> str:
    inst = str(row.get("instId", ""))
    return inst.removesuffix("-USDT-SWAP") + "USDT" if inst.endswith("-USDT-SWAP") else ""
