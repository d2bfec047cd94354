"""Binance USDⓈ-M (+ its spot books): native streams for markets, signed REST through ccxt.

Market data takes the fast path (websockets + one msgspec decoder, `wsfeed.WsFeed`): mark price,
index and funding estimate on `/market/stream` (`@markPrice@1s`), perpetual book tops on
`/public/stream` (`@bookTicker`), spot book tops on the spot host's `/stream`, at most
`max_streams_per_connection` streams per socket. Account state comes from ccxt's signed REST calls
and the user data stream (`account.BinanceAccount`). Funding intervals and the REST
seed of marks are refreshed every `REFERENCE_REFRESH_S` (`reference_loop`), and with
`symbols = ["*"]` the listing too (`listing`). A symbol an account
holds beyond `symbols` gets the same streams and its funding interval at once (`held`).

All REST calls and new connections of the venue share one `Cooldown` (limits are per IP) and one
connection pacer (300 connection attempts per 5 min per IP).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import ccxt.async_support as ccxt_async
import structlog

from monitor.clock import Clock
from monitor.collectors.backfill import Backfill
from monitor.collectors.base import (
    AccountAccess,
    CollectorStats,
    KeyGate,
    RecordSink,
    TaskFactory,
    account_access,
)
from monitor.collectors.binance.account import BinanceAccount
from monitor.collectors.binance.history import BinanceHistory
from monitor.collectors.binance.wire import (
    parse_combined_frame,
    parse_depth_frame,
    parse_funding_info,
    parse_premium_index,
)
from monitor.collectors.cadence import stream_limits
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.ccxt_urls import point_binance_at
from monitor.collectors.held import HeldSymbols, MarketSockets, Topic, held_stream_limits
from monitor.collectors.keys import KeyPermissions, binance_permissions
from monitor.collectors.listing import binance_listed, follows_listing, named
from monitor.collectors.pacing import Cooldown, Pacer
from monitor.collectors.wsfeed import WsFeed, ws_policy
from monitor.config import Config, VenueConfig
from monitor.errors import FeedError, ParseError

__all__ = ["AccountAccess", "BinanceEndpoints", "BinanceUsdmCollector", "account_access"]

log = structlog.get_logger(__name__)

REFERENCE_REFRESH_S = 600.0  # brackets and funding intervals change rarely, but they do change
CONNECTS_PER_S = 0.9  # under 300 connection attempts per 5 min, after a burst
CONNECT_BURST = 10


@dataclass(frozen=True, slots=True)
class BinanceEndpoints:
    """Where the venue lives; None keeps ccxt's production URLs."""

    futures_rest: str | None = None
    futures_ws: str = "wss://fstream.binance.com"
    spot_rest: str | None = None
    spot_ws: str = "wss://stream.binance.com:9443"


