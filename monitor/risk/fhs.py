"""Filtered historical simulation of a portfolio: each leg's past returns rescaled to today's volatility.

Why: plain historical simulation replays the window's returns at the volatility they had, so a
quiet window under-states today's risk after a shock and a wild one over-states it for months.
Barone-Adesi, Giannopoulos & Vosper (1999) divide each return by the volatility forecast for its
own period and multiply by today's, per leg: r*_{t,j} = r_{t,j}·σ_{now,j}/σ_{t,j}. The rows stay
joint (row t of every leg is the same past moment), so the legs' dependence, the tail shape and a
hedged book's basis are kept; only the level of each leg's volatility moves to now.
σ is the EWMA (RiskMetrics λ = 0.94) path of the leg's own returns: σ_t the forecast made before
return t, σ_now the forecast for the next step (`ewma_variance_path`, first and last elements).
"""

from __future__ import annotations

import numpy as np

from monitor.risk._num import FloatArray, as_float, quiet
from monitor.risk.volatility import RISKMETRICS_LAMBDA, ewma_variance_path

__all__ = ["fhs_rescale"]


def fhs_rescale(returns: FloatArray, lam: float = RISKMETRICS_LAMBDA) -> FloatArray:
    """Rows × legs of finite returns → the same rows, each leg scaled by σ_now / σ_t.

    An entry whose σ_t is not positive (no movement yet at the start of the path) is NaN: its
    ratio is undefined, and the caller drops the row rather than replay it at infinite size.
    A leg whose path is NaN (bad λ) is NaN throughout.
    """
    r = as_float(returns)
    if r.ndim == 1:
        r = r[:, None]
    out = np.full(r.shape, np.nan)
    for j in range(r.shape[1]):
        path = ewma_variance_path(r[:, j], lam)
        if path.size != r.shape[0] + 1:  # a non-finite return: the rows would not line up with σ_t
            continue
        with quiet():
            sigma = np.sqrt(path)
            out[:, j] = np.where(sigma[:-1] > 0, r[:, j] * (sigma[-1] / sigma[:-1]), np.nan)
    return out
