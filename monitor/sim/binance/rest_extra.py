"""REST calls beyond the monitor's own needs that ccxt users make: order book, spot 24 h ticker, cancels.

`GET /fapi/v1/depth` (ccxt `fetch_order_book`), `GET /api/v3/ticker/24hr` (spot `fetch_ticker`) and
`DELETE /fapi/v1/batchOrders` (`cancel_orders`, the one call in ccxt's recorded request log for
binanceusdm). The simulated accounts never have open orders, so a cancel answers per id what the
venue answers for an order it does not know: `{"code":-2011,"msg":"Unknown order sent."}`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from monitor.sim.binance.depth import DEPTH_LIMITS, rest_depth
from monitor.sim.binance.venue import Venue
from monitor.sim.market import Quote
from monitor.sim.numfmt import f8
from monitor.sim.replies import VenueError, json_reply, missing_param

__all__ = ["futures_extra_routes", "spot_extra_routes"]

_UNKNOWN_ORDER = {"code": -2011, "msg": "Unknown order sent."}


def _spot_ticker(q: Quote) -> dict[str, Any]:
    """24 h statistics of the spot pair: the perp's window moved onto spot by the current basis."""
    scale = q.index / q.mark
    open_, last = q.open * scale, q.index
    change = last - open_
    return {
        "symbol": q.symbol,
        "priceChange": f8(change),
        "priceChangePercent": f"{100 * change / open_:.3f}",
        "weightedAvgPrice": f8(q.quote_volume / q.volume * scale if q.volume else last),
        "prevClosePrice": f8(open_),
        "lastPrice": f8(last),
        "lastQty": "0.00100000",
        "bidPrice": f8(q.spot_bid),
        "bidQty": f8(q.spot_bid_qty),
        "askPrice": f8(q.spot_ask),
        "askQty": f8(q.spot_ask_qty),
        "openPrice": f8(open_),
        "highPrice": f8(max(q.high * scale, last)),
        "lowPrice": f8(min(q.low * scale, last)),
        "volume": f8(q.volume),
        "quoteVolume": f8(q.quote_volume * scale),
        "openTime": q.time_ms - 86_400_000,
        "closeTime": q.time_ms,
        "firstId": 1,
        "lastId": q.update_id,
        "count": q.update_id,
    }


def _id_list(params: dict[str, str]) -> list[Any] | None:
    """`orderIdList` / `origClientOrderIdList` (ccxt sends the latter lower-cased): a JSON array."""
    lowered = {k.lower(): v for k, v in params.items()}
    raw = lowered.get("origclientorderidlist") or lowered.get("orderidlist")
    if raw is None:
        return None
    try:
        ids = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise VenueError(400, -1100, "Illegal characters found in a parameter.") from None
    if not isinstance(ids, list) or not ids or len(ids) > 10:
        raise VenueError(400, -1100, "Illegal characters found in a parameter.")
    return ids


def futures_extra_routes(v: Venue) -> list[web.RouteDef]:
    async def depth(request: web.Request) -> web.Response:
        params = dict(request.query)
        symbol = v.symbol(params, required=True) or ""
        raw = params.get("limit", "500")
        if not raw.isdigit() or int(raw) not in DEPTH_LIMITS:
            raise VenueError(
                400, -1100, f"Illegal characters found in parameter 'limit'; legal values {DEPTH_LIMITS}."
            )
        return json_reply(rest_depth(v.market.quotes[symbol], v.market.specs[symbol], int(raw)))

    async def cancel_batch(request: web.Request) -> web.Response:
        req = await v.signed(request)
        v.symbol(req.params, required=True)
        ids = _id_list(req.params)
        if ids is None:
            raise missing_param("orderIdList")
        return json_reply([_UNKNOWN_ORDER for _ in ids])

    return [
        web.get("/fapi/v1/depth", depth),
        web.delete("/fapi/v1/batchOrders", cancel_batch),
    ]


def spot_extra_routes(v: Venue) -> list[web.RouteDef]:
    async def ticker_24h(request: web.Request) -> web.Response:
        symbol = v.symbol(dict(request.query))
        quotes = v.market.quotes
        if symbol is not None:
            return json_reply(_spot_ticker(quotes[symbol]))
        return json_reply([_spot_ticker(q) for q in quotes.values()])

    return [web.get("/api/v3/ticker/24hr", ticker_24h)]
