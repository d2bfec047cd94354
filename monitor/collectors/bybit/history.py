"""Bybit v5's candle and funding-history calls, and their rows parsed once (the backfill's source).

Mark candles `GET /v5/market/mark-price-kline` (category linear), spot `GET /v5/market/kline`
(category spot), both at most 1,000 a page, newest first, rows [start, open, high, low, close, …]
with every field a string; settled funding `GET /v5/market/funding/history` (200 a page, rows
{symbol, fundingRate, fundingRateTimestamp}). Public market calls count one request each.
"""

from __future__ import annotations

from typing import Any

from monitor.collectors.backfill import CandleIntervals, Series
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.fields import finite_or
from monitor.errors import ParseError

__all__ = ["BybitHistory"]

_INTERVALS = {60: "1", 180: "3", 300: "5", 900: "15", 1800: "30", 3600: "60", 7200: "120",
              14400: "240", 21600: "360", 43200: "720", 86400: "D"}  # fmt: skip


def _listing(reply: Any, reason: str) -> list[Any]:
    result = reply.get("result") if isinstance(reply, dict) else None
    rows = result.get("list") if isinstance(result, dict) else None
    if not isinstance(rows, list):
        raise ParseError(reason)
    return rows


def _int(raw: Any, reason: str) -> int:
    if not isinstance(raw, str) or not raw.isdigit():
        raise ParseError(reason, repr(raw)[:40])
    return int(raw)


class BybitHistory(CandleIntervals):
    intervals = _INTERVALS

    def __init__(self) -> None:
        self.page_size: dict[Series, int] = {"mark": 1_000, "spot": 1_000}

    funding_page = 200
    funding_limit: tuple[int, float] | None = (
        None  # Bybit counts funding history within its per-IP request limit (the weight pacer)
    )

    def weight(self, series: Series, limit: int) -> int:
        return 1

    async def candles(
        self, rest: RestCaller, ex: Any, series: Series, symbol: str, interval: str, end_ms: int, limit: int
    ) -> list[Any]:
        category = "linear" if series == "mark" else "spot"
        params = {"category": category, "symbol": symbol, "interval": interval, "end": end_ms, "limit": limit}
        fn = ex.publicGetV5MarketMarkPriceKline if series == "mark" else ex.publicGetV5MarketKline
        return _listing(await rest.call(ex, fn, params), "kline_page_malformed")

    def parse_candle(self, row: Any) -> tuple[int, float]:
        if not isinstance(row, list) or len(row) < 5:
            raise ParseError("bad_kline", repr(row)[:60])
        close = finite_or("bad_kline", row[4])
        if close <= 0:
            raise ParseError("bad_kline", repr(row)[:60])
        return _int(row[0], "bad_kline"), close

    async def funding(self, rest: RestCaller, ex: Any, symbol: str, limit: int) -> list[Any]:
        params = {"category": "linear", "symbol": symbol, "limit": limit}
        return _listing(
            await rest.call(ex, ex.publicGetV5MarketFundingHistory, params), "funding_page_malformed"
        )

    def parse_funding(self, row: Any) -> tuple[int, float]:
        if not isinstance(row, dict):
            raise ParseError("bad_funding_history", repr(row)[:60])
        rate = finite_or("bad_funding_history", row.get("fundingRate"))
        if abs(rate) > 0.1:
            raise ParseError("bad_funding_history", repr(row)[:60])
        return _int(row.get("fundingRateTimestamp"), "bad_funding_history"), rate
