"""Basis (spot − perp), its bps and the premium, and an Ornstein–Uhlenbeck fit of the basis (§2).

Why an OU fit: a hedged book earns or loses `q·ΔB`; whether today's basis is stretched depends on
where it reverts to and how fast. The fit is OLS of B[k+1] = a + b·B[k] + ε on a regular grid,
valid only for 0 < b < 1. Otherwise the process is not mean-reverting on this window, and every
derived figure is NaN with `mean_reverting=False` (a negative half-life is never reported).
"""

from __future__ import annotations

import math

import msgspec
import numpy as np

from monitor.risk._num import FloatArray, Num, as_float, like, quiet
from monitor.risk.reasons import Reason

__all__ = ["OUFit", "basis", "basis_bps", "ou_fit", "ou_zscore", "premium"]


def basis(spot: Num, perp: Num | float) -> Num:
    """B = spot − perp (seed convention; pass mark for the margin view, last for the trade view)."""
    s, p = as_float(spot), as_float(perp)
    with quiet():
        out = np.where((s > 0) & (p > 0), s - p, np.nan)
    return like(spot, out)


def basis_bps(spot: Num, perp: Num | float) -> Num:
    """Basis in bps of spot: (spot − perp) / spot × 10⁴."""
    s, p = as_float(spot), as_float(perp)
    with quiet():
        out = np.where((s > 0) & (p > 0), (s - p) / s * 1e4, np.nan)
    return like(spot, out)


def premium(mark: Num, index: Num | float) -> Num:
    """Premium = (mark − index) / index, as a fraction: the quantity funding is built from."""
    m, i = as_float(mark), as_float(index)
    with quiet():
        out = np.where((m > 0) & (i > 0), (m - i) / i, np.nan)
    return like(mark, out)


class OUFit(msgspec.Struct, frozen=True, kw_only=True):
    """OU parameters per second of the grid: dB = θ(μ − B)dt + σ dW. NaN unless mean_reverting."""

    theta: float  # 1/s
    mu: float
    sigma: float  # per √s
    half_life_s: float
    stationary_sd: float
    b: float  # the AR(1) slope, kept so a caller can see why a fit was rejected
    n_obs: int
    mean_reverting: bool
    reason: Reason


def _rejected(b: float, n: int, reason: Reason) -> OUFit:
    nan = math.nan
    return OUFit(
        theta=nan,
        mu=nan,
        sigma=nan,
        half_life_s=nan,
        stationary_sd=nan,
        b=b,
        n_obs=n,
        mean_reverting=False,
        reason=reason,
    )


def ou_fit(values: FloatArray, step_s: float, *, min_obs: int = 10) -> OUFit:
    """Fit OU to basis samples on a regular grid of `step_s` seconds (NaN samples drop their pairs).

    θ = −ln b / Δ, μ = a / (1 − b), σ = sd(ε)·√(2θ / (1 − b²)), half-life = ln 2 / θ,
    stationary sd = σ / √(2θ). sd(ε) uses ddof = 2 (two fitted coefficients).
    """
    x = as_float(values).ravel()
    if not (step_s > 0 and math.isfinite(step_s)):
        return _rejected(math.nan, 0, Reason.BAD_PARAMETER)
    x0, x1 = x[:-1], x[1:]
    keep = np.isfinite(x0) & np.isfinite(x1)
    x0, x1 = x0[keep], x1[keep]
    n = int(x0.size)
    if n < max(min_obs, 3):
        return _rejected(math.nan, n, Reason.EMPTY_HISTORY)
    d0 = x0 - x0.mean()
    sxx = float(d0 @ d0)
    if sxx == 0.0:
        return _rejected(math.nan, n, Reason.ZERO_VOLATILITY)
    b = float(d0 @ (x1 - x1.mean())) / sxx
    a = float(x1.mean()) - b * float(x0.mean())
    if not (0.0 < b < 1.0):
        return _rejected(b, n, Reason.NOT_MEAN_REVERTING)
    resid = x1 - (a + b * x0)
    sd_eps = math.sqrt(float(resid @ resid) / (n - 2))
    theta = -math.log(b) / step_s
    sigma = sd_eps * math.sqrt(2.0 * theta / (1.0 - b * b))
    return OUFit(
        theta=theta,
        mu=a / (1.0 - b),
        sigma=sigma,
        half_life_s=math.log(2.0) / theta,
        stationary_sd=sigma / math.sqrt(2.0 * theta),
        b=b,
        n_obs=n,
        mean_reverting=True,
        reason=Reason.OK,
    )


def ou_zscore(value: Num, fit: OUFit) -> Num:
    """z = (B − μ) / stationary sd; NaN when the fit is not mean-reverting or sd is 0."""
    v = as_float(value)
    ok = fit.mean_reverting and fit.stationary_sd > 0
    with quiet():
        out = (v - fit.mu) / fit.stationary_sd if ok else np.full(v.shape, np.nan)
    return like(value, out)