class BinanceUsdmCollector:
    def __init__(
        self,
        *,
        venue: VenueConfig,
        cfg: Config,
        endpoints: BinanceEndpoints,
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
        secrets = [s for a in accounts.values() for s in (a.key, a.secret)]
        self.rest = RestCaller(self.cooldown, self.stats, secrets)
        self.keys = KeyGate(
            venue=venue.name,
            accounts=accounts,
            read=self._permissions,
            redact=self.rest.redact,
            sink=sink,
            clock=clock,
        )
        self.history = Backfill(
            venue=venue.name,
            source=BinanceHistory(),
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
            name: BinanceAccount(
                venue=venue.name,
                name=name,
                client=partial(self._client, name),
                rest=self.rest,
                sink=sink,
                clock=clock,
                stats=self.stats,
                futures_ws=endpoints.futures_ws,
                poll_s=venue.poll_s,
                reconcile_s=venue.reconcile_s,
                keepalive_s=venue.listen_key_keepalive_s,
                user_stream=venue.user_stream,
                connect_pacer=self.connect_pacer,
                policy=self.policy,
                held=self.held,
            )
            for name in accounts
        }

    # ---------------------------------------------------------------- wiring
    def tasks(self) -> dict[str, TaskFactory]:
        """Named coroutine factories for the supervisor: one job each, restarted on crash."""
        t: dict[str, TaskFactory] = {f"{self.venue}.reference": self.reference_loop}
        if self.cfg.backfill:
            t[f"{self.venue}.history"] = self.history.run
        for feed in self.feeds():
            t[feed.name] = feed.run
        if self.accounts:
            t[f"{self.venue}.held"] = self.held_loop
        for name in self.accounts:
            w = self.watchers[name]
            t[f"{self.venue}.account.{name}"] = partial(self.keys.guarded, name, w.reconcile_loop)
            if self.cfg.user_stream:
                t[f"{self.venue}.user.{name}"] = partial(self.keys.guarded, name, w.user_loop)
        return t

    def feeds(self) -> list[WsFeed]:
        """The market sockets: one kind of stream per endpoint, at most N streams per socket."""
        self.sockets = MarketSockets(self.cfg.max_streams_per_connection, self.limits, self._feed)
        for kind, topics in self._topics(named(self.cfg.symbols), self.cfg.spot_symbols).items():
            self.sockets.extend(kind, topics)
        return self.sockets.feeds()

    def _topics(self, symbols: Sequence[str], spot_symbols: Sequence[str]) -> dict[str, list[Topic]]:
        """Socket kind → its subscriptions for these symbols (perp streams) and spot symbols."""
        v = self.cfg
        out: dict[str, list[Topic]] = {
            "market": [(f"{s.lower()}@markPrice@1s", (f"mark:{s}",)) for s in symbols]
        }
        if v.perp_books:
            out["public"] = [(f"{s.lower()}@bookTicker", (f"book:perp:{s}",)) for s in symbols]
        if v.depth_levels:  # the levels a close walks through (cost to close beyond the best level)
            out["depth"] = [
                (f"{s.lower()}@depth{v.depth_levels}@500ms", (f"depth:perp:{s}",)) for s in symbols
            ]
        if spot_symbols:
            out["spot"] = [(f"{s.lower()}@bookTicker", (f"book:spot:{s}",)) for s in spot_symbols]
        return out

    def _held_topics(self, symbols: Sequence[str]) -> dict[str, list[Topic]]:
        """The perp streams of symbols an account holds, with the limits configured ones would have."""
        for s in symbols:
            self.limits.update(held_stream_limits(self.full_cfg, self.cfg, s))
        return self._topics(symbols, ())

    def _feed(self, kind: str, index: int, topics: Sequence[Topic]) -> WsFeed:
        fut, spot = self.endpoints.futures_ws.rstrip("/"), self.endpoints.spot_ws.rstrip("/")
        url = {"market": f"{fut}/market/stream", "spot": f"{spot}/stream"}.get(kind, f"{fut}/public/stream")
        return WsFeed(
            name=f"{self.venue}.{kind}.{index}",
            url=url,
            subscriptions=[sub for sub, _ in topics],
            limits={stream: self.limits[stream] for _, streams in topics for stream in streams},
            parse=partial(parse_depth_frame, venue=self.venue, depth=self.cfg.depth_levels)
            if kind == "depth"
            else partial(parse_combined_frame, venue=self.venue, market="spot" if kind == "spot" else "perp"),
            sink=self.sink,
            clock=self.clock,
            stats=self.stats,
            policy=self.policy,
            connect_pacer=self.connect_pacer,
            cooldown=self.cooldown,
        )

    async def held_loop(self) -> None:
        """Subscribe the streams of every symbol an account holds beyond the configured ones."""
        await self.sockets.follow(self.held, self._held_topics, self.clock)

    def _client(self, account: str | None = None) -> Any:
        opts: dict[str, Any] = {"options": {"fetchCurrencies": False}, "enableRateLimit": True}
        if account is not None:
            a = self.accounts[account]
            opts |= {"apiKey": a.key.reveal(), "secret": a.secret.reveal()}
        ex = ccxt_async.binanceusdm(opts)
        point_binance_at(ex, self.endpoints.futures_rest, self.endpoints.spot_rest)
        return ex

    # ---------------------------------------------------------------- keys
    async def check_keys(self) -> None:
        """At start: refuse keys that can withdraw, trade or transfer (see `keys`)."""
        await self.keys.check_all()

    async def _permissions(self, name: str) -> KeyPermissions:
        ex = self._client(name)
        try:
            return binance_permissions(await self.rest.call(ex, ex.sapiGetAccountApiRestrictions))
        finally:
            await ex.close()

    # ---------------------------------------------------------------- reference data
    async def reference_loop(self) -> None:
        """Funding intervals (per symbol, from the venue) and a REST seed of marks."""
        ex = self._client()
        seeded = False
        try:
            while True:
                held = len(self.held.extra)
                try:
                    if not seeded:  # only before the stream speaks: REST is not stream liveness
                        premium = await self.rest.call(ex, ex.fapiPublicGetPremiumIndex)
                        wanted = set(self.cfg.symbols)
                        for rec in parse_premium_index(premium, self.venue, self.clock.now_ns()):
                            if rec.symbol in wanted:
                                self.sink.put(rec)
                        seeded = True
                    if follows_listing(self.cfg):  # symbols = ["*"]: new listings (collectors.listing)
                        self.held.note(
                            binance_listed(await self.rest.call(ex, ex.fapiPublicGetExchangeInfo)),
                            "newly listed",
                        )
                    info = await self.rest.call(ex, ex.fapiPublicGetFundingInfo)
                    for fi in parse_funding_info(info, self.held.watched, self.venue, self.clock.now_ns()):
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
