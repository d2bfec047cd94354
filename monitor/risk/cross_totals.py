"""A cross account's other contracts, summed per position: TMM1 and UPNL1 of the LP formula.

Split from `liquidation.py` (the LP solvers) because it is a job of its own that every margin
model's cross LP needs (Binance's, the inverse contracts', OKX's): each position's account total
less its own contract's, in one pass over the book, with NaN and ±inf kept honest.
"""

from __future__ import annotations

import numpy as np

from monitor.risk._num import BoolArray, FloatArray, IntArray, as_float

__all__ = ["cross_others"]


def cross_others(
    account: IntArray, mm: FloatArray, upnl: FloatArray, group: IntArray | None = None
) -> tuple[FloatArray, FloatArray]:
    """TMM1 and UPNL1 for each position: its cross account's totals less its contract's (0 where account < 0).

    `group` numbers the contracts (both hedge legs of one symbol share one LP, so neither counts
    the other among the "others"); by default each position is its own. The result is what summing
    the other contracts' terms gives, one NaN among them making it NaN (an unknown MM makes every
    other LP in the account unknown rather than silently too optimistic), ±inf as it adds up; a
    position's own NaN does not spread to its own figure. Linear in positions: the account's sum less
    the contract's, which differs from summing the others one by one only by rounding.
    """
    a = np.asarray(account, dtype=np.intp)
    m, u = as_float(mm), as_float(upnl)
    cross = a >= 0
    if not np.any(cross):
        return np.zeros(m.shape), np.zeros(u.shape)
    idx = np.where(cross, a, 0)
    g = np.arange(a.size) if group is None else np.asarray(group, dtype=np.intp)
    g = np.where(cross, g, 0)
    n_a, n_g = int(idx.max()) + 1, int(g.max()) + 1
    out: list[FloatArray] = []
    for v in (m, u):
        fin = np.isfinite(v) & cross
        o = _less_own(np.where(fin, v, 0.0), idx, g, n_a, n_g)
        if not fin[cross].all():
            o = _with_nonfinite(o, v, cross, idx, g, n_a, n_g)
        o[~cross] = 0.0
        out.append(o)
    return out[0], out[1]


def _less_own(w: FloatArray, idx: IntArray, g: IntArray, n_a: int, n_g: int) -> FloatArray:
    """Each position's account total of `w` less its contract's (both summed in position order)."""
    tot = np.asarray(np.bincount(idx, weights=w, minlength=n_a), dtype=np.float64)
    own = np.asarray(np.bincount(g, weights=w, minlength=n_g), dtype=np.float64)
    return np.asarray(tot.take(idx) - own.take(g), dtype=np.float64)


def _with_nonfinite(
    o: FloatArray, v: FloatArray, cross: BoolArray, idx: IntArray, g: IntArray, n_a: int, n_g: int
) -> FloatArray:
    """The others' sum where some terms are NaN or ±inf: NaN if one is NaN or both infinities meet."""

    def count(mask: BoolArray) -> FloatArray:
        return _less_own((mask & cross).astype(np.float64), idx, g, n_a, n_g)

    nan, pos, neg = count(np.isnan(v)), count(v == np.inf), count(v == -np.inf)
    o = np.where(pos > 0, np.inf, o)
    o = np.where(neg > 0, -np.inf, o)
    return np.where((nan > 0) | ((pos > 0) & (neg > 0)), np.nan, o)
