"""Tiered maintenance margin, margin ratio and headroom (Binance USDⓈ-M model, risk-formulas §4).

Brackets are plain arrays so that a whole book can be evaluated without Python loops. A bracket
table for one symbol is `floors, caps, mmrs, cums` (ascending, tier n covers
`floors[n] ≤ notional < caps[n]`), always looked up at **mark** notional. `cum` is the
"maintenance amount" that keeps MM continuous across tiers; Binance publishes it, and
`cum_from_brackets` rebuilds it from the recursion when a venue does not.

Inverse (coin-margined) contracts use the same functions with notional and UPnL in coin
(`notional(q_usd, mark, inverse=True)`, `unrealized_pnl(..., inverse=True)`); their bracket
floors, caps and cums are in coin too.

Invalid input gives NaN (and tier −1), never an exception: see `risk/__init__.py`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from monitor.risk._num import FloatArray, IntArray, Num, as_float, like, quiet
from monitor.risk.reasons import Reason

__all__ = [
    "Brackets",
    "bracket_problem",
    "brackets",
    "cum_from_brackets",
    "headroom",
    "headroom_fraction",
    "initial_margin",
    "maintenance_margin",
    "margin_balance",
    "margin_ratio",
    "notional",
    "tier_index",
    "unrealized_pnl",
]


class Brackets(NamedTuple):
    """One symbol's maintenance-margin tiers as parallel float64 arrays (read-only)."""

    floors: FloatArray
    caps: FloatArray
    mmrs: FloatArray
    cums: FloatArray
    max_leverage: FloatArray


def cum_from_brackets(floors: FloatArray, mmrs: FloatArray) -> FloatArray:
    """Rebuild the maintenance amounts: cum_n = cum_{n−1} + floor_n·(mmr_n − mmr_{n−1}), cum_0 = 0.

    Why: this is the value that makes `notional·mmr − cum` continuous at every tier floor, so MM
    does not jump when a position crosses a tier. Binance BTCUSDT (floors 0/50k/250k/1M, mmr
    0.4/0.5/1/2.5 %) gives 0/50/1,300/16,300.
    """
    f, m = as_float(floors), as_float(mmrs)
    if f.size == 0:
        return np.zeros(0)
    steps = np.zeros_like(f)
    steps[1:] = f[1:] * np.diff(m)
    return np.cumsum(steps)


def brackets(
    floors: FloatArray,
    mmrs: FloatArray,
    *,
    caps: FloatArray | None = None,
    cums: FloatArray | None = None,
    max_leverage: FloatArray | None = None,
) -> Brackets:
    """Build a read-only `Brackets`; caps default to the next floor (last: +inf), cums to the recursion."""
    f = np.array(floors, dtype=np.float64)
    m = np.array(mmrs, dtype=np.float64)
    c = np.append(f[1:], np.inf) if caps is None else np.array(caps, dtype=np.float64)
    k = cum_from_brackets(f, m) if cums is None else np.array(cums, dtype=np.float64)
    lev = np.full(f.shape, np.nan) if max_leverage is None else np.array(max_leverage, dtype=np.float64)
    for a in (f, m, c, k, lev):
        a.flags.writeable = False
    return Brackets(f, c, m, k, lev)


def bracket_problem(b: Brackets, *, cum_tolerance: float = 1e-6) -> Reason:
    """Check a table before trusting it: OK, MISSING_TIER (gap, unsorted, empty) or BAD_PARAMETER.

    Why: a tier table with a gap or an unsorted floor would silently pick a wrong MMR. A cum that
    disagrees with the recursion is reported as TIER_BOUNDARY (MM jumps at a floor), which the
    liquidation solver handles but the desk should know about.
    """
    f, c, m, k = b.floors, b.caps, b.mmrs, b.cums
    n = f.size
    if n == 0 or not (c.size == m.size == k.size == n):
        return Reason.MISSING_TIER
    if not (np.all(np.isfinite(f)) and np.all(np.isfinite(m)) and np.all(np.isfinite(k))):
        return Reason.NAN_INPUT
    if f[0] != 0.0 or np.any(np.diff(f) <= 0) or np.any(c[:-1] != f[1:]) or c[-1] <= f[-1]:
        return Reason.MISSING_TIER
    if np.any(m < 0) or np.any(m >= 1) or np.any(np.diff(m) < 0):
        return Reason.BAD_PARAMETER
    expected = cum_from_brackets(f, m)
    if np.any(np.abs(expected - k) > cum_tolerance * np.maximum(1.0, np.abs(expected))):
        return Reason.TIER_BOUNDARY
    return Reason.OK


