"""Hyperliquid's settled funding for the backfill: `POST /info {"type":"fundingHistory"}`.

Rows `{"coin","fundingRate","premium","time"}` (hourly, oldest first, at most 500 a reply [doc]).
No candles: `candleSnapshot` gives trade candles, not the mark candles the grid holds, so the
interval table is empty and the backfill fills funding only (it logs the unsupported step).
"""

from __future__ import annotations

from typing import Any, ClassVar

from monitor.collectors.backfill import CandleIntervals, Series
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.fields import finite_or
from monitor.errors import ParseError

__all__ = ["HlHistory"]

_HOUR_MS = 3_600_000


class HlHistory(CandleIntervals):
    intervals: ClassVar[dict[int, str]] = {}
    funding_page = 500
    funding_limit: tuple[int, float] | None = None  # within the 1,200-weight per minute the pacer keeps

    def __init__(self) -> None:
        self.page_size: dict[Series, int] = {"mark": 500, "spot": 500}

    def weight(self, series: Series, limit: int) -> int:
        return 20 + limit // 20  # info weight 20, plus 1 per 20 items of history [doc]

    async def candles(
        self, rest: RestCaller, ex: Any, series: Series, symbol: str, interval: str, end_ms: int, limit: int
    ) -> list[Any]:
        return []

    def parse_candle(self, row: Any) -> tuple[int, float]:
        raise ParseError("bad_kline", "no candles on hyperliquid")

    async def funding(self, rest: RestCaller, ex: Any, symbol: str, limit: int) -> list[Any]:
        start = ex.milliseconds() - limit * _HOUR_MS
        reply = await rest.call(
            ex, ex.publicPostInfo, {"type": "fundingHistory", "coin": symbol, "startTime": start}
        )
        if not isinstance(reply, list):
            raise ParseError("funding_page_malformed", repr(reply)[:60])
        return reply

    def parse_funding(self, row: Any) -> tuple[int, float]:
        if not isinstance(row, dict) or not isinstance(row.get("time"), int):
            raise ParseError("bad_funding_history", repr(row)[:60])
        rate = finite_or("bad_funding_history", row.get("fundingRate"))
        if abs(rate) > 0.04:  # the hourly cap [doc]
            raise ParseError("bad_funding_history", repr(row)[:60])
        return int(row["time"]), rate
