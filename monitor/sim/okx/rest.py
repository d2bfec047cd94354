"""OKX v5 REST routes: the public market data and the signed account reads perpmon and ccxt make.

Public: `/api/v5/public/{time,instruments,mark-price,funding-rate,funding-rate-history,
position-tiers}`, `/api/v5/market/{ticker,tickers}`. Signed (`auth.verify_rest`):
`/api/v5/account/{positions,balance,config,trade-fee}`, `/api/v5/asset/currencies` (ccxt's
`load_markets` asks it whenever keys are set). Envelope `{"code":"0","msg":"","data":[…]}`; a bad
request is `{"code":"51001"|"50014",…}` with HTTP 400 (ccxt maps the code: BadSymbol, BadRequest).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from monitor.sim.okx import payloads as pay
from monitor.sim.okx.auth import OkxAuthError
from monitor.sim.okx.symbols import OkxSpec, by_inst_id

if TYPE_CHECKING:
    from monitor.sim.okx.venue import OkxVenue

__all__ = ["okx_routes"]

_P = "/api/v5"
ACCOUNT = web.RequestKey("okx_account", str)  # the signed request's account


def _inst(v: OkxVenue, q: Any, required: bool = True) -> list[OkxSpec]:
    raw = q.get("instId")
    if not raw:
        if required:
            raise OkxAuthError("50014", "Parameter instId can not be empty.", status=400)
        return list(v.market.specs.values())
    out = [by_inst_id(v.market.specs, i) for i in str(raw).split(",")]
    if any(s is None for s in out):
        raise OkxAuthError("51001", "Instrument ID does not exist", status=400)
    return [s for s in out if s is not None]


def okx_routes(v: OkxVenue) -> list[web.RouteDef]:
    def get(path: str, fn: Callable[[web.Request], list[Any]], signed: bool = False) -> web.RouteDef:
        async def handler(request: web.Request) -> web.StreamResponse:
            if signed:
                request[ACCOUNT] = v.signed(request)
            return v.reply(fn(request))

        return web.get(_P + path, handler)

    def instruments(r: web.Request) -> list[Any]:
        kind = r.query.get("instType", "")
        if kind not in ("SPOT", "SWAP", "FUTURES", "OPTION", "MARGIN"):
            raise OkxAuthError("50014", "Parameter instType can not be empty.", status=400)
        specs = v.market.specs.values()
        if kind == "SWAP":
            return [pay.instrument(s) for s in specs if r.query.get("instId") in (None, s.inst_id)]
        return [pay.spot_instrument(s) for s in specs] if kind == "SPOT" else []

    def tickers(r: web.Request) -> list[Any]:
        kind = r.query.get("instType", "SWAP")
        row = pay.spot_ticker_row if kind == "SPOT" else pay.ticker_row
        return [row(s, v.market.quotes[s.symbol]) for s in v.market.specs.values()]

    def ticker(r: web.Request) -> list[Any]:
        raw = r.query.get("instId", "")
        spot = next((s for s in v.market.specs.values() if f"{s.base}-USDT" == raw), None)
        if spot is not None:
            return [pay.spot_ticker_row(spot, v.market.quotes[spot.symbol])]
        return [pay.ticker_row(s, v.market.quotes[s.symbol]) for s in _inst(v, r.query)]

    def marks(r: web.Request) -> list[Any]:
        return [pay.mark_row(s, v.market.quotes[s.symbol]) for s in _inst(v, r.query, required=False)]

    def funding(r: web.Request) -> list[Any]:
        specs = list(v.market.specs.values()) if r.query.get("instId") == "ANY" else _inst(v, r.query)
        return [pay.funding_row(s, v.market.quotes[s.symbol], v.last_settled(s.symbol)) for s in specs]

    def funding_history(r: web.Request) -> list[Any]:
        (spec,) = _inst(v, r.query)[:1]
        limit = min(int(r.query.get("limit", "100") or 100), 100)
        rows = v.settlements[spec.symbol][-limit:][::-1]  # newest first, as the venue lists them
        return [
            {"fundingRate": repr(rate), "fundingTime": str(t), "instId": spec.inst_id, "instType": "SWAP",
             "method": "current_period", "realizedRate": repr(rate)}
            for t, rate in rows
        ]  # fmt: skip

    def tiers(r: web.Request) -> list[Any]:
        mode = r.query.get("tdMode")
        if mode not in ("cross", "isolated"):
            raise OkxAuthError("50014", "Parameter tdMode can not be empty.", status=400)
        fam = r.query.get("instFamily") or r.query.get("uly") or ""
        specs = [s for s in v.market.specs.values() if s.family in fam.split(",")]
        if not specs:
            raise OkxAuthError("51001", "Instrument ID does not exist", status=400)
        return [pay.tier_row(s, t) for s in specs for t in s.tiers(mode)]

    def positions(r: web.Request) -> list[Any]:
        name, now = r[ACCOUNT], v.now_ms()
        wanted = r.query.get("instId")
        ids = set(wanted.split(",")) if wanted else None
        return [
            pay.position_row(x, now) for x in v.engine.views(name) if ids is None or x.spec.inst_id in ids
        ]

    def balance(r: web.Request) -> list[Any]:
        name = r[ACCOUNT]
        return [pay.balance_row(v.engine.accounts[name], v.engine.views(name), v.now_ms())]

    def config(r: web.Request) -> list[Any]:
        name = r[ACCOUNT]
        return [pay.account_config(v.engine.accounts[name], v.keys.uid_of(name))]

    def trade_fee(r: web.Request) -> list[Any]:
        return [{"category": "1", "delivery": "", "exercise": "", "instType": "SWAP", "level": "Lv1",
                 "maker": "-0.0002", "taker": "-0.0005", "ts": str(v.now_ms())}]  # fmt: skip

    def currencies(r: web.Request) -> list[Any]:
        return [
            {"canDep": True, "canInternal": True, "canWd": True, "ccy": c, "chain": f"{c}-ERC20",
             "mainNet": True, "maxFee": "1", "minFee": "0.5", "minWd": "1", "name": c, "wdTickSz": "8"}
            for c in ("USDT", *(s.base for s in v.market.specs.values()))
        ]  # fmt: skip

    return [
        get("/public/time", lambda _r: [{"ts": str(v.now_ms())}]),
        get("/public/instruments", instruments),
        get("/public/mark-price", marks),
        get("/public/funding-rate", funding),
        get("/public/funding-rate-history", funding_history),
        get("/public/position-tiers", tiers),
        get("/market/tickers", tickers),
        get("/market/ticker", ticker),
        get("/account/positions", positions, signed=True),
        get("/account/balance", balance, signed=True),
        get("/account/config", config, signed=True),
        get("/account/trade-fee", trade_fee, signed=True),
        get("/asset/currencies", currencies, signed=True),
    ]
