"""Public USDⓈ-M REST endpoints: time, exchangeInfo, mark/index/funding, funding history, books.

Shapes follow venues.md §1.2–1.5: `premiumIndex` is an object with `symbol` and an array without;
`fundingInfo` lists only symbols whose interval or cap differ from the default (8 h).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from monitor.sim.binance.exchange_info import futures_exchange_info
from monitor.sim.binance.keyed import host_routes
from monitor.sim.binance.open_interest import PERIODS_MS
from monitor.sim.binance.venue import Venue
from monitor.sim.market import Quote
from monitor.sim.numfmt import f8
from monitor.sim.replies import VenueError, json_reply, missing_param

__all__ = ["futures_public_routes"]


def _premium_index(q: Quote) -> dict[str, Any]:
    return {
        "symbol": q.symbol,
        "markPrice": f8(q.mark),
        "indexPrice": f8(q.index),
        "estimatedSettlePrice": f8(q.index),
        "lastFundingRate": f8(q.funding_rate),
        "interestRate": f8(q.interest_rate),
        "nextFundingTime": q.next_funding_ms,
        "time": q.time_ms,
    }


def _book_ticker(q: Quote) -> dict[str, Any]:
    return {
        "symbol": q.symbol,
        "bidPrice": f8(q.bid),
        "bidQty": f8(q.bid_qty),
        "askPrice": f8(q.ask),
        "askQty": f8(q.ask_qty),
        "time": q.time_ms,
        "lastUpdateId": q.update_id,
    }


def _ticker_24h(q: Quote) -> dict[str, Any]:
    change = q.mark - q.open
    return {
        "symbol": q.symbol,
        "priceChange": f8(change),
        "priceChangePercent": f"{100 * change / q.open:.3f}",
        "weightedAvgPrice": f8(q.quote_volume / q.volume if q.volume else q.mark),
        "lastPrice": f8(q.mark),
        "lastQty": "0.001",
        "openPrice": f8(q.open),
        "highPrice": f8(q.high),
        "lowPrice": f8(q.low),
        "volume": f8(q.volume),
        "quoteVolume": f8(q.quote_volume),
        "openTime": q.time_ms - 86_400_000,
        "closeTime": q.time_ms,
        "firstId": 1,
        "lastId": q.update_id,
        "count": q.update_id,
    }


def _int_param(params: dict[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise VenueError(
            400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."
        ) from None


def futures_public_routes(v: Venue) -> list[web.RouteDef]:
    def one_or_all(request: web.Request, build: Any) -> web.Response:
        symbol = v.symbol(dict(request.query))
        quotes = v.market.quotes
        if symbol is not None:
            return json_reply(build(quotes[symbol]))
        return json_reply([build(q) for q in quotes.values()])

    async def premium_index(request: web.Request) -> web.Response:
        return one_or_all(request, _premium_index)

    async def book_ticker(request: web.Request) -> web.Response:
        return one_or_all(request, _book_ticker)

    async def ticker_24h(request: web.Request) -> web.Response:
        return one_or_all(request, _ticker_24h)

    async def funding_info(_r: web.Request) -> web.Response:
        return json_reply(
            [
                {
                    "symbol": s.symbol,
                    "adjustedFundingRateCap": f8(s.funding_cap),
                    "adjustedFundingRateFloor": f8(-s.funding_cap),
                    "fundingIntervalHours": s.funding_hours,
                    "disclaimer": False,
                }
                for s in v.market.specs.values()
                if s.adjusted
            ]
        )

    async def funding_rate(request: web.Request) -> web.Response:
        params = dict(request.query)
        symbol = v.symbol(params)
        limit = min(max(_int_param(params, "limit") or 100, 1), 1000)
        rows = v.funding.query(symbol, _int_param(params, "startTime"), _int_param(params, "endTime"), limit)
        return json_reply(
            [
                {
                    "symbol": r.symbol,
                    "fundingRate": f8(r.rate),
                    "fundingTime": r.time_ms,
                    "markPrice": f8(r.mark) if r.mark is not None else "",
                }
                for r in rows
            ]
        )

    async def open_interest(request: web.Request) -> web.Response:
        symbol = v.symbol(dict(request.query), required=True)
        p = v.open_interest.current(symbol or "", v.market.quotes[symbol or ""].mark, v.now_ms())
        return json_reply({"openInterest": f"{p.contracts:.3f}", "symbol": p.symbol, "time": p.time_ms})

    async def open_interest_hist(request: web.Request) -> web.Response:
        params = dict(request.query)
        symbol = v.symbol(params, required=True) or ""
        period = PERIODS_MS.get(params.get("period", ""))
        if period is None:
            raise missing_param("period")
        limit = min(max(_int_param(params, "limit") or 30, 1), 500)
        rows = v.open_interest.history(
            symbol, period, _int_param(params, "startTime"), _int_param(params, "endTime"), limit
        )
        return json_reply(
            [
                {
                    "symbol": p.symbol,
                    "sumOpenInterest": f8(p.contracts),
                    "sumOpenInterestValue": f8(p.value),
                    "timestamp": p.time_ms,
                }
                for p in rows
            ]
        )

    return [
        *host_routes(v, "/fapi/v1", futures_exchange_info, v.cfg.limits.weight_per_min_futures),
        web.get("/fapi/v1/premiumIndex", premium_index),
        web.get("/fapi/v1/ticker/bookTicker", book_ticker),
        web.get("/fapi/v1/ticker/24hr", ticker_24h),
        web.get("/fapi/v1/fundingInfo", funding_info),
        web.get("/fapi/v1/fundingRate", funding_rate),
        web.get("/fapi/v1/openInterest", open_interest),
        web.get("/futures/data/openInterestHist", open_interest_hist),
    ]
