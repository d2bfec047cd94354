"""Funding: interval-aware annualisation, payments, book carry, spreads and the at-cap stress (§3).

Why the interval is an argument everywhere: it is per symbol (8, 4, 2, 1 h …) and venues change
it; writing `× 3 × 365` (seed 003) is right only for 8 h and overstates nothing but
understates an hourly symbol's carry 8×. An interval ≤ 0 or NaN gives NaN, never a default.
"""

from __future__ import annotations

import numpy as np

from monitor.risk._num import FloatArray, Num, as_float, like, quiet

__all__ = [
    "annualised_funding",
    "book_carry_per_day",
    "carry_per_day",
    "funding_payment",
    "funding_spread",
    "funding_stress_cost",
]


def annualised_funding(rate: Num, interval_h: Num | float) -> Num:
    """Annualised rate = r·(24/h)·365. Example: 0.0001 per 8 h → 0.1095; per 1 h → 0.876."""
    r, h = as_float(rate), as_float(interval_h)
    with quiet():
        out = np.where(h > 0, r * (24.0 / h) * 365.0, np.nan)
    return like(rate, out)


def funding_payment(q: Num, mark: Num | float, rate: Num | float) -> Num:
    """Payment received at settlement = −q·mark·r (longs pay shorts when r > 0)."""
    out = -as_float(q) * as_float(mark) * as_float(rate)
    with quiet():
        out = np.where(as_float(mark) > 0, out, np.nan)
    return like(q, out)


def carry_per_day(q: Num, mark: Num | float, rate: Num | float, interval_h: Num | float) -> Num:
    """Funding received per day by each position at the current rate: −q·mark·r·24/h."""
    h, p = as_float(interval_h), as_float(mark)
    with quiet():  # funding_payment·24/h in one pass; minimum propagates NaN (mark > 0 and h > 0)
        out = np.where(np.minimum(p, h) > 0, -as_float(q) * p * as_float(rate) * 24.0 / h, np.nan)
    return like(q, out)


def book_carry_per_day(q: FloatArray, mark: FloatArray, rate: FloatArray, interval_h: FloatArray) -> float:
    """Carry per day of the book = Σ −q_i·mark_i·r_i·24/h_i; NaN if any position's inputs are bad.

    Why NaN and not a partial sum: a missing rate on a large position would make the book look
    cheaper to hold than it is.
    """
    return float(np.sum(carry_per_day(as_float(q), as_float(mark), as_float(rate), as_float(interval_h))))


def funding_spread(
    rate_a: Num, interval_h_a: Num | float, rate_b: Num | float, interval_h_b: Num | float
) -> Num:
    """Cross-venue spread, annualised: r_A·(24/h_A)·365 − r_B·(24/h_B)·365."""
    a = as_float(annualised_funding(as_float(rate_a), as_float(interval_h_a)))
    b = as_float(annualised_funding(as_float(rate_b), as_float(interval_h_b)))
    return like(rate_a, a - b)


def funding_stress_cost(
    q: Num, mark: Num | float, cap: Num | float, interval_h: Num | float, days: float
) -> Num:
    """Cost (≥ 0) of funding pinned at |cap| against each position for `days`: N·|cap|·|q|·mark.

    N = days·24/h intervals per symbol. Why per position and against each one: the stress asks
    what happens if every rate turns the wrong way for us at once (BTCUSDT sat at −0.30 %/8 h
    on 2020-03-13). Sum the result for the book.
    """
    h, p = as_float(interval_h), as_float(mark)
    with quiet():
        n = days * 24.0 / h
        out = np.where(
            (h > 0) & (p > 0) & (days >= 0), n * np.abs(as_float(cap)) * np.abs(as_float(q)) * p, np.nan
        )
    return like(q, out)
