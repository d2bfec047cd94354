"""Bybit v5 linear USDT perpetuals (+ spot book tops): native sockets for markets, signed REST through ccxt.

Markets take the same fast path as Binance (`wsfeed.WsFeed`, one decoder per frame, per-stream
liveness, make-before-break replacement, the 24 h rotation), spoken in Bybit's dialect:
`{"op":"subscribe","args":[…]}` with at most 10 topics a message, and an application
`{"op":"ping"}` every 20 s. One `tickers.{symbol}` topic carries mark, index, funding estimate,
funding interval and the book top, as a snapshot then deltas of changed fields
(`wire.TickerBook` merges them per socket). Spot book tops are `orderbook.1.{symbol}` on the
spot socket; perp book levels (`depth_levels`, for the cost to close) are `orderbook.50.{symbol}`
on the linear socket, a snapshot then deltas (`wire.DepthBooks`). Accounts:
`account.BybitAccount` (REST snapshot + private stream). Reference data — funding intervals,
rate bounds and price ticks from instruments-info, a REST seed of marks before the socket speaks — is
refreshed every `native.REFERENCE_REFRESH_S`. A symbol an account holds beyond `symbols` gets its
tickers (and book levels) and its funding interval at once (`held`). The wiring is
`native.NativeCollector`'s.

Bybit pushes only changes, and nothing while nothing changes, so silence on the linear socket is
not by itself a dead feed. Its feeds carry a `BybitQuietProbe` (see `wsfeed`): a stream silent for
half its limit is confirmed quiet when the socket answers an `op: ping` and REST (`/v5/market/
tickers`, `/v5/market/orderbook`) shows the value last pushed. A stalled venue still goes stale: its
REST values move on while its socket says nothing. A pong alone would not do (a stalled push
engine still answers pings), nor would REST alone (it cannot see a dead socket).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import structlog

from monitor.clock import Clock
from monitor.collectors.base import AccountAccess
from monitor.collectors.bybit.account import BybitAccount
from monitor.collectors.bybit.history import BybitHistory
from monitor.collectors.bybit.wire import (
    DepthBooks,
    TickerBook,
    parse_instruments,
    parse_orderbook,
    parse_public_frame,
    parse_tick_sizes,
    parse_tickers,
)
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.held import Topic
from monitor.collectors.listing import bybit_listed, follows_listing
from monitor.collectors.liveness import progress, same_value
from monitor.collectors.native import NativeCollector
from monitor.collectors.wsfeed import WsDialect, WsFeed
from monitor.errors import FeedError, ParseError
from monitor.records import Quote, Record

__all__ = ["BYBIT_DIALECT", "BybitCollector"]

log = structlog.get_logger(__name__)


def _subscribe(topics: list[str], request_id: int) -> str:
    return json.dumps({"req_id": f"sub-{request_id}", "op": "subscribe", "args": topics})


def _ping(n: int) -> str:
    return json.dumps({"req_id": f"ping-{n}", "op": "ping"})


def _is_pong(raw: bytes | str) -> bool:
    """The public socket's `{"success":true,"ret_msg":"pong","op":"ping"}`, or `{"op":"pong"}`."""
    try:
        frame = json.loads(raw)
    except ValueError:
        return False
    return isinstance(frame, dict) and (frame.get("ret_msg") == "pong" or frame.get("op") == "pong")


BYBIT_DIALECT = WsDialect(
    subscribe=_subscribe, max_batch=10, app_ping=_ping, app_ping_s=20.0, is_pong=_is_pong
)


class BybitQuietProbe:
    """REST's view of a linear socket's silent streams: marks and book tops from `tickers`, levels
    from `orderbook`. Only records equal to the last pushed one come back (stamped by the reply)."""

    def __init__(
        self, *, client: Callable[[], Any], rest: RestCaller, venue: str, clock: Clock, depth: int
    ) -> None:
        self._client = client
        self._rest = rest
        self._venue = venue
        self._clock = clock
        self._depth = depth
        self._ex: Any = None

    async def confirm(self, last: Mapping[str, Record]) -> list[Record]:
        if self._ex is None:
            self._ex = self._client()
        ex = self._ex
        tops = sorted({s.rpartition(":")[2] for s in last if not s.startswith("depth:")})
        books = sorted(s.rpartition(":")[2] for s in last if s.startswith("depth:"))

        async def tickers() -> list[Record]:
            if not tops:
                return []
            params = {"category": "linear"} | ({"symbol": tops[0]} if len(tops) == 1 else {})
            body = await self._rest.call(ex, ex.publicGetV5MarketTickers, params)
            return parse_tickers(body, self._venue, self._clock.now_ns(), tops)

        async def levels(symbol: str) -> Record:
            params = {"category": "linear", "symbol": symbol, "limit": 50}
            body = await self._rest.call(ex, ex.publicGetV5MarketOrderbook, params)
            return parse_orderbook(body, self._venue, self._clock.now_ns(), self._depth)

        # at once: the answer must come back within the stream's limit
        marks, depth = await asyncio.gather(tickers(), asyncio.gather(*(levels(s) for s in books)))
        current: list[Record] = [*marks, *depth]
        out = []
        for rec in current:
            key = progress(rec)
            before = last.get(key[0]) if key is not None else None
            if before is not None and same_value(before, rec):
                out.append(rec)
        return out

    async def aclose(self) -> None:
        if self._ex is not None:
            await self._ex.close()
            self._ex = None


