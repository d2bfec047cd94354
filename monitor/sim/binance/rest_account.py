"""Private USDⓈ-M REST endpoints: SIGNED account reads and the USER_STREAM listenKey calls.

`leverageBracket` without a symbol is an array (ccxt always asks that way); positionRisk v3 lists
only open positions, v2 every symbol. listenKey calls need only the API-key header.
"""

from __future__ import annotations

from aiohttp import web

from monitor.sim.binance import account_payloads as pay
from monitor.sim.binance.keyed import listen_key_routes, signed_reply
from monitor.sim.binance.venue import Venue
from monitor.sim.replies import json_reply

__all__ = ["futures_private_routes"]


def futures_private_routes(v: Venue) -> list[web.RouteDef]:
    eng = v.engine

    async def leverage_bracket(request: web.Request) -> web.Response:
        req = await v.signed(request)
        symbol = v.symbol(req.params)
        if symbol is not None:
            return json_reply(pay.leverage_brackets(symbol, eng.brackets(symbol)))
        return json_reply([pay.leverage_brackets(s, eng.brackets(s)) for s in v.market.specs])

    async def position_risk_v3(request: web.Request) -> web.Response:
        req = await v.signed(request)
        symbol = v.symbol(req.params)
        rows = [pay.position_risk_v3(p) for p in eng.positions(req.account) if symbol in (None, p.symbol)]
        return json_reply(rows)

    async def position_risk_v2(request: web.Request) -> web.Response:
        req = await v.signed(request)
        symbol = v.symbol(req.params)
        acct = eng.accounts[req.account]
        views = {(p.symbol, p.side): p for p in eng.positions(req.account)}
        sides = ("LONG", "SHORT") if acct.dual_side else ("BOTH",)
        rows = []
        for s in v.market.specs:
            if symbol not in (None, s):
                continue
            for side in sides:
                view = views.get((s, side))
                if view is not None:
                    rows.append(pay.position_risk_v2(view, eng.brackets(s)))
                else:
                    lev = acct.leverage.get(s, 20.0)
                    rows.append(pay.flat_v2(s, side, lev, eng.brackets(s), eng.marks[s]))
        return json_reply(rows)

    account_v3 = signed_reply(v, lambda name: pay.account_v3(eng, name))
    account_v2 = signed_reply(v, lambda name: pay.account_v2(eng, name))
    balance = signed_reply(v, lambda name: pay.balances(eng, name))
    dual_side = signed_reply(v, lambda name: {"dualSidePosition": eng.accounts[name].dual_side})

    async def symbol_config(request: web.Request) -> web.Response:
        req = await v.signed(request)
        symbol = v.symbol(req.params)
        acct = eng.accounts[req.account]
        modes = {p.symbol: p.margin_mode for p in acct.positions}
        return json_reply(
            [
                pay.symbol_config(s, modes.get(s, "cross"), acct.leverage.get(s, 20.0), eng.brackets(s))
                for s in v.market.specs
                if symbol in (None, s)
            ]
        )

    return [
        web.get("/fapi/v1/leverageBracket", leverage_bracket),
        web.get("/fapi/v3/positionRisk", position_risk_v3),
        web.get("/fapi/v2/positionRisk", position_risk_v2),
        web.get("/fapi/v3/account", account_v3),
        web.get("/fapi/v2/account", account_v2),
        web.get("/fapi/v3/balance", balance),
        web.get("/fapi/v2/balance", balance),
        web.get("/fapi/v1/positionSide/dual", dual_side),
        web.get("/fapi/v1/symbolConfig", symbol_config),
        *listen_key_routes(v, "/fapi/v1/listenKey"),
    ]
