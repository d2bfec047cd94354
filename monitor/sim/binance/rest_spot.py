"""Spot REST endpoints (`/api/v3`) and the SAPI calls ccxt makes once keys are set.

`ticker/bookTicker` takes `symbol` (object), nothing (array) or `symbols=["A","B"]` (a JSON array,
URL-encoded; array), never both. SAPI currency and margin-pair lists answer `[]`, which ccxt
accepts, so `load_markets` works with keys and without `fetchCurrencies: False`.
"""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

from monitor.sim.binance.exchange_info import spot_exchange_info
from monitor.sim.binance.keyed import api_restrictions, host_routes, signed_reply
from monitor.sim.binance.venue import Venue
from monitor.sim.market import Quote
from monitor.sim.numfmt import f8
from monitor.sim.replies import VenueError, bad_symbol, json_reply

__all__ = ["spot_routes"]

_PERMISSIONS = (
    "ipRestrict",
    "enableReading",
    "enableWithdrawals",
    "enableInternalTransfer",
    "enableMargin",
    "enableFutures",
    "permitsUniversalTransfer",
    "enableVanillaOptions",
    "enableFixApiTrade",
    "enableFixReadOnly",
    "enableSpotAndMarginTrading",
    "enablePortfolioMarginTrading",
)


def _book(q: Quote) -> dict[str, Any]:
    return {
        "symbol": q.symbol,
        "bidPrice": f8(q.spot_bid),
        "bidQty": f8(q.spot_bid_qty),
        "askPrice": f8(q.spot_ask),
        "askQty": f8(q.spot_ask_qty),
    }


def _symbols_param(raw: str, known: dict[str, Quote]) -> list[str]:
    try:
        names = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise VenueError(400, -1100, "Illegal characters found in parameter 'symbols'.") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise VenueError(400, -1100, "Illegal characters found in parameter 'symbols'.")
    if any(n not in known for n in names):
        raise bad_symbol()
    return names


def spot_routes(v: Venue) -> list[web.RouteDef]:
    async def book_ticker(request: web.Request) -> web.Response:
        params = dict(request.query)
        quotes = v.market.quotes
        if "symbol" in params and "symbols" in params:
            raise VenueError(400, -1106, "Parameter 'symbols' sent when not required.")
        if "symbols" in params:
            return json_reply([_book(quotes[n]) for n in _symbols_param(params["symbols"], quotes)])
        symbol = v.symbol(params)
        if symbol is not None:
            return json_reply(_book(quotes[symbol]))
        return json_reply([_book(q) for q in quotes.values()])

    async def empty_list_signed(request: web.Request) -> web.Response:
        await v.signed(request)
        return json_reply([])

    async def empty_list_keyed(request: web.Request) -> web.Response:
        v.api_key_account(request)
        return json_reply([])

    def restrictions(name: str) -> dict[str, object]:
        acct = v.engine.accounts[name]
        return api_restrictions(_PERMISSIONS, acct.permissions, acct.created_ms)

    return [
        *host_routes(v, "/api/v3", spot_exchange_info, v.cfg.limits.weight_per_min_spot),
        web.get("/api/v3/ticker/bookTicker", book_ticker),
        web.get("/sapi/v1/capital/config/getall", empty_list_signed),
        web.get("/sapi/v1/margin/allPairs", empty_list_keyed),
        web.get("/sapi/v1/margin/isolated/allPairs", empty_list_signed),
        web.get("/sapi/v1/account/apiRestrictions", signed_reply(v, restrictions)),
    ]
