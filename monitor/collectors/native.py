"""What a native collector is made of, written once: Binance's and Bybit's differ in their wire and
their accounts, not in how those are wired together.

Beyond what every collector holds (`common.VenueCollector`: stats, limits, held symbols, the
cool-down, the key check), a native collector reads markets on its own sockets (`wsfeed.WsFeed`,
at most N streams a socket, `held.MarketSockets`), signs REST through a ccxt client of its venue
(the registry entry's first ccxt id, pointed at other hosts by the entry's pointer), backfills
history (`backfill.Backfill`) and watches each account (`account_watch.AccountWatcher`). New
connections of the venue share one connection pacer. Reference data (funding intervals, a REST
seed of marks before the stream speaks, the listing with `symbols = ["*"]`) is refreshed every
`REFERENCE_REFRESH_S`, and at once for a symbol an account is found holding (`held`).

A venue's collector subclasses `NativeCollector` and fills in what is its own: the topics of each
socket kind, the feed for a socket, the account watcher, and the two reference calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import ccxt.async_support as ccxt_async
import structlog

from monitor.collectors.account_watch import REFERENCE_REFRESH_S, AccountWatcher
from monitor.collectors.backfill import Backfill, HistorySource
from monitor.collectors.base import AccountAccess, TaskFactory
from monitor.collectors.common import VenueCollector
from monitor.collectors.held import MarketSockets, Topic, held_stream_limits
from monitor.collectors.listing import named
from monitor.collectors.pacing import Pacer
from monitor.collectors.wsfeed import Parser, WsFeed, ws_policy
from monitor.errors import FeedError, ParseError

__all__ = ["NativeCollector"]

log = structlog.get_logger(__name__)

CONNECTS_PER_S = 0.9  # Binance allows 300 connection attempts per 5 min per IP, Bybit 500: stay below
CONNECT_BURST = 10


class NativeCollector(VenueCollector):
    def _wire(self) -> None:
        venue, cfg, clock, sink = self.cfg, self.full_cfg, self.clock, self.sink
        # the socket bases: the venue's production ones unless the endpoints say otherwise
        self.ws = self.endpoints.ws or self.spec.ws
        self.spot_ws = self.endpoints.spot_ws or self.spec.spot_ws
        self.sockets = MarketSockets(venue.max_streams_per_connection, self.limits, self._feed)
        self.policy = ws_policy(venue)
        self.connect_pacer = Pacer(clock, CONNECTS_PER_S, CONNECT_BURST)
        self.history = Backfill(
            venue=venue.name,
            source=self._history_source(),
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
        self.watchers = {name: self._watcher(name, access) for name, access in self.accounts.items()}

    # ---------------------------------------------------------------- what a venue fills in
    def _history_source(self) -> HistorySource:
        """Its candle and funding-history calls (`backfill.HistorySource`)."""
        raise NotImplementedError

    def _topics(self, symbols: Sequence[str], spot_symbols: Sequence[str]) -> dict[str, list[Topic]]:
        """Socket kind → its subscriptions for these perpetuals and spot symbols."""
        raise NotImplementedError

    def _feed(self, kind: str, index: int, topics: Sequence[Topic]) -> WsFeed:
        """The socket `index` of one kind, carrying `topics`."""
        raise NotImplementedError

    def _watcher(self, name: str, access: AccountAccess) -> AccountWatcher:
        """The watcher of one account (built from `_watcher_args` and what the venue adds)."""
        raise NotImplementedError

    async def _seed_marks(self, ex: Any) -> None:
        """Marks over REST, once, before the stream speaks (REST is not stream liveness)."""
        raise NotImplementedError

    async def _reference(self, ex: Any) -> None:
        """Funding intervals (and, with `symbols = ["*"]`, new listings for `held.note`)."""
        raise NotImplementedError

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
        for name, w in self.watchers.items():
            t[f"{self.venue}.account.{name}"] = partial(self.keys.guarded, name, w.reconcile_loop)
            if self.cfg.user_stream:
                t[f"{self.venue}.user.{name}"] = partial(self.keys.guarded, name, w.user_loop)
        return t

    def feeds(self) -> list[WsFeed]:
        """The market sockets: one kind of stream per socket, at most N streams per socket."""
        self.sockets = MarketSockets(self.cfg.max_streams_per_connection, self.limits, self._feed)
        for kind, topics in self._topics(named(self.cfg.symbols), self.cfg.spot_symbols).items():
            self.sockets.extend(kind, topics)
        return self.sockets.feeds()

    def _held_topics(self, symbols: Sequence[str]) -> dict[str, list[Topic]]:
        """The perp streams of symbols an account holds, with the limits configured ones would have."""
        for s in symbols:
            self.limits.update(held_stream_limits(self.full_cfg, self.cfg, s))
        return self._topics(symbols, ())

    def _socket(
        self, kind: str, index: int, topics: Sequence[Topic], *, url: str, parse: Parser, **dialect: Any
    ) -> WsFeed:
        """A market socket of this venue; `dialect`: `WsFeed`'s venue-specific keywords."""
        return WsFeed(
            name=f"{self.venue}.{kind}.{index}",
            url=url,
            subscriptions=[sub for sub, _ in topics],
            limits={stream: self.limits[stream] for _, streams in topics for stream in streams},
            parse=parse,
            sink=self.sink,
            clock=self.clock,
            stats=self.stats,
            policy=self.policy,
            connect_pacer=self.connect_pacer,
            cooldown=self.cooldown,
            **dialect,
        )

    async def held_loop(self) -> None:
        """Subscribe the streams of every symbol an account holds beyond the configured ones."""
        await self.sockets.follow(self.held, self._held_topics, self.clock)

    def _watcher_args(self, name: str) -> dict[str, Any]:
        """What every account watcher takes (`account_watch.AccountWatcher`)."""
        v = self.cfg
        return {
            "venue": self.venue,
            "name": name,
            "client": partial(self._client, name),
            "rest": self.rest,
            "sink": self.sink,
            "clock": self.clock,
            "stats": self.stats,
            "poll_s": v.poll_s,
            "reconcile_s": v.reconcile_s,
            "user_stream": v.user_stream,
            "connect_pacer": self.connect_pacer,
            "policy": self.policy,
            "held": self.held,
        }

    def _client(self, account: str | None = None) -> Any:
        """A ccxt REST client of the venue (signed for `account`), pointed at its endpoints."""
        opts: dict[str, Any] = {"options": {"fetchCurrencies": False}, "enableRateLimit": True}
        if account is not None:
            a = self.accounts[account]
            opts |= {"apiKey": a.key.reveal(), "secret": a.secret.reveal()}
            if a.password is not None:  # OKX: the key's passphrase
                opts["password"] = a.password.reveal()
        ex = getattr(ccxt_async, self.spec.ccxt_ids[0])(opts)
        ex.has["fetchCurrencies"] = False
        self.spec.point_client(ex, self.endpoints)
        return ex

    def _signed_client(self, account: str) -> Any:
        return self._client(account)

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
                        await self._seed_marks(ex)
                        seeded = True
                    await self._reference(ex)
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
