"""The top-ups for a shock over the advice legs' columns: per account (cross legs) and per isolated leg.

Why its own module: the top-up is the one advice figure that solves margin (Binance's re-tiered
model, Bybit's entry-valued one, `risk.topup`) over every leg at once; the columns it reads are
monitor/evaluation/advice_legs.py, the figures it feeds monitor/evaluation/advice.py. Each number is
the float the per-leg code (`tests/unit/evaluation/reference/advice.py`) gives. Split from
advice_legs.py (issue 16: no module over 400 lines), bodies unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from monitor.evaluation.advice_legs import _SHARED, AdviceLegs, LegPrices, LegsKept
from monitor.risk._num import IntArray
from monitor.risk.topup import bybit_topup_cross, bybit_topup_isolated, topup_cross, topup_isolated

__all__ = ["account_topups", "isolated_topups"]


def _names(legs: AdviceLegs, sel: list[int]) -> str:
    return ", ".join(legs.positions[j].symbol for j in sel)


@dataclass(frozen=True, slots=True)
class _TopupPlan:
    """What `account_topups` reads from the legs alone, per account: its cross legs and, when a tier
    is missing for one of them, the reason (the legs are kept while the book's records hold)."""

    legs: AdviceLegs
    cross_of: list[list[int]]
    missing: list[str]  # "missing_tier: …" or ""
    on_bybit: list[bool]


def _topup_plan(legs: AdviceLegs, kept: LegsKept) -> _TopupPlan:
    held = kept.topups
    if held is not None and held.legs is legs:
        return held
    n = len(legs.accounts)
    cross_of: list[list[int]] = [[] for _ in range(n)]
    for j in np.flatnonzero(legs.cross).tolist():
        cross_of[legs.acc[j]].append(j)
    on_bybit = legs.on_bybit.tolist()
    tiered = np.isfinite(legs.bybit_mm).tolist()
    row_ok = (legs.row >= 0).tolist()
    missing = [""] * n
    for i, cross in enumerate(cross_of):
        if on_bybit[i]:
            untiered = [j for j in cross if not tiered[j]]
            if untiered:
                missing[i] = f"missing_tier: {_names(legs, untiered)}"
        elif not all(row_ok[j] for j in cross):
            none = sorted({legs.positions[j].symbol for j in cross if not row_ok[j]})
            missing[i] = f"missing_tier: {', '.join(none)}"
    kept.topups = _TopupPlan(legs, cross_of, missing, on_bybit)
    return kept.topups


def account_topups(
    legs: AdviceLegs, px: LegPrices, shock: float, kept: LegsKept | None = None
) -> tuple[list[float], list[str]]:
    """`topup_for_shock_usd` per account and its reason (reference: `_cross_topup`, `bybit_cross_topup`)."""
    n = len(legs.accounts)
    out, why = [0.0] * n, [""] * n
    wallet = np.where(legs.on_bybit, legs.unified, legs.wallet)
    plan = _topup_plan(legs, _SHARED if kept is None else kept)
    cross_of = plan.cross_of
    mark_ok = (px.mark > 0).tolist()
    isfinite = math.isfinite
    bin_acc: list[int] = []
    by_acc: list[int] = []
    for i, (w, cross, missing, bybit) in enumerate(
        zip(wallet.tolist(), cross_of, plan.missing, plan.on_bybit, strict=True)
    ):
        if not isfinite(w):
            out[i], why[i] = math.nan, "nan_input"
            continue
        if not cross:
            continue
        if missing:
            out[i], why[i] = math.nan, missing
            continue
        unpriced = [j for j in cross if not mark_ok[j]]
        if unpriced:
            tail = "" if bybit else " (none live, none from the venue)"
            out[i], why[i] = math.nan, f"no_mark: {_names(legs, unpriced)}{tail}"
            continue
        (by_acc if bybit else bin_acc).append(i)
    if bin_acc:  # both directions of every account in one call: "account" 2i the up move, 2i + 1 the down
        sel = np.array([j for i in bin_acc for j in cross_of[i]], dtype=np.intp)
        a = legs.acc[sel]
        m = px.mark[sel]
        ww = np.repeat(legs.wallet, 2)
        need = topup_cross(
            np.concatenate([2 * a, 2 * a + 1]),
            np.tile(legs.qc[sel], 2),
            np.tile(legs.entry[sel], 2),
            np.concatenate([m * (1.0 + shock), m * (1.0 - shock)]),
            ww,
            legs.table,
            np.tile(legs.row[sel], 2),
        ).reshape(-1, 2)
        for i in bin_acc:
            up, down = need[i]
            ok = math.isfinite(up) and math.isfinite(down)
            out[i], why[i] = (max(up, down), "") if ok else (math.nan, "missing_tier")
    if by_acc:
        sel = np.array([j for i in by_acc for j in cross_of[i]], dtype=np.intp)
        need = bybit_topup_cross(
            legs.acc[sel],
            legs.bybit_mm[sel],
            legs.qc[sel],
            legs.entry[sel],
            px.mark[sel],
            wallet,
            shock,
            legs.table,
            legs.row[sel],
        )
        for i in by_acc:
            out[i] = float(need[i])
    venue = px.from_venue.tolist()
    for i in range(n):
        if not why[i]:
            named = [j for j in cross_of[i] if venue[j]]
            if named:
                why[i] = f"leg_from_venue: {_names(legs, named)} shocked from the venue's mark"
    return out, why


def isolated_topups(legs: AdviceLegs, px: LegPrices, shock: float) -> tuple[IntArray, list[float], list[str]]:
    """`position_topup_for_shock_usd` of every isolated leg: (legs, values, reasons)."""
    iso = np.flatnonzero(legs.iso)
    need = np.full(iso.size, np.nan)
    on_b = legs.on_bybit[legs.acc[iso]] if iso.size else np.zeros(0, dtype=bool)
    mm = legs.bybit_mm[iso]
    has_b = legs.row[iso] >= 0
    b = np.flatnonzero(on_b & np.isfinite(mm))
    if b.size:
        j = iso[b]
        need[b] = bybit_topup_isolated(
            mm[b], legs.qc[j], legs.entry[j], px.mark[j], legs.iw[j], shock, legs.table, legs.row[j]
        )
    k = np.flatnonzero(~on_b & has_b)
    if k.size:
        j = iso[k]
        need[k] = topup_isolated(
            legs.qc[j], legs.entry[j], px.mark[j], legs.iw[j], legs.table, legs.row[j], shock
        )
    out = need.tolist()
    why = [""] * iso.size
    missing = (on_b & ~np.isfinite(mm)) | (~on_b & ~has_b)
    for x in np.flatnonzero(missing | np.isnan(need)).tolist():
        why[x] = "missing_tier" if missing[x] else "not_available"
    return iso, out, why
