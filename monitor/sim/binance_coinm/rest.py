"""COIN-M REST (`/dapi`): public market data, SIGNED account reads, USER_STREAM listenKey calls.

`premiumIndex` is always a list (pair-scoped at the venue); `/dapi/v2/leverageBracket` is per
symbol (an array of every symbol without one), `/dapi/v1/leverageBracket` per pair (deprecated:
"may return ambiguous values"). positionRisk lists the open positions (the real reply also has
flat rows of listed symbols; collectors must take both).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, get_args

from aiohttp import web

from monitor.config.records import ApiPermission
from monitor.sim.binance.keyed import api_restrictions, host_routes, listen_key_routes, signed_reply
from monitor.sim.binance_coinm import payloads as pay
from monitor.sim.replies import json_reply

if TYPE_CHECKING:
    from monitor.sim.binance_coinm.venue import CoinmVenue

__all__ = ["coinm_routes"]


def _int(params: Mapping[str, str], name: str) -> int | None:
    raw = params.get(name)
    return int(raw) if raw and raw.lstrip("-").isdigit() else None


def coinm_routes(v: CoinmVenue) -> list[web.RouteDef]:
    m, eng = v.market, v.engine

    symbol = v.symbol

    async def premium_index(request: web.Request) -> web.Response:
        params = dict(request.query)
        one, pair = symbol(params), params.get("pair")
        rows = [
            pay.premium_index(m.quote(s), spec)
            for s, spec in m.specs.items()
            if one in (None, s) and pair in (None, spec.pair)
        ]
        return json_reply(rows)

    async def funding_rate(request: web.Request) -> web.Response:
        params = dict(request.query)
        s = symbol(params, required=True)
        limit = min(max(_int(params, "limit") or 100, 1), 1000)
        rows = v.funding.query(s, _int(params, "startTime"), _int(params, "endTime"), limit)
        return json_reply(pay.funding_rows(rows))

    async def funding_info(_r: web.Request) -> web.Response:
        return json_reply([])  # only adjusted intervals are listed; these keep 8 h

    async def leverage_bracket_v2(request: web.Request) -> web.Response:
        req = await v.signed(request)
        s = symbol(req.params)
        return json_reply([pay.leverage_brackets(x, eng.brackets[x]) for x in m.specs if s in (None, x)])

    async def leverage_bracket_v1(request: web.Request) -> web.Response:
        req = await v.signed(request)
        pair = req.params.get("pair")
        return json_reply(
            [
                pay.leverage_brackets(spec.pair, eng.brackets[x], key="pair")
                for x, spec in m.specs.items()
                if pair in (None, spec.pair)
            ]
        )

    account = signed_reply(v, lambda name: pay.account(eng, name))
    balance = signed_reply(v, lambda name: pay.balance(eng, name))

    async def position_risk(request: web.Request) -> web.Response:
        req = await v.signed(request)
        s, pair = symbol(req.params), req.params.get("pair")
        acct = eng.accounts[req.account]
        rows = [
            pay.position_risk(p, acct.update_ms)
            for p in eng.positions(req.account)
            if s in (None, p.symbol) and pair in (None, m.specs[p.symbol].pair)
        ]
        return json_reply(rows)

    def restrictions(name: str) -> dict[str, object]:
        """The key check (`sapi`, on the spot host at the venue; here beside dapi, read-only keys)."""
        return api_restrictions(get_args(ApiPermission), eng.accounts[name].permissions, 0)

    return [
        *host_routes(v, "/dapi/v1", pay.exchange_info, v.weight_per_min),
        web.get("/dapi/v1/premiumIndex", premium_index),
        web.get("/dapi/v1/fundingRate", funding_rate),
        web.get("/dapi/v1/fundingInfo", funding_info),
        web.get("/dapi/v2/leverageBracket", leverage_bracket_v2),
        web.get("/dapi/v1/leverageBracket", leverage_bracket_v1),
        web.get("/dapi/v1/account", account),
        web.get("/dapi/v1/balance", balance),
        web.get("/dapi/v1/positionRisk", position_risk),
        web.get("/sapi/v1/account/apiRestrictions", signed_reply(v, restrictions)),
        *listen_key_routes(v, "/dapi/v1/listenKey"),
    ]
