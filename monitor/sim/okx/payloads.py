"""OKX v5 payloads as the venue writes them: `{"code":"0","msg":"","data":[…]}`, every number a string,
`""` for a field that does not apply (venues-next §c; the shapes ccxt's `okx` parses).

Numbers are written with `repr`-exact floats (`_s`), so a client's `float()` of a field is the
engine's float to the last bit and tests compare with `==`.
"""

from __future__ import annotations

from typing import Any

from monitor.sim.okx.accounts import OkxAccount, OkxPositionView
from monitor.sim.okx.market import OkxQuote
from monitor.sim.okx.symbols import OkxSpec, OkxTier

__all__ = [
    "account_config",
    "balance_row",
    "bbo_row",
    "envelope",
    "error_body",
    "funding_row",
    "instrument",
    "mark_row",
    "position_row",
    "spot_instrument",
    "ticker_row",
    "tier_row",
]

_LIST_MS = "1606468572000"


def _s(x: float | int | None) -> str:
    if x is None:
        return ""
    return repr(float(x)) if isinstance(x, float) and not float(x).is_integer() else str(int(x))


def envelope(data: list[Any]) -> dict[str, Any]:
    return {"code": "0", "msg": "", "data": data}


def error_body(code: str, msg: str) -> dict[str, Any]:
    return {"code": code, "msg": msg, "data": []}


def instrument(spec: OkxSpec) -> dict[str, str]:
    """`GET /api/v5/public/instruments?instType=SWAP` row (linear, settled in USDT)."""
    return {
        "alias": "", "baseCcy": "", "category": "1", "ctMult": "1", "ctType": "linear",
        "ctVal": _s(spec.ct_val), "ctValCcy": spec.base, "expTime": "", "instFamily": spec.family,
        "instId": spec.inst_id, "instType": "SWAP", "lever": _s(spec.max_lever), "listTime": _LIST_MS,
        "lotSz": _s(spec.lot_sz), "maxIcebergSz": "100000000", "maxLmtSz": "100000000",
        "maxMktSz": "10000", "minSz": _s(spec.lot_sz), "optType": "", "quoteCcy": "", "ruleType": "normal",
        "settleCcy": "USDT", "state": "live", "stk": "", "tickSz": spec.tick, "uly": spec.family,
    }  # fmt: skip


def spot_instrument(spec: OkxSpec) -> dict[str, str]:
    return {
        "alias": "", "baseCcy": spec.base, "category": "1", "ctMult": "", "ctType": "", "ctVal": "",
        "ctValCcy": "", "expTime": "", "instFamily": "", "instId": f"{spec.base}-USDT", "instType": "SPOT",
        "lever": "10", "listTime": _LIST_MS, "lotSz": "0.00000001", "minSz": "0.00001", "optType": "",
        "quoteCcy": "USDT", "settleCcy": "", "state": "live", "stk": "", "tickSz": spec.spot_tick, "uly": "",
    }  # fmt: skip


def ticker_row(spec: OkxSpec, q: OkxQuote) -> dict[str, str]:
    return {
        "instType": "SWAP", "instId": spec.inst_id, "last": _s(q.last), "lastSz": "1",
        "askPx": _s(q.ask), "askSz": _s(q.ask_size), "bidPx": _s(q.bid), "bidSz": _s(q.bid_size),
        "open24h": _s(q.open_24h), "high24h": _s(q.high), "low24h": _s(q.low),
        "volCcy24h": _s(round(q.volume * spec.ct_val, 8)), "vol24h": _s(q.volume),
        "sodUtc0": _s(q.open_24h), "sodUtc8": _s(q.open_24h), "ts": str(q.time_ms),
    }  # fmt: skip


def spot_ticker_row(spec: OkxSpec, q: OkxQuote) -> dict[str, str]:
    row = ticker_row(spec, q)
    row.update(instType="SPOT", instId=f"{spec.base}-USDT", bidPx=_s(q.spot_bid), askPx=_s(q.spot_ask))
    row["last"] = row["bidPx"]
    return row


def bbo_row(spec: OkxSpec, q: OkxQuote) -> dict[str, Any]:
    """`bbo-tbt` channel: the book top, `[price, size, "0", orders]` per side."""
    return {"asks": [[_s(q.ask), _s(q.ask_size), "0", "1"]], "bids": [[_s(q.bid), _s(q.bid_size), "0", "1"]],
            "ts": str(q.time_ms), "seqId": q.time_ms}  # fmt: skip


def mark_row(spec: OkxSpec, q: OkxQuote) -> dict[str, str]:
    """`mark-price` channel / `GET /api/v5/public/mark-price` row."""
    return {"instType": "SWAP", "instId": spec.inst_id, "markPx": _s(q.mark), "ts": str(q.time_ms)}


def funding_row(spec: OkxSpec, q: OkxQuote, settled: float | None) -> dict[str, str]:
    """`funding-rate` channel / REST row: the forecast for `fundingTime` (the UPCOMING settlement)."""
    interval_ms = spec.funding_hours * 3_600_000
    return {
        "formulaType": "withRate", "fundingRate": _s(q.funding_rate), "fundingTime": str(q.funding_ms),
        "impactValue": "", "instId": spec.inst_id, "instType": "SWAP", "interestRate": "0.0001",
        "maxFundingRate": _s(spec.funding_cap), "method": "current_period",
        "minFundingRate": _s(-spec.funding_cap), "nextFundingRate": "",
        "nextFundingTime": str(q.funding_ms + interval_ms), "premium": _s(q.premium),
        "settFundingRate": _s(settled if settled is not None else q.funding_rate),
        "settState": "settled", "ts": str(q.time_ms),
    }  # fmt: skip


