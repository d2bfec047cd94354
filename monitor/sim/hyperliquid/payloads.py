"""Hyperliquid's info replies and socket frames from the simulator's numbers, in the venue's shapes.

Every amount is a string (`"0.0335"`), `maxLeverage`, `leverage.value` and `time` are JSON
integers, `liquidationPx` is `null` when no positive price liquidates, as the venue sends them
(venues-next §d; the docs' `clearinghouseState` example).
"""

from __future__ import annotations

from typing import Any

from monitor.sim.hyperliquid.accounts import HlPositionRow, HlState
from monitor.sim.hyperliquid.market import MARGIN_TABLES, HlCtx, HlFunding, HlMarket
from monitor.sim.numfmt import fnum

__all__ = ["asset_ctx", "clearinghouse_state", "funding_history", "meta", "meta_and_asset_ctxs"]


def meta(market: HlMarket) -> dict[str, Any]:
    return {
        "universe": [
            {
                "name": a.coin,
                "szDecimals": a.sz_decimals,
                "maxLeverage": a.max_leverage,
                "marginTableId": a.margin_table_id,
            }
            for a in market.assets
        ],
        "marginTables": [
            [
                tid,
                {
                    "description": desc,
                    "marginTiers": [{"lowerBound": fnum(lb), "maxLeverage": lev} for lb, lev in tiers],
                },
            ]
            for tid, (desc, tiers) in MARGIN_TABLES.items()
        ],
        "collateralToken": 0,
    }


def asset_ctx(c: HlCtx) -> dict[str, Any]:
    return {
        "funding": fnum(c.funding),
        "openInterest": fnum(c.open_interest),
        "prevDayPx": fnum(c.prev_day),
        "dayNtlVlm": fnum(c.day_ntl_vlm),
        "premium": fnum(c.premium),
        "oraclePx": fnum(c.oracle),
        "markPx": fnum(c.mark),
        "midPx": fnum(c.mid),
        "impactPxs": [fnum(c.impact_bid), fnum(c.impact_ask)],
        "dayBaseVlm": fnum(c.day_base_vlm),
    }


def meta_and_asset_ctxs(market: HlMarket) -> list[Any]:
    return [meta(market), [asset_ctx(market.ctxs[a.coin]) for a in market.assets]]


def _position(r: HlPositionRow) -> dict[str, Any]:
    p = r.pos
    leverage: dict[str, Any] = {"type": "isolated" if p.isolated else "cross", "value": p.leverage}
    if p.isolated:
        leverage["rawUsd"] = fnum(p.raw_usd)
    initial = abs(p.szi) * p.entry / p.leverage
    return {
        "type": "oneWay",
        "position": {
            "coin": p.coin,
            "szi": fnum(p.szi),
            "leverage": leverage,
            "entryPx": fnum(p.entry),
            "positionValue": fnum(r.value),
            "unrealizedPnl": fnum(r.upnl),
            "returnOnEquity": fnum(r.upnl / initial if initial else 0.0),
            "liquidationPx": None if r.liquidation_px is None else fnum(r.liquidation_px),
            "marginUsed": fnum(r.margin_used),
            "maxLeverage": r.max_leverage,
            "cumFunding": {
                "allTime": fnum(p.funding_all),
                "sinceOpen": fnum(p.funding_open),
                "sinceChange": fnum(p.funding_open),
            },
        },
    }


def _summary(value: float, ntl: float, raw: float, used: float) -> dict[str, str]:
    return {
        "accountValue": fnum(value),
        "totalNtlPos": fnum(ntl),
        "totalRawUsd": fnum(raw),
        "totalMarginUsed": fnum(used),
    }


def clearinghouse_state(st: HlState, time_ms: int) -> dict[str, Any]:
    return {
        "marginSummary": _summary(st.account_value, st.total_ntl, st.total_raw_usd, st.total_margin_used),
        "crossMarginSummary": _summary(st.cross_value, st.cross_ntl, st.cross_raw_usd, st.cross_margin_used),
        "crossMaintenanceMarginUsed": fnum(st.cross_mm),
        "withdrawable": fnum(st.withdrawable),
        "assetPositions": [_position(r) for r in st.rows],
        "time": time_ms,
    }


def funding_history(
    rows: list[HlFunding], coin: str, start_ms: int, end_ms: int | None
) -> list[dict[str, Any]]:
    """`fundingHistory`: the coin's settled hours in [start, end], oldest first, at most 500 [doc]."""
    out = [
        {"coin": f.coin, "fundingRate": fnum(f.rate), "premium": fnum(f.premium), "time": f.time_ms}
        for f in rows
        if f.coin == coin and f.time_ms >= start_ms and (end_ms is None or f.time_ms <= end_ms)
    ]
    return out[:500]
