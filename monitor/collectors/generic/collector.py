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
the evaluator has for them. The REST half (clients, reference data, accounts) is `rest.py`'s.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any

import ccxt.pro as ccxtpro
import structlog

from monitor.backoff import backoff
from monitor.clock import NS_PER_S
from monitor.collectors.base import TaskFactory
from monitor.collectors.generic import convert as conv
from monitor.collectors.generic.rest import CcxtRest
from monitor.collectors.listing import named
from monitor.collectors.liveness import Liveness, progress
from monitor.errors import FeedError, ParseError
from monitor.records import FeedState, Record
from monitor.venues import ccxt_quirks

__all__ = ["CcxtProCollector"]

log = structlog.get_logger(__name__)
Watch = Callable[[Any, list[str]], Awaitable[Any]]
Convert = Callable[[Any, int], Iterable[Record]]


class _Stale(Exception):
    pass


class _Resubscribe(Exception):
    """An account was found holding a symbol the watch does not cover yet."""


class CcxtProCollector(CcxtRest):
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


async def _one(aw: Awaitable[Any]) -> dict[str, Any]:
    t = await aw
    return {t["symbol"]: t}