def tier_row(spec: OkxSpec, t: OkxTier) -> dict[str, str]:
    return {
        "baseMaxLoan": "", "imr": _s(t.imr), "instFamily": spec.family, "instId": "",
        "maxLever": _s(t.max_lever),
        "maxSz": _s(t.max_sz), "minSz": _s(t.min_sz), "mmr": _s(t.mmr), "optMgnFactor": "",
        "quoteMaxLoan": "", "tier": str(t.tier), "uly": spec.family,
    }  # fmt: skip


def position_row(v: OkxPositionView, now_ms: int) -> dict[str, str]:
    """`GET /api/v5/account/positions` / `positions` channel row; `mmr` is the maintenance AMOUNT."""
    p = v.p
    iso = p.mgn_mode == "isolated"
    pos = p.contracts if p.pos_side == "net" else abs(p.contracts)
    return {
        "adl": "1", "availPos": "", "avgPx": _s(p.avg_px), "cTime": str(p.c_time_ms), "ccy": "USDT",
        "fee": "0", "fundingFee": "0", "idxPx": "", "imr": "" if iso else _s(v.imr),
        "instId": v.spec.inst_id, "instType": "SWAP", "last": _s(v.mark), "lever": _s(p.lever),
        "liqPenalty": "0", "liqPx": _s(v.liq_px), "margin": _s(p.margin) if iso else "",
        "markPx": _s(v.mark), "mgnMode": p.mgn_mode, "mgnRatio": _s(v.mgn_ratio), "mmr": _s(v.mm_amount),
        "notionalUsd": _s(v.notional), "pos": _s(pos), "posCcy": "", "posId": p.pos_id,
        "posSide": p.pos_side, "realizedPnl": "0", "uTime": str(now_ms), "upl": _s(v.upl),
        "uplRatio": _s(v.upl / (p.margin if iso else v.imr)) if (p.margin if iso else v.imr) else "",
        "usdPx": "1",
    }  # fmt: skip


def balance_row(a: OkxAccount, views: list[OkxPositionView], now_ms: int) -> dict[str, Any]:
    """`GET /api/v5/account/balance` / `account` channel row: one USDT detail. In single-currency
    mode (acctLv 2) the account-level `adjEq`/`mgnRatio` are "" and the detail carries the
    currency's cross `mgnRatio`; in acctLv 3/4 the account level carries them (venues-next §c)."""
    upl = sum(v.upl for v in views)
    iso_upl = sum(v.upl for v in views if v.p.mgn_mode == "isolated")
    eq = a.cash_bal + upl
    iso = sum(v.p.margin for v in views if v.p.mgn_mode == "isolated")
    cross = [v for v in views if v.p.mgn_mode == "cross"]
    ratio = _s(cross[0].mgn_ratio) if cross else ""
    mmr = sum(v.mm_amount for v in views)
    single = a.acct_lv == 2
    detail = {
        "availBal": _s(a.wallet), "availEq": _s(a.wallet), "cashBal": _s(a.cash_bal), "ccy": "USDT",
        "crossLiab": "", "disEq": _s(eq), "eq": _s(eq), "eqUsd": _s(eq), "frozenBal": _s(iso),
        "imr": _s(sum(v.imr for v in cross)), "isoEq": _s(iso + iso_upl),
        "isoUpl": _s(iso_upl), "liab": "",
        "mgnRatio": ratio if single else "", "mmr": _s(sum(v.mm_amount for v in cross)),
        "notionalLever": "", "ordFrozen": "0", "uTime": str(a.update_ms), "upl": _s(upl),
    }  # fmt: skip
    return {
        "adjEq": "" if single else _s(eq), "details": [detail],
        "imr": "" if single else _s(sum(v.imr for v in cross)),
        "isoEq": detail["isoEq"], "mgnRatio": "" if single else _s(eq / mmr if mmr else 0.0),
        "mmr": "" if single else _s(mmr), "notionalUsd": _s(sum(v.notional for v in views)),
        "ordFroz": "", "totalEq": _s(eq), "uTime": str(now_ms), "upl": _s(upl),
    }  # fmt: skip


def account_config(a: OkxAccount, uid: str) -> dict[str, Any]:
    """`GET /api/v5/account/config`: `acctLv` is the account mode; a read-only key's `perm` is `read_only`."""
    return {
        "acctLv": str(a.acct_lv), "autoLoan": False, "ctIsoMode": "automatic", "greeksType": "PA",
        "label": a.name, "level": "Lv1", "levelTmp": "", "liquidationGear": "-1", "mainUid": uid,
        "mgnIsoMode": "automatic", "opAuth": "0", "perm": "read_only",
        "posMode": "long_short_mode" if any(p.pos_side != "net" for p in a.positions) else "net_mode",
        "roleType": "0", "spotOffsetType": "", "spotRoleType": "0", "traderInsts": [], "uid": uid,
    }  # fmt: skip