class BybitCollector(NativeCollector):
    def _history_source(self) -> BybitHistory:
        return BybitHistory()

    def _watcher(self, name: str, access: AccountAccess) -> BybitAccount:
        return BybitAccount(
            **self._watcher_args(name),
            private_ws=f"{self.ws.rstrip('/')}/v5/private",
            access=access,
            symbols=self.cfg.symbols,
        )

    def _topics(self, symbols: Sequence[str], spot_symbols: Sequence[str]) -> dict[str, list[Topic]]:
        """Socket kind → its topics for these symbols (linear) and spot symbols."""
        v = self.cfg
        linear: list[Topic] = [
            (f"tickers.{s}", (f"mark:{s}", *((f"book:perp:{s}",) if v.perp_books else ()))) for s in symbols
        ]
        if v.depth_levels:  # the levels a close walks through (cost to close beyond the best level)
            linear += [(f"orderbook.50.{s}", (f"depth:perp:{s}",)) for s in symbols]
        out = {"linear": linear}
        if spot_symbols:
            out["spot"] = [(f"orderbook.1.{s}", (f"book:spot:{s}",)) for s in spot_symbols]
        return out

    def _feed(self, kind: str, index: int, topics: Sequence[Topic]) -> WsFeed:
        v, base = self.cfg, self.ws.rstrip("/")
        return self._socket(
            kind,
            index,
            topics,
            url=f"{base}/v5/public/{kind}",
            parse=partial(
                parse_public_frame,
                venue=self.venue,
                book=TickerBook(),
                depth=DepthBooks(v.depth_levels) if kind == "linear" else None,
            ),
            dialect=BYBIT_DIALECT,
            quiet=BybitQuietProbe(
                client=self._client, rest=self.rest, venue=self.venue, clock=self.clock, depth=v.depth_levels
            )
            if kind == "linear"
            else None,  # spot book tops are sent again every 3 s without a change
        )

    async def _seed_marks(self, ex: Any) -> None:
        body = await self.rest.call(ex, ex.publicGetV5MarketTickers, {"category": "linear"})
        for rec in parse_tickers(body, self.venue, self.clock.now_ns(), self.cfg.symbols):
            if not isinstance(rec, Quote):  # the book's liveness is the socket's alone
                self.sink.put(rec)

    async def _reference(self, ex: Any) -> None:
        body = await self.rest.call(
            ex, ex.publicGetV5MarketInstrumentsInfo, {"category": "linear", "limit": 1000}
        )
        if follows_listing(self.cfg) and isinstance(body, dict):  # ["*"]: new listings
            self.held.note(bybit_listed(body.get("result")), "newly listed")
        now = self.clock.now_ns()
        for fi in parse_instruments(body, self.venue, now, self.held.watched):
            self.sink.put(fi)
        for inst in parse_tick_sizes(body, self.venue, "perp", now, self.held.watched):
            self.sink.put(inst)
        if self.cfg.spot_symbols:
            await self._spot_ticks(ex)

    async def _spot_ticks(self, ex: Any) -> None:
        """The spot books' ticks. They only shape how prices are written, so a failure is logged or
        counted and waits for the next refresh (spot prices meanwhile read at significant digits)."""
        try:
            body = await self.rest.call(
                ex, ex.publicGetV5MarketInstrumentsInfo, {"category": "spot", "limit": 1000}
            )
            for inst in parse_tick_sizes(
                body, self.venue, "spot", self.clock.now_ns(), self.cfg.spot_symbols
            ):
                self.sink.put(inst)
        except ParseError as exc:
            self.stats.drop(exc.reason)
        except FeedError as exc:
            log.warning("spot tick sizes unavailable", venue=self.venue, error=self.rest.redact(str(exc)))
