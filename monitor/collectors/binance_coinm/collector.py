"""Binance COIN-M: `@markPrice@1s` on dstream's combined stream, accounts over signed `/dapi` REST
and the COIN-M user data stream (`account.CoinmAccount`); the wiring is `native.NativeCollector`'s.

Mark frames, premiumIndex rows, fundingInfo and exchangeInfo ticks have USDⓈ-M's shapes, so
Binance's parsers read them; a frame they refuse is counted (`perpmon_collector_dropped_total`
by reason) and dropped, never a reconnect. No book streams yet (`perp_books`, `depth_levels` and
`spot_symbols` are not served on this venue), and `symbols = ["*"]` lists nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from monitor.collectors.base import AccountAccess
from monitor.collectors.binance.history import BinanceHistory
from monitor.collectors.binance.wire import (
    parse_combined_frame,
    parse_exchange_info,
    parse_funding_info,
    parse_premium_index,
)
from monitor.collectors.binance_coinm.account import CoinmAccount
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.held import Topic
from monitor.collectors.native import NativeCollector
from monitor.collectors.wsfeed import WsFeed
from monitor.errors import ParseError
from monitor.records import Record

__all__ = ["BinanceCoinmCollector", "CoinmHistory"]


class CoinmHistory(BinanceHistory):
    """Mark candles `GET /dapi/v1/markPriceKlines`, settled funding `GET /dapi/v1/fundingRate`."""

    def __init__(self) -> None:
        super().__init__()
        self.page_size = {"mark": 1_500, "spot": 1_000}

    async def candles(
        self, rest: RestCaller, ex: Any, series: str, symbol: str, interval: str, end_ms: int, limit: int
    ) -> list[Any]:
        params = {"symbol": symbol, "interval": interval, "endTime": end_ms, "limit": limit}
        fn = ex.dapiPublicGetMarkPriceKlines if series == "mark" else ex.publicGetKlines
        rows = await rest.call(ex, fn, params)
        if not isinstance(rows, list):
            raise ParseError("kline_page_not_a_list")
        return rows

    async def funding(self, rest: RestCaller, ex: Any, symbol: str, limit: int) -> list[Any]:
        rows = await rest.call(ex, ex.dapiPublicGetFundingRate, {"symbol": symbol, "limit": limit})
        if not isinstance(rows, list):
            raise ParseError("funding_history_not_a_list")
        return rows


def _marks_only(raw: bytes | str, ts_recv_ns: int, venue: str) -> list[Record]:
    return list(parse_combined_frame(raw, ts_recv_ns, venue=venue, market="perp"))


class BinanceCoinmCollector(NativeCollector):
    def _history_source(self) -> CoinmHistory:
        return CoinmHistory()

    def _watcher(self, name: str, access: AccountAccess) -> CoinmAccount:
        return CoinmAccount(
            **self._watcher_args(name), futures_ws=self.ws, keepalive_s=self.cfg.listen_key_keepalive_s
        )

    def _topics(self, symbols: Sequence[str], spot_symbols: Sequence[str]) -> dict[str, list[Topic]]:
        return {"market": [(f"{s.lower()}@markPrice@1s", (f"mark:{s}",)) for s in symbols]}

    def _feed(self, kind: str, index: int, topics: Sequence[Topic]) -> WsFeed:
        url = f"{self.ws.rstrip('/')}/stream"
        return self._socket(kind, index, topics, url=url, parse=partial(_marks_only, venue=self.venue))

    async def _seed_marks(self, ex: Any) -> None:
        premium = await self.rest.call(ex, ex.dapiPublicGetPremiumIndex)
        wanted = set(self.cfg.symbols)
        for rec in parse_premium_index(premium, self.venue, self.clock.now_ns()):
            if rec.symbol in wanted:
                self.sink.put(rec)

    async def _reference(self, ex: Any) -> None:
        info = await self.rest.call(ex, ex.dapiPublicGetFundingInfo)
        now = self.clock.now_ns()
        for fi in parse_funding_info(info, self.held.watched, self.venue, now):
            self.sink.put(fi)
        listing = await self.rest.call(ex, ex.dapiPublicGetExchangeInfo)
        for inst in parse_exchange_info(listing, self.held.watched, self.venue, "perp", now):
            self.sink.put(inst)
