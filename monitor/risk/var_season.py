"""The hour-of-day volatility profile of intraday returns: a deterministic seasonal scale for GARCH.

Why: intraday crypto volatility follows the clock (the US and European opens, the daily funding
and options expiries, the quiet Asian night); a GARCH recursion fed raw hourly returns reads each
busy hour as news and each quiet one as calm, so its σ lags the clock every day and its exceptions
cluster at the same hours. A risk desk's standard fix (Andersen & Bollerslev 1997) divides each
return by a deterministic factor of its hour, r_t = s_{h(t)}·ε_t, models ε with GARCH and
multiplies the forecast back: σ_t = s_{h(t)}·σ_ε,t.
The factor is the mean absolute return of the hour over the fitting window, scaled so that the
mean of s² over the hours is 1: s_h = m_h / √(mean_k m_k²), m_h = mean |r| over returns in hour h.
Mean absolute rather than squared returns, so one crash hour does not set a year's profile. It is
estimated only on returns before the forecast (the caller passes the fitting window), and is
all ones (no seasonality) unless every hour has `MIN_PER_BIN` returns there: a profile from a few
days would be noise dressed as a pattern.
"""

from __future__ import annotations

import numpy as np

from monitor.risk._num import FloatArray, IntArray, as_float

__all__ = ["HOURS", "MIN_PER_BIN", "hour_of_day", "seasonal_profile"]

HOURS = 24
MIN_PER_BIN = 20  # returns per hour of day in the fitting window before a profile is used


def hour_of_day(times_s: FloatArray) -> IntArray:
    """UTC hour (0–23) of each timestamp in seconds."""
    t = np.floor(as_float(times_s) / 3600.0)
    return np.asarray(np.mod(t, HOURS), dtype=np.intp)


def seasonal_profile(
    returns: FloatArray, phases: IntArray, bins: int = HOURS, min_per_bin: int = MIN_PER_BIN
) -> FloatArray:
    """s per bin (mean of s² over bins = 1) from the finite returns and their bins; ones if too few.

    Example: bins 0 and 1 with |r| averaging 1 and 3 → m = (1, 3), √(mean m²) = √5 →
    s = (0.447, 1.342).
    """
    r, ph = as_float(returns).ravel(), np.asarray(phases, dtype=np.intp).ravel()
    ok = np.isfinite(r) & (ph >= 0) & (ph < bins)
    count = np.bincount(ph[ok], minlength=bins)[:bins]
    if count.size == 0 or int(count.min()) < min_per_bin:
        return np.ones(bins)
    m = np.bincount(ph[ok], weights=np.abs(r[ok]), minlength=bins)[:bins] / count
    norm = float(np.sqrt(np.mean(m * m)))
    if not (norm > 0 and np.all(m > 0)):
        return np.ones(bins)
    return np.asarray(m / norm, dtype=np.float64)
