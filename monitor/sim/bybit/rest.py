"""Bybit v5 REST endpoints: the public market calls and the signed account reads ccxt makes.

Public: `/v5/market/{time,instruments-info,tickers,funding/history,risk-limit,orderbook,open-interest}`
(the book deeper than its top and the open interest are synthetic, as on the Binance side). Signed:
`/v5/position/list`, `/v5/account/{wallet-balance,info}`, `/v5/user/query-api` (ccxt reads `uta` from
it to choose unified-account paths) and `/v5/asset/coin/query-info` (ccxt's `load_markets` with
keys). Only linear and spot are listed; inverse and option categories answer with empty lists, as
for a venue with nothing in them, so an unmodified `load_markets` completes. Parameter errors are
retCode 10001 with the venue's wording where known.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from aiohttp import web

from monitor.sim.book import PositionSide
from monitor.sim.bybit import account_payloads as acct_pay
from monitor.sim.bybit import payloads as pay
from monitor.sim.bybit.auth import BybitError
from monitor.sim.bybit.symbols import BybitSpec

if TYPE_CHECKING:
    from monitor.sim.bybit.venue import BybitVenue

__all__ = ["bybit_routes"]

_CATEGORIES = ("linear", "spot", "inverse", "option")
_COINS = ["USDT", "BTC", "ETH", "SOL"]
_OI_INTERVALS = {
    "5min": 300_000,
    "15min": 900_000,
    "30min": 1_800_000,
    "1h": 3_600_000,
    "4h": 14_400_000,
    "1d": 86_400_000,
}
_BOOK_LIMITS = {"linear": (500, 25), "spot": (200, 1)}  # (max, default) levels


def _category(params: Mapping[str, str], allowed: tuple[str, ...] = _CATEGORIES) -> str:
    category = params.get("category", "")
    if category not in allowed:
        raise BybitError(10001, f"params error: Category is invalid: {category!r}")
    return category


def _int(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    if raw in (None, ""):
        return None
    if not raw.lstrip("-").isdigit():
        raise BybitError(10001, f"params error: {name} invalid")
    return int(raw)


def _limit(params: Mapping[str, str], most: int, default: int) -> int:
    """`limit` in [1, most] (else the venue's 10001), `default` when not given."""
    limit = _int(params, "limit") or default
    if not 1 <= limit <= most:
        raise BybitError(10001, f"params error: limit must be in [1, {most}]")
    return limit


def bybit_routes(v: BybitVenue) -> list[web.RouteDef]:
    def specs(params: Mapping[str, str]) -> list[BybitSpec]:
        symbol = params.get("symbol")
        if symbol:
            spec = v.market.specs.get(symbol)
            if spec is None:
                raise BybitError(10001, "params error: symbol invalid")
            return [spec]
        base = params.get("baseCoin")
        return [s for s in v.market.specs.values() if base in (None, "", s.base)]

    def one(params: Mapping[str, str]) -> BybitSpec:
        """The one symbol a call requires (10001 without it)."""
        if not params.get("symbol"):
            raise BybitError(10001, "params error: symbol is required")
        (spec,) = specs(params)
        return spec

    async def time(_request: web.Request) -> web.Response:
        now_ns = v.clock.now_ns()
        return v.reply({"timeSecond": str(now_ns // 1_000_000_000), "timeNano": str(now_ns)})

    async def instruments(request: web.Request) -> web.Response:
        params = request.query
        category = _category(params)
        rows = specs(params) if category in ("linear", "spot") else []
        if params.get("status", "Trading") != "Trading":
            rows = []
        if category == "spot":
            listing = [pay.spot_instrument(s, i + 1) for i, s in enumerate(rows)]
            return v.reply({"category": "spot", "list": listing})
        listing = [pay.linear_instrument(s) for s in rows] if category == "linear" else []
        return v.reply({"category": category, "list": listing, "nextPageCursor": ""})

    async def tickers(request: web.Request) -> web.Response:
        params = request.query
        category = _category(params)
        if params.get("symbol") and params["symbol"] not in v.market.specs:
            raise BybitError(10001, "Not supported symbols")
        rows = specs(params) if category in ("linear", "spot") else []
        quotes = v.market.quotes
        if category == "spot":
            listing = [pay.spot_ticker(quotes[s.symbol], s) for s in rows]
        else:
            listing = [pay.linear_ticker(quotes[s.symbol], s) for s in rows]
        return v.reply({"category": category, "list": listing})

    async def funding_history(request: web.Request) -> web.Response:
        params = request.query
        category = _category(params, ("linear", "inverse"))
        symbol = params.get("symbol")
        if not symbol:
            raise BybitError(10001, "params error: symbol is required")
        specs(params)
        start, end = _int(params, "startTime"), _int(params, "endTime")
        if start is not None and end is None:
            raise BybitError(10001, "params error: only startTime is passed, endTime is required")
        limit = _limit(params, 200, 200)
        rows = v.funding.query(symbol, start, end, 10**9)[-limit:]
        return v.reply({"category": category, "list": pay.funding_history(rows)})

    async def orderbook(request: web.Request) -> web.Response:
        params = request.query
        category = _category(params, ("linear", "spot"))
        spec = one(params)
        most, default = _BOOK_LIMITS[category]
        limit = _limit(params, most, default)
        q = v.market.quotes[spec.symbol]
        return v.reply(pay.orderbook(q, spec, limit, category == "spot", v.hub.next_update_id()))

    async def open_interest(request: web.Request) -> web.Response:
        params = request.query
        category = _category(params, ("linear", "inverse"))
        spec = one(params)
        step = _OI_INTERVALS.get(params.get("intervalTime", ""))
        if step is None:
            raise BybitError(10001, "params error: intervalTime invalid")
        start, end = _int(params, "startTime"), _int(params, "endTime")
        limit = _limit(params, 200, 50)
        points = [
            (t, oi)
            for t, oi in v.open_interest[spec.symbol]
            if t % step == 0 and (start is None or t >= start) and (end is None or t <= end)
        ][-limit:]
        rows = pay.open_interest_rows(points, spec)
        return v.reply({"symbol": spec.symbol, "category": category, "list": rows, "nextPageCursor": ""})

    async def risk_limit(request: web.Request) -> web.Response:
        params = request.query
        category = _category(params, ("linear", "inverse"))
        rows = [r for s in specs(params) for r in pay.risk_limit_rows(s)] if category == "linear" else []
        return v.reply({"category": category, "list": rows, "nextPageCursor": ""})

    async def position_list(request: web.Request) -> web.Response:
        account, params = await v.private(request)
        category = _category(params, ("linear", "inverse", "option"))
        symbol, settle = params.get("symbol"), params.get("settleCoin")
        if category == "linear" and not (symbol or settle or params.get("baseCoin")):
            raise BybitError(10001, "Missing some parameters that must be filled in, symbol or settleCoin")
        selected = {s.symbol for s in specs(params)} if category == "linear" else set()
        if settle not in (None, "", "USDT"):
            selected = set()
        views = [p for p in v.engine.positions(account) if p.symbol in selected]
        if symbol and selected:  # asked by name, a symbol is listed even when flat (both legs in hedge mode)
            sides: tuple[PositionSide, ...] = (
                ("LONG", "SHORT") if v.engine.accounts[account].dual_side else ("BOTH",)
            )
            held = {p.position_idx for p in views}
            views += [f for s in sides if (f := v.engine.flat(account, symbol, s)).position_idx not in held]
            views.sort(key=lambda p: p.position_idx)
        rows = [acct_pay.position_row(p, v.market.specs[p.symbol]) for p in views]
        return v.reply({"list": rows, "nextPageCursor": "", "category": category})

    async def wallet_balance(request: web.Request) -> web.Response:
        account, params = await v.private(request)
        if params.get("accountType") != "UNIFIED":
            raise BybitError(10001, "accountType only support UNIFIED.")
        return v.reply({"list": [acct_pay.wallet_row(v.engine.wallet(account))]})

    async def account_info(request: web.Request) -> web.Response:
        account, _params = await v.private(request)
        created = v.engine.accounts[account].created_ms
        return v.reply(acct_pay.account_info(v.engine.wallet(account), created))

    async def query_api(request: web.Request) -> web.Response:
        account, _params = await v.private(request)
        perms = v.engine.accounts[account].permissions
        read_only = not ({"enableFutures", "enableSpotAndMarginTrading"} & set(perms))
        names = sorted(v.engine.accounts)
        key = request.headers.get("X-BAPI-API-KEY", "")
        return v.reply(acct_pay.query_api(key, names.index(account) + 1, read_only))

    async def coin_info(request: web.Request) -> web.Response:
        await v.private(request)
        return v.reply(acct_pay.coin_info(_COINS))

    return [
        web.get("/v5/market/time", time),
        web.get("/v5/market/instruments-info", instruments),
        web.get("/v5/market/tickers", tickers),
        web.get("/v5/market/funding/history", funding_history),
        web.get("/v5/market/risk-limit", risk_limit),
        web.get("/v5/market/orderbook", orderbook),
        web.get("/v5/market/open-interest", open_interest),
        web.get("/v5/position/list", position_list),
        web.get("/v5/account/wallet-balance", wallet_balance),
        web.get("/v5/account/info", account_info),
        web.get("/v5/user/query-api", query_api),
        web.get("/v5/asset/coin/query-info", coin_info),
    ]
