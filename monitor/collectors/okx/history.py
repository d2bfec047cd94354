"""OKX v5's candle and funding-history calls, their rows parsed once (the backfill's source).

Mark candles `GET /api/v5/market/history-mark-price-candles`, spot `GET /api/v5/market/history-candles`
(100 a page, newest first, rows `[ts, o, h, l, c, confirm]`, strings; `after` pages back from a time);
settled funding `GET /api/v5/public/funding-rate-history` (100 a page, rows {fundingTime,
fundingRate, realizedRate}).
"""

from __future__ import annotations

from typing import Any

from monitor.collectors.backfill import CandleIntervals, Series
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.fields import finite_or
from monitor.collectors.okx.wire import okx_inst_id
from monitor.errors import ParseError

__all__ = ["OkxHistory"]

_INTERVALS = {60: "1m", 180: "3m", 300: "5m", 900: "15m", 1800: "30m", 3600: "1H", 7200: "2H",
              14400: "4H", 21600: "6H", 43200: "12H", 86400: "1Dutc"}  # fmt: skip


def _rows(reply: Any, reason: str) -> list[Any]:
    rows = reply.get("data") if isinstance(reply, dict) and reply.get("code") == "0" else None
    if not isinstance(rows, list):
        raise ParseError(reason)
    return rows


def _ms(raw: Any, reason: str) -> int:
    if not isinstance(raw, str) or not raw.isdigit():
        raise ParseError(reason, repr(raw)[:40])
    return int(raw)


class OkxHistory(CandleIntervals):
    intervals = _INTERVALS

    def __init__(self) -> None:
        self.page_size: dict[Series, int] = {"mark": 100, "spot": 100}

    funding_page = 100
    # GET /api/v5/public/funding-rate-history: 10 requests per 2 s per IP (OKX v5 docs)
    funding_limit: tuple[int, float] | None = (10, 2.0)

    def weight(self, series: Series, limit: int) -> int:
        return 1

    async def candles(
        self, rest: RestCaller, ex: Any, series: Series, symbol: str, interval: str, end_ms: int, limit: int
    ) -> list[Any]:
        inst = okx_inst_id(symbol) if series == "mark" else f"{symbol.removesuffix('USDT')}-USDT"
        params = {"instId": inst, "bar": interval, "after": end_ms + 1, "limit": limit}
        fn = (
            ex.publicGetMarketHistoryMarkPriceCandles
            if series == "mark"
            else ex.publicGetMarketHistoryCandles
        )
        return _rows(await rest.call(ex, fn, params), "kline_page_malformed")

    def parse_candle(self, row: Any) -> tuple[int, float]:
        if not isinstance(row, list) or len(row) < 5:
            raise ParseError("bad_kline", repr(row)[:60])
        close = finite_or("bad_kline", row[4])
        if close <= 0:
            raise ParseError("bad_kline", repr(row)[:60])
        return _ms(row[0], "bad_kline"), close

    async def funding(self, rest: RestCaller, ex: Any, symbol: str, limit: int) -> list[Any]:
        params = {"instId": okx_inst_id(symbol), "limit": limit}
        return _rows(
            await rest.call(ex, ex.publicGetPublicFundingRateHistory, params), "funding_page_malformed"
        )

    def parse_funding(self, row: Any) -> tuple[int, float]:
        if not isinstance(row, dict):
            raise ParseError("bad_funding_history", repr(row)[:60])
        rate = finite_or("bad_funding_history", row.get("realizedRate") or row.get("fundingRate"))
        if abs(rate) > 0.1:
            raise ParseError("bad_funding_history", repr(row)[:60])
        return _ms(row.get("fundingTime"), "bad_funding_history"), rate
