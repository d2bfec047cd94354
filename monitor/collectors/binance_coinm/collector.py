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
from monitor.collectors.binance.collector import seed_premium_marks
from monitor.collectors.binance.history import BinanceHistory
from monitor.collectors.binance.wire import (
    parse_combined_frame,
    parse_exchange_info,
    parse_funding_info,
)
from monitor.collectors.binance_coinm.account import CoinmAccount
from monitor.collectors.held import Topic
from monitor.collectors.native import NativeCollector
from monitor.collectors.wsfeed import WsFeed
from monitor.records import Record

__all__ = ["BinanceCoinmCollector", "CoinmHistory"]


class CoinmHistory(BinanceHistory):
    """Mark candles `GET /dapi/v1/markPriceKlines`, settled funding `GET /dapi/v1/fundingRate`."""

    mark_klines_call = "dapiPublicGetMarkPriceKlines"
    funding_call = "dapiPublicGetFundingRate"


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
        await seed_premium_marks(self, ex, ex.dapiPublicGetPremiumIndex)

    async def _reference(self, ex: Any) -> None:
        info = await self.rest.call(ex, ex.dapiPublicGetFundingInfo)
        now = self.clock.now_ns()
        for fi in parse_funding_info(info, self.held.watched, self.venue, now):
            self.sink.put(fi)
        listing = await self.rest.call(ex, ex.dapiPublicGetExchangeInfo)
        for inst in parse_exchange_info(listing, self.held.watched, self.venue, "perp", now):
            self.sink.put(inst)