def notional(q: Num, mark: Num | float, *, inverse: bool = False) -> Num:
    """Position notional at mark: |q|·mark (linear, quote units) or |q_usd|/mark (inverse, coin)."""
    qq, p = as_float(q), as_float(mark)
    with quiet():
        out = np.abs(qq) / p if inverse else np.abs(qq) * p
        out = np.where(p > 0, out, np.nan)
    return like(q, out)


def unrealized_pnl(q: Num, entry: Num | float, mark: Num | float, *, inverse: bool = False) -> Num:
    """UPnL at mark: q·(mark − entry) (linear), or q_usd·(1/entry − 1/mark) in coin (inverse).

    Why mark and not last: the venue margins, liquidates and reports PnL at mark (venues.md §3.1).
    """
    qq, e, p = as_float(q), as_float(entry), as_float(mark)
    with quiet():
        out = qq * (1.0 / e - 1.0 / p) if inverse else qq * (p - e)
        out = np.where(np.minimum(e, p) > 0, out, np.nan)  # NaN propagates: e > 0 and p > 0
    return like(q, out)


def tier_index(notional: Num, floors: FloatArray, caps: FloatArray | None = None) -> IntArray:
    """Index of the tier with floor ≤ notional < cap, −1 where none applies (NaN, < floor 0, ≥ last cap).

    Always an intp array (0-d for a scalar). Look it up at mark notional (venues.md §3.1).
    """
    n = as_float(notional)
    f = as_float(floors)
    if f.size == 0:
        return np.full(n.shape, -1, dtype=np.intp)
    idx = np.searchsorted(f, n, side="right").astype(np.intp) - 1
    bad = ~np.isfinite(n) | (n < 0)
    if caps is not None:
        bad |= n >= as_float(caps)[-1]
    return np.where(bad, -1, idx).astype(np.intp)


def maintenance_margin(
    notional: Num, floors: FloatArray, mmrs: FloatArray, cums: FloatArray, caps: FloatArray | None = None
) -> Num:
    """MM = notional·mmr(tier) − cum(tier), tier at this (mark) notional; NaN without a tier.

    Why `cum`: it is the quick-calc form of summing each slice of notional at its own tier's rate.
    Example (risk-formulas §5): 3,500,032.45776 at mmr 2.5 %, cum 16,300 → 71,200.811444.
    Without `caps` the last tier is open-ended; with them a notional ≥ the last cap is NaN.
    """
    n = as_float(notional)
    t = tier_index(n, floors, caps)
    m, c = as_float(mmrs), as_float(cums)
    ok = t >= 0
    ti = np.where(ok, t, 0)
    with quiet():
        out = np.where(ok, n * m[ti] - c[ti], np.nan) if m.size else np.full(n.shape, np.nan)
    return like(notional, out)


def initial_margin(notional: Num, leverage: Num | float) -> Num:
    """Initial margin = notional / leverage; NaN for leverage ≤ 0."""
    n, lev = as_float(notional), as_float(leverage)
    with quiet():
        out = np.where(lev > 0, n / lev, np.nan)
    return like(notional, out)


def margin_balance(wallet: Num, upnl: Num | float) -> Num:
    """Margin balance = wallet balance + UPnL (sum the UPnL of the account's positions first)."""
    return like(wallet, as_float(wallet) + as_float(upnl))


def margin_ratio(total_mm: Num, margin_balance: Num | float) -> Num:
    """Margin ratio = Σ MM / margin balance; liquidation at 1.0; +inf when margin balance ≤ 0.

    Why +inf: a margin balance at or below zero means the account is already past liquidation
    (the collateral is gone). The plain quotient would be negative or undefined there, which a
    threshold rule `margin_ratio > 0.8` would read as healthy; +inf keeps every "higher is worse"
    rule firing. Example (risk-formulas §5): 427,713.32 / 1,030,895.56 = 41.49 %.
    """
    mm, mb = as_float(total_mm), as_float(margin_balance)
    with quiet():
        out = np.where(mb > 0, mm / mb, np.inf)
        out = np.where(np.isnan(mm) | np.isnan(mb), np.nan, out)
    return like(total_mm, out)


def headroom(total_mm: Num, margin_balance: Num | float) -> Num:
    """Headroom = margin balance − Σ MM, in margin currency: the loss the account can still take."""
    return like(total_mm, as_float(margin_balance) - as_float(total_mm))


def headroom_fraction(total_mm: Num, margin_balance: Num | float) -> Num:
    """Headroom fraction = 1 − margin ratio (−inf when margin balance ≤ 0, see `margin_ratio`)."""
    return like(total_mm, 1.0 - as_float(margin_ratio(as_float(total_mm), as_float(margin_balance))))
