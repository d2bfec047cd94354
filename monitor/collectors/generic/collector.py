"""The generic collector: any venue ccxt.pro supports, selected by `kind = "ccxt"`, `exchange = "…"`.

A user should never wait for a native adapter to see their book. This collector uses only ccxt's
unified API — `watch_mark_prices`/`watch_mark_price` (or `watch_tickers`), `watch_bids_asks`,
`fetch_positions`, `fetch_balance`, `fetch_funding_rate(s)`, `fetch_funding_intervals`,
`fetch_leverage_tiers` — and produces the same records as the native path, behind the same
per-stream liveness (`liveness.Liveness`: a repeated ticker is not life; a stream silent past its
limit is STALE and its ccxt client is replaced), the same venue cool-down after 429/418 and the same
key check. It is slower than the native path (see `bench/ingest.py`), which matters for all-market
book streams, not for a book of positions. Accounts are polled over REST every `poll_s`.

A symbol an account holds beyond `symbols` is watched too (`held.HeldSymbols`): the mark and book
watches re-subscribe with it on the same client, the reference loop fetches its funding, and its
tiers are fetched once, at once. A venue without `fetchLeverageTiers` has no tiers at all; its
positions still carry what the venue reports per leg (maintenance margin, mark, LP), which is what
the evaluator has for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any

import ccxt.pro as ccxtpro
import structlog

from monitor.backoff import backoff
from monitor.clock import NS_PER_S
from monitor.collectors.base import TaskFactory
from monitor.collectors.common import VenueCollector
from monitor.collectors.generic import convert as conv
from monitor.collectors.held import held_stream_limits
from monitor.collectors.listing import ccxt_listed, follows_listing, named
from monitor.collectors.liveness import Liveness, progress
from monitor.errors import FeedError, ParseError
from monitor.records import AccountSnapshot, FeedState, FeedStatus, Market, Record
from monitor.venues import by_ccxt_id, ccxt_quirks

__all__ = ["CcxtProCollector"]

log = structlog.get_logger(__name__)
REFERENCE_REFRESH_S = 300.0
Watch = Callable[[Any, list[str]], Awaitable[Any]]
Convert = Callable[[Any, int], Iterable[Record]]


class _Stale(Exception):
    pass


class _Resubscribe(Exception):
    """An account was found holding a symbol the watch does not cover yet."""


class CcxtProCollector(VenueCollector):
    def _wire(self) -> None:
        venue = self.cfg
        if venue.exchange is None:
            raise ValueError("a ccxt venue needs an exchange id")
        self.exchange_id = venue.exchange
        quirks = ccxt_quirks(venue.exchange)
        default_spot = quirks.spot_ccxt_id if quirks is not None else ""
        self.spot_id = venue.spot_exchange or default_spot or venue.exchange
        self.symbols = named(venue.symbols)  # "*" resolved by the daemon and the reference refresh
        self._no_tiers_told = False
        self._funding: dict[str, tuple[float, int]] = {}  # symbol → (rate, next funding ns), from REST

    # ---------------------------------------------------------------- wiring
    def tasks(self) -> dict[str, TaskFactory]:
        v = self.cfg
        t: dict[str, TaskFactory] = {
            f"{self.venue}.reference": self.reference_loop,
            f"{self.venue}.ccxt.marks": partial(self._stream, "marks", self.exchange_id, None, "mark"),
        }
        if v.perp_books:  # None: the perpetuals watched, configured and held
            t[f"{self.venue}.ccxt.books"] = partial(self._stream, "books", self.exchange_id, None, "perp")
        if v.spot_symbols:
            t[f"{self.venue}.ccxt.spot"] = partial(self._stream, "spot", self.spot_id, v.spot_symbols, "spot")
        for name in self.accounts:
            t[f"{self.venue}.account.{name}"] = partial(
                self.keys.guarded, name, partial(self._account_loop, name)
            )
        return t

    def _new(self, exchange_id: str, account: str | None = None) -> Any:
        opts: dict[str, Any] = {"enableRateLimit": True, "options": {"fetchCurrencies": False}}
        if (quirks := ccxt_quirks(exchange_id)) is not None:
            opts["options"] |= copy.deepcopy(dict(quirks.ccxt_options.get(exchange_id, {})))
        if account is not None:
            a = self.accounts[account]
            opts |= {"apiKey": a.key.reveal(), "secret": a.secret.reveal()}
            if a.password is not None:
                opts["password"] = a.password.reveal()
        ex = getattr(ccxtpro, exchange_id)(opts)
        ex.has["fetchCurrencies"] = False
        if by_ccxt_id(exchange_id) is self.spec:  # the endpoints are the venue's: its spot client too
            self.spec.point_client(ex, self.endpoints)
        return ex

    def _signed_client(self, account: str) -> Any:
        return self._new(self.exchange_id, account)

    # ---------------------------------------------------------------- streams
    def _watch(self, ex: Any, kind: str) -> Watch:
        if kind == "marks":
            if ex.has.get("watchMarkPrices"):
                return lambda e, syms: e.watch_mark_prices(syms)
            if ex.has.get("watchMarkPrice") and len(self.symbols) == 1:
                return lambda e, syms: _one(e.watch_mark_price(syms[0]))
            return lambda e, syms: e.watch_tickers(syms)
        return lambda e, syms: e.watch_bids_asks(syms)

    async def _stream(self, kind: str, exchange_id: str, fixed: tuple[str, ...] | None, market: str) -> None:
        """Watch one kind of stream forever; replace the client when a stream stops advancing.

        `fixed`: the symbols (spot); None follows the watched perpetuals, configured then held, and
        re-subscribes on the same client when an account is found holding a new one.
        """
        prefix = "mark" if market == "mark" else f"book:{market}"
        symbols = fixed if fixed is not None else self.symbols
        limits = {f"{prefix}:{s}": self.limits[f"{prefix}:{s}"] for s in symbols}
        socket = f"{self.venue}.ccxt.{kind}"
        live = Liveness(limits, self.clock.monotonic_ns())
        delays = backoff(initial_s=0.5, max_s=60.0)
        stale_delays = backoff(initial_s=max(1.0, min(limits.values())), max_s=300.0, jitter=0.2)
        self._status(limits, FeedState.DOWN, "connecting")
        while True:
            ex = self._new(exchange_id)
            try:
                markets = await self.rest.call(ex, ex.load_markets)
                live.restart(self.clock.monotonic_ns())
                while True:
                    held = len(self.held.extra)
                    if fixed is not None:
                        names = (conv.spot_symbols if market == "spot" else conv.perp_symbols)(markets, fixed)
                        if market == "spot":  # the spot client's markets: the spot books' ticks
                            self._ticks(ex, markets, names, "spot")
                    else:
                        names = self._perp_names(markets)
                        if not self._follows_held(ex, kind):
                            left = {f"{prefix}:{s}": 0.0 for s in names if s not in self.symbols}
                            self._status(
                                left, FeedState.DOWN, "not watched: this venue watches marks per symbol"
                            )
                            names = {s: u for s, u in names.items() if s in self.symbols}
                        more = {f"{prefix}:{s}": self.limits[f"{prefix}:{s}"] for s in names}
                        added = {k: v for k, v in more.items() if k not in limits}
                        if added:
                            limits |= added
                            live.add(added, self.clock.monotonic_ns())
                            self._status(added, FeedState.DOWN, "subscribing")
                    reverse = {u: s for s, u in names.items()}
                    convert: Convert
                    if market == "mark":
                        convert = partial(
                            conv.mark_records, names=reverse, venue=self.venue, funding=self._funding
                        )
                    else:
                        convert = partial(conv.quote_records, names=reverse, venue=self.venue, market=market)
                    self.stats.connected[socket] = True
                    try:
                        await self._pump(
                            ex,
                            self._watch(ex, kind),
                            list(names.values()),
                            convert,
                            live,
                            limits,
                            socket,
                            held if fixed is None else None,
                        )
                    except _Resubscribe:
                        continue
            except _Stale:
                self.stats.events["stale_reconnect"] += 1
                await self.clock.sleep(next(stale_delays))
                continue
            except (FeedError, ParseError, ccxtpro.BaseError) as exc:
                self._status(limits, FeedState.DOWN, type(exc).__name__)
                log.warning("ccxt stream failed", socket=socket, error=self.rest.redact(str(exc))[:300])
            finally:
                self.stats.connected[socket] = False
                await ex.close()
            self.stats.reconnects[socket] += 1
            await self.clock.sleep(next(delays))

    def _follows_held(self, ex: Any, kind: str) -> bool:
        """Whether this watch can take held symbols too.

        A venue that watches marks only one symbol at a time (kucoinfutures) keeps its one
        configured symbol on that watch: the multi-symbol fallback, tickers, may carry no mark, and
        one ticker without one would drop the configured symbol's batch with it. Its held legs are
        reported not watched (their mark streams DOWN with the reason), never silently unpriced.
        """
        single = not ex.has.get("watchMarkPrices") and ex.has.get("watchMarkPrice")
        return not (kind == "marks" and single and len(self.symbols) == 1)

    def _perp_names(self, markets: Any) -> dict[str, str]:
        """Configured perpetuals (each must exist) and held ones this venue lists as linear perpetuals."""
        names = conv.perp_symbols(markets, self.symbols)
        for s in self.held.extra:
            try:
                names |= conv.perp_symbols(markets, [s])
            except ParseError:
                continue  # not a linear USDT perpetual here: nothing to subscribe; its leg stays unpriced
            self.limits.update(held_stream_limits(self.full_cfg, self.cfg, s))
        return names

    async def _pump(
        self,
        ex: Any,
        watch: Watch,
        syms: list[str],
        convert: Convert,
        live: Liveness,
        limits: dict[str, float],
        socket: str,
        held: int | None = None,
    ) -> None:
        """`held`: the held symbols this watch covers; a new one ends it with `_Resubscribe`."""
        waiting: asyncio.Future[Any] | None = None
        more: asyncio.Future[bool] | None = None
        try:
            while True:
                if waiting is None:
                    waiting = asyncio.ensure_future(watch(ex, syms))
                if held is not None and more is None:
                    more = asyncio.ensure_future(self.held.wait(held, self.clock))
                now = self.clock.monotonic_ns()
                timeout = min(5.0, max(0.0, (live.next_deadline_ns() - now) / NS_PER_S)) + 0.001
                await asyncio.wait(
                    {waiting} | ({more} if more else set()),
                    timeout=timeout,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                if more is not None and more.done():
                    raise _Resubscribe
                for s in live.overdue(self.clock.monotonic_ns()):
                    self._status({s: limits[s]}, FeedState.STALE, f"no new event for {limits[s]:g}s")
                    log.warning("stream stale; replacing the ccxt client", socket=socket, stream=s)
                    raise _Stale
                if not waiting.done():
                    continue
                data, waiting = waiting.result(), None
                # a batch watch returns only what the last frame changed; ccxt's cache holds the
                # rest (frames that came while nobody waited) and the sequence drops the unchanged
                cache = getattr(ex, "tickers" if socket.endswith(".marks") else "bidsasks", None) or {}
                self._store({**{u: cache[u] for u in syms if u in cache}, **data}, convert, live, socket)
        finally:
            for f in (waiting, more):
                if f is not None:
                    f.cancel()

    def _store(self, data: Any, convert: Convert, live: Liveness, socket: str) -> None:
        now = self.clock.now_ns()
        try:
            records = list(convert(data, now))
        except ParseError as exc:
            self.stats.drop(exc.reason)
            return
        except Exception:  # a conversion bug must not become a reconnect loop
            self.stats.drop("parser_error")
            log.exception("conversion raised", socket=socket)
            return
        mono = self.clock.monotonic_ns()
        for rec in records:
            key = progress(rec)
            if key is not None and not live.observe(key[0], key[1], mono):
                self.stats.drop("repeated")
                continue
            self.sink.put(rec)
            self.stats.messages[socket] += 1

    def _status(self, limits: dict[str, float], state: FeedState, reason: str) -> None:
        now = self.clock.now_ns()
        for s in limits:
            self.sink.put(
                FeedStatus(
                    venue=self.venue, ts_event_ns=now, ts_recv_ns=now, stream=s, state=state, reason=reason
                )
            )

    # ---------------------------------------------------------------- REST
    async def reference_loop(self) -> None:
        """Funding rate, next funding time and interval per symbol, refreshed."""
        ex = self._new(self.exchange_id)
        try:
            while True:
                delay = REFERENCE_REFRESH_S
                held = len(self.held.extra)
                try:
                    markets = await self.rest.call(ex, ex.load_markets, True)
                    if follows_listing(self.cfg):  # symbols = ["*"]: new listings (collectors.listing)
                        self.held.note(ccxt_listed(markets), "newly listed")
                    names = self._perp_names(markets)
                    self._ticks(ex, markets, names, "perp")
                    intervals: dict[str, Any] = {}
                    if ex.has.get("fetchFundingIntervals"):
                        intervals = await self.rest.call(ex, ex.fetch_funding_intervals, list(names.values()))
                    now = self.clock.now_ns()
                    for sym, unified in names.items():
                        fr = await self.rest.call(ex, ex.fetch_funding_rate, unified)
                        next_ms = conv.number(fr.get("fundingTimestamp"), 0)
                        self._funding[sym] = (conv.number(fr.get("fundingRate")), int(next_ms) * 1_000_000)
                        interval = (intervals.get(unified) or {}).get("interval") or fr.get("interval")
                        info = conv.funding_info(self.exchange_id, self.venue, sym, interval, now)
                        if info is not None:
                            self.sink.put(info)
                except ParseError as exc:
                    self.stats.drop(exc.reason)
                    delay = 30.0
                except (FeedError, ccxtpro.BaseError) as exc:
                    log.warning(
                        "reference data failed", venue=self.venue, error=self.rest.redact(str(exc))[:300]
                    )
                    delay = 10.0
                await self.held.wait(held, self.clock, delay)  # a newly held symbol's funding: now
        finally:
            await ex.close()

    def _ticks(self, ex: Any, markets: Any, names: dict[str, str], market: Market) -> None:
        """Each named market's price tick from the markets `ex` just loaded."""
        mode = int(getattr(ex, "precisionMode", 0) or 0)
        now = self.clock.now_ns()
        for inst in conv.instruments(
            markets, names, venue=self.venue, market=market, precision_mode=mode, ts_ns=now
        ):
            self.sink.put(inst)

    async def _account_loop(self, name: str) -> None:
        stream = f"account:{name}"
        ex = self._new(self.exchange_id, name)
        next_tiers = 0
        asked = set(self.symbols)  # symbols whose tiers were asked for; held ones once each, at once
        try:
            while True:
                try:
                    markets = await self.rest.call(ex, ex.load_markets)
                    names = self._perp_names(markets)
                    reverse = {u: s for s, u in names.items()}
                    if self.clock.monotonic_ns() >= next_tiers and ex.has.get("fetchLeverageTiers"):
                        tiers = await self.rest.call(ex, ex.fetch_leverage_tiers, list(names.values()))
                        for t in conv.leverage_tiers(tiers, reverse, self.venue, name, self.clock.now_ns()):
                            self.sink.put(t)
                        next_tiers = self.clock.monotonic_ns() + int(REFERENCE_REFRESH_S * NS_PER_S)
                    rows = await self.rest.call(ex, ex.fetch_positions)
                    bal = await self.rest.call(ex, ex.fetch_balance)
                    now = self.clock.now_ns()
                    snap = conv.account_snapshot(self.venue, name, rows, bal, markets, self.exchange_id, now)
                    self.held.note(p.symbol for p in snap.positions)
                    self.sink.put(snap)
                    self.stats.messages[stream] += 1
                    await self._held_tiers(ex, name, markets, snap, asked)
                except ParseError as exc:
                    self.stats.drop(exc.reason)
                except (FeedError, ccxtpro.BaseError) as exc:
                    self._status({stream: 0.0}, FeedState.DOWN, type(exc).__name__)
                    log.warning(
                        "account snapshot failed", account=name, error=self.rest.redact(str(exc))[:300]
                    )
                await self.clock.sleep(self.cfg.poll_s)
        finally:
            await ex.close()

    async def _held_tiers(
        self, ex: Any, account: str, markets: Any, snap: AccountSnapshot, asked: set[str]
    ) -> None:
        """Tiers for the held symbols not configured, fetched once each, right after they appear."""
        new = sorted({p.symbol for p in snap.positions} - asked)
        if not new:
            return
        if not ex.has.get("fetchLeverageTiers"):
            if not self._no_tiers_told:  # once: asking again would not make the venue grow the call
                self._no_tiers_told = True
                log.warning(
                    "the venue has no leverage-tier call; its legs carry only what it reports",
                    venue=self.venue,
                    symbols=new,
                )
            asked.update(new)
            return
        names: dict[str, str] = {}
        for s in new:
            with contextlib.suppress(ParseError):  # not a linear perpetual here: no tiers to ask for
                names |= conv.perp_symbols(markets, [s])
        try:
            if names:
                tiers = await self.rest.call(ex, ex.fetch_leverage_tiers, list(names.values()))
                reverse = {u: s for s, u in names.items()}
                for t in conv.leverage_tiers(tiers, reverse, self.venue, account, self.clock.now_ns()):
                    self.sink.put(t)
        except (FeedError, ccxtpro.BaseError) as exc:  # the snapshot is out: the account is not down
            log.warning(
                "tiers for a held symbol failed", account=account, error=self.rest.redact(str(exc))[:300]
            )
            return  # asked again after the next snapshot
        except ParseError as exc:
            self.stats.drop(exc.reason)
        asked.update(new)


async def _one(aw: Awaitable[Any]) -> dict[str, Any]:
    t = await aw
    return {t["symbol"]: t}
