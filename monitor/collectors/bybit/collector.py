"""Bybit v5 linear USDT perpetuals (+ spot book tops): native sockets for markets, signed REST through ccxt.

Markets take the same fast path as Binance (`wsfeed.WsFeed`, one decoder per frame, per-stream
liveness, make-before-break replacement, the 24 h rotation), spoken in Bybit's dialect:
`{"op":"subscribe","args":[…]}` with at most 10 topics a message, and an application
`{"op":"ping"}` every 20 s. One `tickers.{symbol}` topic carries mark, index, funding estimate,
funding interval and the book top, as a snapshot then deltas of changed fields
(`wire.TickerBook` merges them per socket). Spot book tops are `orderbook.1.{symbol}` on the
spot socket; perp book levels (`depth_levels`, for the cost to close) are `orderbook.50.{symbol}`
on the linear socket, a snapshot then deltas (`wire.DepthBooks`). Accounts:
`account.BybitAccount` (REST snapshot + private stream). Reference data — funding intervals
and rate bounds from instruments-info, a REST seed of marks before the socket speaks — is
refreshed every `REFERENCE_REFRESH_S`. A symbol an account holds beyond `symbols` gets its tickers
(and book levels) and its funding interval at once (`held`).

All REST calls and new connections of the venue share one `Cooldown` and one connection pacer.

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
from dataclasses import dataclass
from functools import partial
from typing import Any

import ccxt.async_support as ccxt_async
import structlog

from monitor.clock import Clock
from monitor.collectors.backfill import Backfill
from monitor.collectors.base import AccountAccess, CollectorStats, KeyGate, RecordSink, TaskFactory
from monitor.collectors.bybit.account import BybitAccount
from monitor.collectors.bybit.history import BybitHistory
from monitor.collectors.bybit.wire import (
    DepthBooks,
    TickerBook,
    parse_instruments,
    parse_orderbook,
    parse_public_frame,
    parse_tickers,
)
from monitor.collectors.cadence import stream_limits
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.ccxt_urls import point_bybit_at
from monitor.collectors.held import HeldSymbols, MarketSockets, Topic, held_stream_limits
from monitor.collectors.keys import KeyPermissions, bybit_permissions
from monitor.collectors.listing import bybit_listed, follows_listing, named
from monitor.collectors.liveness import progress, same_value
from monitor.collectors.pacing import Cooldown, Pacer
from monitor.collectors.wsfeed import WsDialect, WsFeed, ws_policy
from monitor.config import Config, VenueConfig
from monitor.errors import FeedError, ParseError
from monitor.records import Quote, Record

__all__ = ["BYBIT_DIALECT", "BybitCollector", "BybitEndpoints"]

log = structlog.get_logger(__name__)

REFERENCE_REFRESH_S = 600.0
CONNECTS_PER_S = 0.9  # Bybit allows 500 connections per 5 min per IP; stay far below
CONNECT_BURST = 10


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


@dataclass(frozen=True, slots=True)
class BybitEndpoints:
    """Where the venue lives: one REST host (None keeps ccxt's), one WebSocket base for every path."""

    rest: str | None = None
    ws: str = "wss://stream.bybit.com"  # + /v5/public/linear, /v5/public/spot, /v5/private


class BybitCollector:
    def __init__(
        self,
        *,
        venue: VenueConfig,
        cfg: Config,
        endpoints: BybitEndpoints,
        accounts: dict[str, AccountAccess],
        sink: RecordSink,
        clock: Clock,
    ) -> None:
        self.venue = venue.name
        self.cfg = venue
        self.endpoints = endpoints
        self.accounts = accounts
        self.sink = sink
        self.clock = clock
        self.stats = CollectorStats(venue.name)
        self.full_cfg = cfg
        self.limits = stream_limits(cfg, venue)
        self.held = HeldSymbols(venue.name, named(venue.symbols))  # what the accounts hold, for the sockets
        self.sockets = MarketSockets(venue.max_streams_per_connection, self.limits, self._feed)
        self.policy = ws_policy(venue)
        self.cooldown = Cooldown(clock)
        self.connect_pacer = Pacer(clock, CONNECTS_PER_S, CONNECT_BURST)
        self.rest = RestCaller(
            self.cooldown, self.stats, [s for a in accounts.values() for s in (a.key, a.secret)]
        )
        self.keys = KeyGate(
            venue=venue.name,
            accounts=accounts,
            read=self._permissions,
            redact=self.rest.redact,
            sink=sink,
            clock=clock,
        )
        base = endpoints.ws.rstrip("/")
        self.history = Backfill(
            venue=venue.name,
            source=BybitHistory(),
            symbols=named(venue.symbols),
            spot_symbols=venue.spot_symbols,
            step_s=cfg.evaluation.volatility_sample_s,
            points=cfg.evaluation.history_points,
            client=self._client,
            rest=self.rest,
            sink=sink,
            clock=clock,
            stats=self.stats,
        )
        self.watchers = {
            name: BybitAccount(
                venue=venue.name,
                name=name,
                client=partial(self._client, name),
                rest=self.rest,
                sink=sink,
                clock=clock,
                stats=self.stats,
                poll_s=venue.poll_s,
                reconcile_s=venue.reconcile_s,
                user_stream=venue.user_stream,
                connect_pacer=self.connect_pacer,
                policy=self.policy,
                private_ws=f"{base}/v5/private",
                access=access,
                symbols=venue.symbols,
                held=self.held,
            )
            for name, access in accounts.items()
        }

    # ---------------------------------------------------------------- wiring
    def tasks(self) -> dict[str, TaskFactory]:
        t: dict[str, TaskFactory] = {f"{self.venue}.reference": self.reference_loop}
        if self.cfg.backfill:
            t[f"{self.venue}.history"] = self.history.run
        for feed in self.feeds():
            t[feed.name] = feed.run
        if self.accounts:
            t[f"{self.venue}.held"] = self.held_loop
        for name, w in self.watchers.items():
            t[f"{self.venue}.account.{name}"] = partial(self.keys.guarded, name, w.reconcile_loop)
            if self.cfg.user_stream:
                t[f"{self.venue}.user.{name}"] = partial(self.keys.guarded, name, w.user_loop)
        return t

    def feeds(self) -> list[WsFeed]:
        """Linear tickers (mark, funding, perp book top) and spot book tops, N topics per socket."""
        self.sockets = MarketSockets(self.cfg.max_streams_per_connection, self.limits, self._feed)
        for kind, topics in self._topics(named(self.cfg.symbols), self.cfg.spot_symbols).items():
            self.sockets.extend(kind, topics)
        return self.sockets.feeds()

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

    def _held_topics(self, symbols: Sequence[str]) -> dict[str, list[Topic]]:
        """The linear topics of symbols an account holds, with the limits configured ones would have."""
        for s in symbols:
            self.limits.update(held_stream_limits(self.full_cfg, self.cfg, s))
        return self._topics(symbols, ())

    def _feed(self, kind: str, index: int, topics: Sequence[Topic]) -> WsFeed:
        v, base = self.cfg, self.endpoints.ws.rstrip("/")
        return WsFeed(
            name=f"{self.venue}.{kind}.{index}",
            url=f"{base}/v5/public/{kind}",
            subscriptions=[topic for topic, _ in topics],
            limits={stream: self.limits[stream] for _, streams in topics for stream in streams},
            parse=partial(
                parse_public_frame,
                venue=self.venue,
                book=TickerBook(),
                depth=DepthBooks(v.depth_levels) if kind == "linear" else None,
            ),
            sink=self.sink,
            clock=self.clock,
            stats=self.stats,
            policy=self.policy,
            connect_pacer=self.connect_pacer,
            cooldown=self.cooldown,
            dialect=BYBIT_DIALECT,
            quiet=BybitQuietProbe(
                client=self._client, rest=self.rest, venue=self.venue, clock=self.clock, depth=v.depth_levels
            )
            if kind == "linear"
            else None,  # spot book tops are sent again every 3 s without a change
        )

    async def held_loop(self) -> None:
        """Subscribe the tickers of every symbol an account holds beyond the configured ones."""
        await self.sockets.follow(self.held, self._held_topics, self.clock)

    def _client(self, account: str | None = None) -> Any:
        opts: dict[str, Any] = {"options": {"fetchCurrencies": False}, "enableRateLimit": True}
        if account is not None:
            a = self.accounts[account]
            opts |= {"apiKey": a.key.reveal(), "secret": a.secret.reveal()}
        ex = ccxt_async.bybit(opts)
        ex.has["fetchCurrencies"] = False
        point_bybit_at(ex, self.endpoints.rest)
        return ex

    # ---------------------------------------------------------------- keys
    async def check_keys(self) -> None:
        """At start: refuse keys that can withdraw, trade or transfer (`GET /v5/user/query-api`)."""
        await self.keys.check_all()

    async def _permissions(self, name: str) -> KeyPermissions:
        ex = self._client(name)
        try:
            return bybit_permissions(await self.rest.call(ex, ex.privateGetV5UserQueryApi))
        finally:
            await ex.close()

    # ---------------------------------------------------------------- reference data
    async def reference_loop(self) -> None:
        """Funding intervals and bounds (per symbol, from the venue) and a REST seed of marks."""
        ex = self._client()
        seeded = False
        try:
            while True:
                held = len(self.held.extra)
                try:
                    now = self.clock.now_ns()
                    if not seeded:  # only before the socket speaks: REST is not stream liveness
                        body = await self.rest.call(ex, ex.publicGetV5MarketTickers, {"category": "linear"})
                        for rec in parse_tickers(body, self.venue, now, self.cfg.symbols):
                            if not isinstance(rec, Quote):  # the book's liveness is the socket's alone
                                self.sink.put(rec)
                        seeded = True
                    body = await self.rest.call(
                        ex, ex.publicGetV5MarketInstrumentsInfo, {"category": "linear", "limit": 1000}
                    )
                    if follows_listing(self.cfg) and isinstance(body, dict):  # ["*"]: new listings
                        self.held.note(bybit_listed(body.get("result")), "newly listed")
                    for fi in parse_instruments(body, self.venue, self.clock.now_ns(), self.held.watched):
                        self.sink.put(fi)
                    delay = REFERENCE_REFRESH_S
                except ParseError as exc:
                    self.stats.drop(exc.reason)
                    delay = 30.0
                except FeedError as exc:
                    log.warning("reference data failed", venue=self.venue, error=self.rest.redact(str(exc)))
                    delay = 10.0
                await self.held.wait(held, self.clock, delay)  # a newly held symbol's interval: now
        finally:
            await ex.close()
