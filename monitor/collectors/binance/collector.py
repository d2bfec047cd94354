"""Binance USDⓈ-M (+ its spot books): native streams for markets, signed REST through ccxt.

Market data takes the fast path (websockets + one msgspec decoder, `wsfeed.WsFeed`): mark price,
index and funding estimate on `/market/stream` (`@markPrice@1s`), perpetual book tops on
`/public/stream` (`@bookTicker`), spot book tops on the spot host's `/stream`, at most
`max_streams_per_connection` streams per socket. Account state comes from ccxt's signed REST calls
and the user data stream (`account.BinanceAccount`). Funding intervals and the REST
seed of marks are refreshed every `native.REFERENCE_REFRESH_S`, with each symbol's price tick from
exchangeInfo (futures, and spot for `spot_symbols`), and with `symbols = ["*"]` the listing too
(`listing`). A symbol an account holds beyond `symbols` gets the same streams and its
funding interval at once (`held`). The wiring is `native.NativeCollector`'s.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import partial
from typing import Any

import structlog

from monitor.collectors.base import AccountAccess
from monitor.collectors.binance.account import BinanceAccount
from monitor.collectors.binance.history import BinanceHistory
from monitor.collectors.binance.wire import (
    parse_combined_frame,
    parse_depth_frame,
    parse_exchange_info,
    parse_funding_info,
    parse_premium_index,
)
from monitor.collectors.held import Topic
from monitor.collectors.listing import binance_listed, follows_listing
from monitor.collectors.native import NativeCollector
from monitor.collectors.wsfeed import WsFeed
from monitor.errors import FeedError, ParseError

__all__ = ["BinanceUsdmCollector", "seed_premium_marks"]

log = structlog.get_logger(__name__)


async def seed_premium_marks(c: NativeCollector, ex: Any, call: Any) -> None:
    """The configured symbols' marks from `premiumIndex` (`call`: USDⓈ-M's `/fapi` or COIN-M's
    `/dapi`, which answer alike), once, before the stream speaks."""
    premium = await c.rest.call(ex, call)
    wanted = set(c.cfg.symbols)
    for rec in parse_premium_index(premium, c.venue, c.clock.now_ns()):
        if rec.symbol in wanted:
            c.sink.put(rec)


class BinanceUsdmCollector(NativeCollector):
    def _history_source(self) -> BinanceHistory:
        return BinanceHistory()

    def _watcher(self, name: str, access: AccountAccess) -> BinanceAccount:
        return BinanceAccount(
            **self._watcher_args(name),
            futures_ws=self.ws,
            keepalive_s=self.cfg.listen_key_keepalive_s,
        )

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

    def _feed(self, kind: str, index: int, topics: Sequence[Topic]) -> WsFeed:
        fut, spot = self.ws.rstrip("/"), self.spot_ws.rstrip("/")
        url = {"market": f"{fut}/market/stream", "spot": f"{spot}/stream"}.get(kind, f"{fut}/public/stream")
        parse = (
            partial(parse_depth_frame, venue=self.venue, depth=self.cfg.depth_levels)
            if kind == "depth"
            else partial(parse_combined_frame, venue=self.venue, market="spot" if kind == "spot" else "perp")
        )
        return self._socket(kind, index, topics, url=url, parse=parse)

    async def _seed_marks(self, ex: Any) -> None:
        await seed_premium_marks(self, ex, ex.fapiPublicGetPremiumIndex)

    async def _reference(self, ex: Any) -> None:
        listing = None
        if follows_listing(self.cfg):  # symbols = ["*"]: new listings (collectors.listing)
            listing = await self.rest.call(ex, ex.fapiPublicGetExchangeInfo)
            self.held.note(binance_listed(listing), "newly listed")
        info = await self.rest.call(ex, ex.fapiPublicGetFundingInfo)
        for fi in parse_funding_info(info, self.held.watched, self.venue, self.clock.now_ns()):
            self.sink.put(fi)
        await self._ticks(ex, listing)

    async def _ticks(self, ex: Any, listing: Any) -> None:
        """Price ticks from exchangeInfo: the perpetuals' (the listing's reply when one was fetched)
        and the spot books' (`symbols=[…]`: the whole spot listing is megabytes).

        Ticks only shape how prices are written, so a failure is logged or counted and waits for
        the next refresh: the funding intervals above are not fetched again for it, and prices
        meanwhile read at significant digits.
        """
        try:
            if listing is None:
                listing = await self.rest.call(ex, ex.fapiPublicGetExchangeInfo)
            now = self.clock.now_ns()
            for inst in parse_exchange_info(listing, self.held.watched, self.venue, "perp", now):
                self.sink.put(inst)
            if self.cfg.spot_symbols:
                names = json.dumps(list(self.cfg.spot_symbols), separators=(",", ":"))
                body = await self.rest.call(ex, ex.publicGetExchangeInfo, {"symbols": names})
                for inst in parse_exchange_info(body, self.cfg.spot_symbols, self.venue, "spot", now):
                    self.sink.put(inst)
        except ParseError as exc:
            self.stats.drop(exc.reason)
        except FeedError as exc:
            log.warning("tick sizes unavailable", venue=self.venue, error=self.rest.redact(str(exc)))
