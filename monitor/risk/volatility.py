"""Returns on a regular grid, EWMA variance and annualisation (risk-formulas §7).

Why a grid: ticks arrive irregularly and in bursts; tick-to-tick returns overweight busy
moments and make "per period" meaningless. `resample_last` takes the last value at or before
each grid point (never a future one), so returns are on a fixed step and volatility can be
annualised by √(periods per year).

GARCH(1,1)-t lives in `garch.py` (fit separated from the per-tick recursion).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from monitor.risk._num import FloatArray, Num, as_float, like, quiet

__all__ = [
    "annualise_vol",
    "ewma_update",
    "ewma_variance",
    "ewma_variance_path",
    "log_returns",
    "periods_per_year",
    "resample_last",
]

RISKMETRICS_LAMBDA = 0.94


def resample_last(
    ts_ns: npt.NDArray[np.int64],
    values: FloatArray,
    step_ns: int,
    end_ns: int,
    n: int,
    *,
    max_age_ns: int | None = None,
) -> FloatArray:
    """Sample (ts, value) points onto the grid end_ns − (n−1)·step_ns, …, end_ns (oldest first).

    Each grid point takes the last value with ts ≤ grid point; NaN before the first sample and,
    with `max_age_ns`, where that value is older than max_age_ns (a dead feed must not look like
    a flat, zero-volatility price). Unsorted input is sorted first (stable). Returns n values
    (all NaN for step_ns ≤ 0; empty for n ≤ 0).
    """
    if n <= 0:
        return np.zeros(0)
    if step_ns <= 0:
        return np.full(n, np.nan)
    ts = np.asarray(ts_ns, dtype=np.int64)
    v = as_float(values)
    if ts.size and np.any(np.diff(ts) < 0):
        order = np.argsort(ts, kind="stable")
        ts, v = ts[order], v[order]
    grid = np.int64(end_ns) - np.int64(step_ns) * np.arange(n - 1, -1, -1, dtype=np.int64)
    idx = np.searchsorted(ts, grid, side="right") - 1
    have = idx >= 0
    out = np.where(have, v[np.maximum(idx, 0)] if v.size else np.nan, np.nan)
    if max_age_ns is not None and ts.size:
        out = np.where(have & (grid - ts[np.maximum(idx, 0)] > max_age_ns), np.nan, out)
    return out


def log_returns(values: FloatArray) -> FloatArray:
    """ln(v[k+1] / v[k]) along the first axis; NaN where either value is NaN or ≤ 0."""
    v = as_float(values)
    with quiet():
        lv = np.where(v > 0, np.log(v), np.nan)
    return np.diff(lv, axis=0)


def _init(r: FloatArray, init: float | None) -> float:
    if init is not None:
        return float(init)
    head = r[:20]
    return float(np.mean(head * head)) if head.size else math.nan


def ewma_variance_path(
    returns: FloatArray, lam: float = RISKMETRICS_LAMBDA, init: float | None = None
) -> FloatArray:
    """σ²_t = λσ²_{t−1} + (1 − λ)r²_{t−1} over the finite returns; length (finite returns) + 1.

    Element 0 is `init` (default: mean r² of the first 20 returns, RiskMetrics style); the last
    element is the forecast for the next period. NaN returns are skipped (a grid gap neither
    decays nor feeds the variance). Bad λ or no finite return → all NaN.
    """
    r = as_float(returns).ravel()
    r = r[np.isfinite(r)]
    if not (0.0 < lam < 1.0) or r.size == 0:
        return np.full(r.size + 1, np.nan)
    s0 = _init(r, init)
    path = lfilter([0.0, 1.0 - lam], [1.0, -lam], np.append(r * r, 0.0), zi=[s0])[0]
    return np.asarray(path, dtype=np.float64)


def ewma_variance(returns: FloatArray, lam: float = RISKMETRICS_LAMBDA, init: float | None = None) -> float:
    """The EWMA variance forecast for the next period (last element of `ewma_variance_path`)."""
    return float(ewma_variance_path(returns, lam, init)[-1])


def ewma_update(sigma2: Num, r: Num | float, lam: float = RISKMETRICS_LAMBDA) -> Num:
    """One tick for many series: λσ² + (1 − λ)r², keeping σ² where r is NaN (a missed bar)."""
    s, rr = as_float(sigma2), as_float(r)
    if not (0.0 < lam < 1.0):
        return like(sigma2, np.full(np.broadcast(s, rr).shape, np.nan))
    out = np.where(np.isfinite(rr), lam * s + (1.0 - lam) * rr * rr, s)
    return like(sigma2, out)


def periods_per_year(step_s: float) -> float:
    """Grid periods in a 365-day year: daily 365, hourly 8,760, 1-min 525,600; NaN for step ≤ 0."""
    return 365.0 * 86_400.0 / step_s if step_s > 0 else math.nan


def annualise_vol(sigma_period: Num, periods: float) -> Num:
    """σ_ann = σ_period·√(periods per year)."""
    s = as_float(sigma_period)
    out = s * math.sqrt(periods) if periods > 0 else np.full(s.shape, np.nan)
    return like(sigma_period, out)
