"""Bybit's margin model applied to one account's rows (see `risk.bybit_liquidation` for the why).

The account stage computes every account the same way up to the model: its legs, each priced
live or as the venue reports it (`legs.Leg`). For a venue on Bybit's model the MM is on the mark
value (since 2025-09-02; it was on the entry before) and the liquidation prices are Bybit's:
every leg its own LP (no hedge pair sharing one), the isolated ones on `positionBalance` alone,
re-tiered at the LP. So the LP and its divergence from the venue's `liqPrice` compare like with
like. Pure: numbers in, numbers out.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from monitor.config import VenueConfig
from monitor.evaluation.legs import Leg, join_reasons, leg_reason
from monitor.records import Position
from monitor.risk._num import FloatArray
from monitor.risk.bybit_liquidation import (
    bybit_cross_liquidation_price,
    bybit_isolated_liquidation_price,
    bybit_position_mm,
)
from monitor.risk.margin import Brackets
from monitor.venues import spoken

__all__ = ["bybit_lps", "bybit_mm", "bybit_model_venues", "bybit_unified_cross_wallet"]


def bybit_model_venues(venues: Iterable[VenueConfig]) -> frozenset[str]:
    """Venues on Bybit's margin model: the native collector's, and the generic one's `exchange = "bybit"`."""
    return frozenset(v.name for v in venues if spoken(v).margin_model == "bybit")


def bybit_unified_cross_wallet(unified: float, positions: tuple[Position, ...]) -> float:
    """The unified wallet less the isolated position balances it includes (they back their own legs)."""
    return unified - sum(p.isolated_wallet for p in positions if p.margin_mode == "isolated" and p.qty != 0)


def bybit_mm(p: Position, b: Brackets | None) -> float:
    """MM at the *entry* value (the pre-2025-09-02 `positionMM`): finite exactly when the tiers price the leg.

    The top-up advice uses it for that alone (a NaN names a missing tier); every figure values MM
    at the mark or the shocked mark (`legs.price_leg`, `bybit_lps`, `risk.topup.bybit_topup_*`).
    """
    if b is None:
        return math.nan
    return float(bybit_position_mm(p.qty, p.entry_price, b.floors, b.mmrs, b.cums))


def _lp_reason(lp: float, own: Leg, inputs: list[Leg]) -> str:
    """Why an LP is NaN, naming the leg that made it so; or the venue-priced legs a value stands on.

    `inputs` are the legs whose UPnL and MM the LP takes (all cross legs, or the isolated leg).
    An LP that is NaN with every input present is the formula's own answer: no price liquidates.
    """
    if not math.isnan(lp):
        return join_reasons(leg_reason(lp, [own], ("mark",)), leg_reason(lp, inputs, ("upnl", "mm")))
    if own.b is None:  # the LP re-tiers at the LP: a venue MM at the mark does not give it
        return "missing_tier"
    if own.p.margin_mode == "cross" and own.src["mark"] == "none":
        return own.unpriced
    return leg_reason(lp, inputs, ("upnl", "mm")) or "not_liquidatable"


def bybit_lps(legs: list[Leg], wallet: float) -> tuple[dict[int, tuple[float, str]], dict[int, float]]:
    """(LP and reason by position id at live marks, LP by position id on the venue's own marks).

    Cross: equity = wallet + Σ UPnL meets Σ MM with this leg's mark moving and its MM re-valued
    there; an isolated leg stands on its position balance alone, and its LP does not depend on
    any mark. Both re-tier at the LP, so a leg without tiers has no LP (`missing_tier`), as on
    Binance's model; the venue-marks LP needs every cross leg's tiers.
    """
    cross = [x for x in legs if x.p.margin_mode == "cross"]
    total_mm = sum(x.mm for x in cross)
    equity = wallet + sum(x.upnl for x in cross)
    venue_marks = {id(x.p): (x.p.venue_mark_price if x.p.venue_mark_price > 0 else x.mark) for x in cross}
    venue_equity = wallet + sum(x.p.qty * (venue_marks[id(x.p)] - x.p.entry_price) for x in cross)
    venue_mm = sum(_mm_at(x, venue_marks[id(x.p)]) for x in cross)
    live: dict[int, tuple[float, str]] = {}
    same: dict[int, float] = {}
    for x in legs:
        p, b = x.p, x.b
        if b is None:
            live[id(p)], same[id(p)] = (math.nan, _lp_reason(math.nan, x, [x])), math.nan
        elif p.margin_mode == "isolated":
            lp = float(bybit_isolated_liquidation_price(p.qty, p.entry_price, p.isolated_wallet, *_tiers(b)))
            live[id(p)], same[id(p)] = (lp, _lp_reason(lp, x, [x])), lp
        else:
            lp = float(bybit_cross_liquidation_price(p.qty, x.mark, equity, total_mm, *_tiers(b)))
            live[id(p)] = (lp, _lp_reason(lp, x, cross))
            vm = venue_marks[id(p)]
            same[id(p)] = float(bybit_cross_liquidation_price(p.qty, vm, venue_equity, venue_mm, *_tiers(b)))
    return live, same


def _tiers(b: Brackets) -> tuple[FloatArray, FloatArray, FloatArray]:
    return b.floors, b.mmrs, b.cums


def _mm_at(x: Leg, mark: float) -> float:
    """A cross leg's MM at another mark (the venue's), from its tiers; NaN without them."""
    if x.b is None:
        return math.nan
    return float(bybit_position_mm(x.p.qty, mark, *_tiers(x.b)))
