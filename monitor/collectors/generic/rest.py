"""The generic collector's REST half: its ccxt clients, the reference loop and the polled accounts.

Split from `collector.py` (the wiring and the ccxt.pro watches) along the same line as a native
collector's: what is asked of the venue over REST on a timer (funding rates and intervals, price
ticks, leverage tiers, positions and balances every `poll_s`) is here, as the base the collector
extends; the streams that are watched are there. `_wire` (in the collector) sets the attributes
declared below.
"""

from __future__ import annotations

import contextlib
import copy
from typing import Any

import ccxt.pro as ccxtpro
import structlog

from monitor.clock import NS_PER_S
from monitor.collectors.common import VenueCollector
from monitor.collectors.generic import convert as conv
from monitor.collectors.held import held_stream_limits
from monitor.collectors.listing import ccxt_listed, follows_listing
from monitor.errors import FeedError, ParseError
from monitor.records import AccountSnapshot, FeedState, FeedStatus, Market
from monitor.venues import by_ccxt_id, ccxt_quirks

__all__ = ["REFERENCE_REFRESH_S", "CcxtRest"]

log = structlog.get_logger("monitor.collectors.generic.collector")  # one collector, one log name
REFERENCE_REFRESH_S = 300.0


class CcxtRest(VenueCollector):
    """The clients, reference data and account polling of `CcxtProCollector` (its base)."""

    exchange_id: str
    symbols: tuple[str, ...]
    _no_tiers_told: bool
    _funding: dict[str, tuple[float, int]]  # symbol → (rate, next funding ns), from REST

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

    def _status(self, limits: dict[str, float], state: FeedState, reason: str) -> None:
        now = self.clock.now_ns()
        for s in limits:
            self.sink.put(
                FeedStatus(
                    venue=self.venue, ts_event_ns=now, ts_recv_ns=now, stream=s, state=state, reason=reason
                )
            )

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
