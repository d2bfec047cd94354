"""Binance's candle and funding-history calls, and their rows parsed once (the backfill's source).

Mark candles `GET /fapi/v1/markPriceKlines` (max 1,500 a page), spot `GET /api/v3/klines` (1,000),
settled funding `GET /fapi/v1/fundingRate` (1,000). Rows are [open time, open, high, low, close, ...];
funding rows {symbol, fundingRate, fundingTime, markPrice}. Request weights are the venue's: klines
1/2/5/10 by limit (<100, <500, ≤1000, more), spot klines 2.
"""

from __future__ import annotations

import math
from typing import Any

from monitor.collectors.backfill import CandleIntervals, Series
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.fields import finite_or
from monitor.errors import ParseError

__all__ = ["BinanceHistory"]

_INTERVALS = {60: "1m", 180: "3m", 300: "5m", 900: "15m", 1800: "30m", 3600: "1h", 7200: "2h",
              14400: "4h", 21600: "6h", 28800: "8h", 43200: "12h", 86400: "1d"}  # fmt: skip


class BinanceHistory(CandleIntervals):
    """USDⓈ-M's calls; COIN-M (`binance_coinm.collector.CoinmHistory`) names its `/dapi` twins."""

    intervals = _INTERVALS
    mark_klines_call = "fapiPublicGetMarkPriceKlines"  # ccxt's implicit method for the mark series
    funding_call = "fapiPublicGetFundingRate"

    def __init__(self) -> None:
        self.page_size: dict[Series, int] = {"mark": 1_500, "spot": 1_000}

    funding_page = 1_000
    # GET /fapi/v1/fundingRate shares 500 calls / 5 min / IP with fundingInfo, apart from the weight
    funding_limit: tuple[int, float] | None = (500, 300.0)

    def weight(self, series: Series, limit: int) -> int:
        if series == "spot":
            return 2
        return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10

    async def candles(
        self, rest: RestCaller, ex: Any, series: Series, symbol: str, interval: str, end_ms: int, limit: int
    ) -> list[Any]:
        params = {"symbol": symbol, "interval": interval, "endTime": end_ms, "limit": limit}
        fn = getattr(ex, self.mark_klines_call) if series == "mark" else ex.publicGetKlines
        rows = await rest.call(ex, fn, params)
        if not isinstance(rows, list):
            raise ParseError("kline_page_not_a_list")
        return rows

    def parse_candle(self, row: Any) -> tuple[int, float]:
        if not isinstance(row, list) or len(row) < 5 or not isinstance(row[0], int) or row[0] < 0:
            raise ParseError("bad_kline", repr(row)[:60])
        return row[0], finite_or("bad_kline", row[4], positive=True)

    async def funding(self, rest: RestCaller, ex: Any, symbol: str, limit: int) -> list[Any]:
        rows = await rest.call(ex, getattr(ex, self.funding_call), {"symbol": symbol, "limit": limit})
        if not isinstance(rows, list):
            raise ParseError("funding_history_not_a_list")
        return rows

    def parse_funding(self, row: Any) -> tuple[int, float]:
        if not isinstance(row, dict) or not isinstance(row.get("fundingTime"), int):
            raise ParseError("bad_funding_history", repr(row)[:60])
        try:
            rate = float(row.get("fundingRate"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ParseError("bad_funding_history", repr(row)[:60]) from None
        if not math.isfinite(rate) or abs(rate) > 0.1:
            raise ParseError("bad_funding_history", repr(row)[:60])
        return int(row["fundingTime"]), rate
