"""Candle endpoints of the simulated venues, in each venue's own shapes.

Binance USDⓈ-M: `/fapi/v1/markPriceKlines` (12-column rows whose volume columns are "0"),
`/fapi/v1/klines` (the perp's last trade is its mark here); spot `/api/v3/klines`. Rows are arrays
of [open time, open, high, low, close, volume, close time, quote volume, trades, taker base, taker
quote, "0"], oldest first; `limit` defaults to 500 and caps at 1,500 (futures) or 1,000 (spot).
Bybit v5: `/v5/market/mark-price-kline` ([start, o, h, l, c]) and `/v5/market/kline` (+ volume,
turnover), newest first, `limit` 1–1,000 (default 200), `interval` in minutes or D.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from monitor.sim.bybit.auth import BybitError
from monitor.sim.klines import INTERVALS_MS, Candle, KlineBook
from monitor.sim.numfmt import f8
from monitor.sim.replies import VenueError, bad_symbol, json_reply, missing_param

__all__ = ["binance_kline_routes", "bybit_kline_routes"]

_BYBIT_INTERVALS = {
    "1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h",
    "120": "2h", "240": "4h", "360": "6h", "720": "12h", "D": "1d",
}  # fmt: skip


def _int(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    if not raw.isdigit():
        raise VenueError(
            400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."
        )
    return int(raw)


def _binance_row(c: Candle, interval_ms: int, mark: bool) -> list[Any]:
    vol = "0" if mark else f8(c.volume)
    quote = "0" if mark else f8(c.volume * c.close)
    half = "0" if mark else f8(c.volume / 2)
    half_quote = "0" if mark else f8(c.volume * c.close / 2)
    return [c.open_ms, f8(c.open), f8(c.high), f8(c.low), f8(c.close), vol,
            c.open_ms + interval_ms - 1, quote, 0 if mark else 1, half, half_quote, "0"]  # fmt: skip


def binance_kline_routes(book: KlineBook, now_ms: Callable[[], int], *, spot: bool) -> list[web.RouteDef]:
    most = 1_000 if spot else 1_500

    def handler(kind: str, mark: bool) -> Any:
        async def klines(request: web.Request) -> web.Response:
            params = request.query
            symbol = params.get("symbol")
            if not symbol:
                raise missing_param("symbol")
            if symbol not in book.scale:
                raise bad_symbol()
            interval = params.get("interval")
            if not interval:
                raise missing_param("interval")
            step = INTERVALS_MS.get(interval)
            if step is None:
                raise VenueError(400, -1120, "Invalid interval.")
            limit = min(max(_int(params, "limit") or 500, 1), most)
            rows = book.query(
                kind, symbol, step, _int(params, "startTime"), _int(params, "endTime"), limit, now_ms()
            )
            return json_reply([_binance_row(c, step, mark) for c in rows])

        return klines

    if spot:
        return [web.get("/api/v3/klines", handler("spot", False))]
    return [
        web.get("/fapi/v1/markPriceKlines", handler("mark", True)),
        web.get("/fapi/v1/klines", handler("mark", False)),
    ]


def bybit_kline_routes(
    books: Mapping[str, KlineBook], now_ms: Callable[[], int], reply: Callable[[object], web.Response]
) -> list[web.RouteDef]:
    """`books` by category ("linear", "spot"); the linear book's "spot" kind is unused."""

    def handler(mark: bool) -> Any:
        async def kline(request: web.Request) -> web.Response:
            params = request.query
            category = params.get("category", "linear")
            allowed = ("linear",) if mark else ("linear", "spot")
            if category not in allowed:
                raise BybitError(10001, f"params error: Category is invalid: {category!r}")
            symbol = params.get("symbol")
            book = books[category]
            if not symbol or symbol not in book.scale:
                raise BybitError(10001, "params error: symbol invalid")
            step = INTERVALS_MS.get(_BYBIT_INTERVALS.get(params.get("interval", ""), ""))
            if step is None:
                raise BybitError(10001, "params error: interval invalid")
            try:
                start, end = (int(params[k]) if params.get(k) else None for k in ("start", "end"))
                limit = int(params.get("limit") or 200)
            except ValueError:
                raise BybitError(10001, "params error: invalid number") from None
            if not 1 <= limit <= 1_000:
                raise BybitError(10001, "params error: limit must be in [1, 1000]")
            kind = "spot" if category == "spot" else "mark"
            if start is not None and end is None:
                rows = book.query(kind, symbol, step, start, None, limit, now_ms())
            else:
                rows = book.query(kind, symbol, step, None, end, limit, now_ms())
                rows = [c for c in rows if start is None or c.open_ms >= start]
            listing = [
                [str(c.open_ms), f8(c.open), f8(c.high), f8(c.low), f8(c.close)]
                + ([] if mark else [f8(c.volume), f8(c.volume * c.close)])
                for c in reversed(rows)
            ]
            return reply({"category": category, "symbol": symbol, "list": listing})

        return kline

    return [
        web.get("/v5/market/mark-price-kline", handler(True)),
        web.get("/v5/market/kline", handler(False)),
    ]
