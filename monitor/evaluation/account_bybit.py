"""Bybit's margin model applied to one account's rows (see `risk.bybit_liquidation` for the why).

The account stage computes every account the same way up to the model: rows of (position, mark,
tiers, notional, UPnL, MM, fresh). For a venue on Bybit's model the MM is entry-valued and the
liquidation prices are Bybit's, so the LP and its divergence from the venue's `liqPrice` compare
like with like. Pure: numbers in, numbers out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from monitor.config import VenueConfig
from monitor.records import Position
from monitor.risk.bybit_liquidation import (
    bybit_cross_liquidation_price,
    bybit_isolated_liquidation_price,
    bybit_position_mm,
)
from monitor.risk.margin import Brackets

__all__ = ["Row", "bybit_lps", "bybit_mm", "bybit_model_venues", "bybit_unified_cross_wallet"]

Row = tuple[Position, float, Brackets | None, float, float, float, bool]


def bybit_model_venues(venues: Iterable[VenueConfig]) -> frozenset[str]:
    """Venues on Bybit's margin model: the native collector's, and the generic one's `exchange = "bybit"`."""
    return frozenset(
        v.name for v in venues if v.kind == "bybit" or (v.kind == "ccxt" and v.exchange == "bybit")
    )


def bybit_unified_cross_wallet(unified: float, positions: tuple[Position, ...]) -> float:
    """The unified wallet less the isolated position balances it includes (they back their own legs)."""
    return unified - sum(p.isolated_wallet for p in positions if p.margin_mode == "isolated" and p.qty != 0)


def bybit_mm(p: Position, b: Brackets | None) -> float:
    """`positionMM`: tier and rate at the entry value, less the tier's deduction."""
    if b is None:
        return math.nan
    return float(bybit_position_mm(p.qty, p.entry_price, b.floors, b.mmrs, b.cums))


def _reason(lp: float, b: Brackets | None) -> str:
    if b is None:
        return "missing_tier"
    return "" if math.isfinite(lp) else "not_liquidatable"


def bybit_lps(rows: list[Row], wallet: float) -> tuple[dict[int, tuple[float, str]], dict[int, float]]:
    """(LP and reason by position id at live marks, LP by position id on the venue's own marks).

    Cross: equity = wallet + Σ UPnL; an isolated leg stands on its position balance alone, and
    its LP does not depend on any mark.
    """
    cross = [r for r in rows if r[0].margin_mode == "cross"]
    total_mm = sum(r[5] for r in cross)
    equity = wallet + sum(r[4] for r in cross)
    venue_marks = {id(r[0]): (r[0].venue_mark_price if r[0].venue_mark_price > 0 else r[1]) for r in cross}
    venue_equity = wallet + sum(r[0].qty * (venue_marks[id(r[0])] - r[0].entry_price) for r in cross)
    live: dict[int, tuple[float, str]] = {}
    same: dict[int, float] = {}
    for p, mark, b, _n, _upnl, mm, _ok in rows:
        if p.margin_mode == "isolated":
            lp = float(bybit_isolated_liquidation_price(p.qty, p.entry_price, p.isolated_wallet, mm))
            live[id(p)], same[id(p)] = (lp, _reason(lp, b)), lp
        else:
            lp = float(bybit_cross_liquidation_price(p.qty, mark, equity, total_mm))
            live[id(p)] = (lp, _reason(lp, b))
            same[id(p)] = float(
                bybit_cross_liquidation_price(p.qty, venue_marks[id(p)], venue_equity, total_mm)
            )
    return live, same
