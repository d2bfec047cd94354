"""Collateral to add so that positions survive a given price shock (risk-formulas §6, "Top-up").

Why solve on the shocked book rather than invert the LP: at the shocked price the requirement is
simply "margin balance ≥ Σ MM", with MM re-tiered at the shocked notional. For an isolated short
this is exactly `WB_needed = LP_target·Q·(1 + mmr) − cum − Q·EP` of the spec, for a long the
mirror form; for cross it shocks every position of the account together. Equity − MM is concave
along a uniform shock, so surviving the end point means surviving the whole move.

The margin-call trap (seed 003): a long-spot/short-perp book's spot gain sits in custody, so only
the exchange account's positions count here.
"""

from __future__ import annotations

import numpy as np

from monitor.risk._num import FloatArray, IntArray, as_float, quiet
from monitor.risk.tiers import TierTable, table_maintenance_margin, tier_mm_open

__all__ = ["bybit_topup_cross", "bybit_topup_isolated", "topup_cross", "topup_isolated"]


def topup_isolated(
    q: FloatArray,
    entry: FloatArray,
    mark: FloatArray,
    wallet: FloatArray,
    table: TierTable,
    sym: IntArray,
    shock: float | FloatArray,
) -> FloatArray:
    """Top-up per isolated position to survive an adverse move of `shock` (0.2 = 20 %) against it.

    A long is tested at mark·(1 − shock), a short at mark·(1 + shock); the result is
    max(0, MM(P*) − UPnL(P*) − wallet). NaN for bad input or a missing tier; 0 for no position.
    """
    qq, e, p, w = as_float(q), as_float(entry), as_float(mark), as_float(wallet)
    x = as_float(shock)
    with quiet():
        shocked = p * (1.0 - np.sign(qq) * x)
        mm, tier = table_maintenance_margin(table, sym, np.abs(qq) * shocked)
        need = mm - qq * (shocked - e) - w
        out = np.maximum(need, 0.0)
        if x.ndim == 0 and x >= 0 and qq.ndim and qq.size and e.min() > 0 and p.min() > 0 and np.all(qq):
            # the usual book: a missing tier already made `need` NaN, so only these can fail
            out[~(np.isfinite(need) & (shocked > 0))] = np.nan
            return out
        bad = ~np.isfinite(need) | (tier < 0) | (e <= 0) | (p <= 0) | (x < 0) | (shocked <= 0)
    return np.where(qq == 0, np.where(np.isfinite(w), 0.0, np.nan), np.where(bad, np.nan, out))


def topup_cross(
    account: IntArray,
    q: FloatArray,
    entry: FloatArray,
    shocked_mark: FloatArray,
    wallet: FloatArray,
    table: TierTable,
    sym: IntArray,
) -> FloatArray:
    """Top-up per cross account (index = account id) so margin balance ≥ Σ MM at `shocked_mark`.

    `wallet[a]` is account a's cross wallet; pass each position's shocked mark (e.g.
    `mark * (1 + s)` for a uniform move s, or a scenario's per-symbol prices). NaN for an account
    with any unpriceable position: a partial sum would understate the need.
    """
    a = np.asarray(account, dtype=np.intp)
    qq, e, ps, w = as_float(q), as_float(entry), as_float(shocked_mark), as_float(wallet)
    with quiet():
        mm, tier = table_maintenance_margin(table, sym, np.abs(qq) * ps)
        mm = np.where(qq == 0, 0.0, np.where((tier < 0) | (e <= 0) | (ps <= 0), np.nan, mm))
        upnl = np.where(qq == 0, 0.0, np.where((e > 0) & (ps > 0), qq * (ps - e), np.nan))
        n = w.size
        ok = (a >= 0) & (a < n)
        tot_mm = np.bincount(a[ok], weights=mm[ok], minlength=n)
        tot_upnl = np.bincount(a[ok], weights=upnl[ok], minlength=n)
        need = tot_mm - tot_upnl - w
    return np.where(np.isfinite(need), np.maximum(need, 0.0), np.nan)


def bybit_topup_isolated(
    mm: FloatArray,
    q: FloatArray,
    entry: FloatArray,
    mark: FloatArray,
    wallet: FloatArray,
    shock: float,
    table: TierTable,
    sym: IntArray,
) -> FloatArray:
    """Bybit's isolated top-up: max(0, MM(P*) − balance − q·(P* − EP)), P* = mark·(1 − sign(q)·shock).

    MM(P*) is on the shocked value, re-tiered there and floored at 0, as Bybit values it since
    2025-09-02 (it was held at the entry value before: docs/venues/bybit-linear.md). `mm` is the
    leg's MM as priced now: NaN (a missing tier) makes the top-up NaN, which the caller names.
    NaN too where the shocked book cannot be priced (mark, P*, EP ≤ 0 or NaN, balance not finite).
    """
    m, qq, e, p, w = as_float(mm), as_float(q), as_float(entry), as_float(mark), as_float(wallet)
    rows = np.where(np.isfinite(m), np.asarray(sym, dtype=np.intp), -1)
    with quiet():
        shocked = p * (1.0 - np.copysign(shock, qq))
        mm_s = np.maximum(tier_mm_open(table, rows, np.abs(qq) * shocked), 0.0)
        need = mm_s - w - qq * (shocked - e)
        ok = (p > 0) & (shocked > 0) & (e > 0) & np.isfinite(w) & np.isfinite(mm_s)
    return np.where(ok, np.where(need > 0.0, need, 0.0), np.nan)


def bybit_topup_cross(
    account: IntArray,
    mm: FloatArray,
    q: FloatArray,
    entry: FloatArray,
    mark: FloatArray,
    wallet: FloatArray,
    shock: float,
    table: TierTable,
    sym: IntArray,
) -> FloatArray:
    """Bybit's cross top-up per account (index = account id): the worse of a uniform move up and down
    of ΣMM(P*) − wallet − Σ q·(P* − EP), P* = mark·(1 ± shock), floored at 0 (a NaN side counts as 0,
    as `max(0, x)` reads it). Each leg's MM is re-valued and re-tiered at its shocked mark (Bybit since
    2025-09-02); `mm` (NaN: a missing tier) only says which legs have tiers. Sums run in position order.
    """
    a = np.asarray(account, dtype=np.intp)
    m, qq, e, p, w = as_float(mm), as_float(q), as_float(entry), as_float(mark), as_float(wallet)
    rows = np.where(np.isfinite(m), np.asarray(sym, dtype=np.intp), -1)
    n = w.size
    worst = np.zeros(n)
    with quiet():
        for s in (shock, -shock):
            ps = p * (1.0 + s)
            mm_s = np.maximum(tier_mm_open(table, rows, np.abs(qq) * ps), 0.0)
            tot_mm = np.bincount(a, weights=mm_s, minlength=n)
            upnl = np.bincount(a, weights=qq * (ps - e), minlength=n)
            x = tot_mm - w - upnl
            worst = np.where(x > worst, x, worst)
    return worst
