"""Value at risk and expected shortfall: parametric (normal), two-leg var-cov, historical (§8).

Why several methods: the parametric number is instant and explainable, historical simulation
keeps the fat tails and the joint moves of spot, perp and funding that actually happened, and
Monte Carlo (`montecarlo.py`) adds paths (liquidation touches within the horizon). A desk reads
them side by side. VaR and ES are reported as positive losses in the currency of `value`.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
from scipy.special import ndtri
from scipy.stats import t as student_t

from monitor.risk._num import FloatArray, as_float, quiet
from monitor.risk.reasons import Reason

__all__ = [
    "VaRES",
    "historical_pnl",
    "historical_var_es",
    "parametric_var_es",
    "portfolio_sigma",
    "student_t_var_es",
    "two_leg_sigma",
]


class VaRES(msgspec.Struct, frozen=True, kw_only=True):
    """VaR and ES at `alpha` as positive losses; NaN unless `reason` is OK."""

    var: float
    es: float
    alpha: float
    reason: Reason


def _nan(alpha: float, reason: Reason) -> VaRES:
    return VaRES(var=math.nan, es=math.nan, alpha=alpha, reason=reason)


def parametric_var_es(sigma: float, value: float, alpha: float, horizon: float = 1.0) -> VaRES:
    """Normal VaR = z_α·σ·√T·|V|, ES = σ·√T·|V|·φ(z_α)/(1 − α); σ per period, T in periods.

    Example: σ_daily 3 %, V 1,000,000, α 0.99, T 1 → VaR 69,790, ES 79,956. σ = 0 is allowed
    (VaR 0: a cash position); σ < 0, α ∉ (0, 1) or T < 0 give BAD_PARAMETER.
    """
    if not all(math.isfinite(x) for x in (sigma, value, alpha, horizon)):
        return _nan(alpha, Reason.NAN_INPUT)
    if not (0.0 < alpha < 1.0) or sigma < 0 or horizon < 0:
        return _nan(alpha, Reason.BAD_PARAMETER)
    z = float(ndtri(alpha))
    scale = sigma * math.sqrt(horizon) * abs(value)
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return VaRES(var=z * scale, es=scale * pdf / (1.0 - alpha), alpha=alpha, reason=Reason.OK)


def student_t_var_es(sigma: float, value: float, alpha: float, nu: float, horizon: float = 1.0) -> VaRES:
    """VaR/ES for a unit-variance Student-t(ν) return with sd σ (GARCH-t's one-step distribution).

    VaR = |V|·σ√T·q·s, ES = |V|·σ√T·s·f_ν(q)/(1 − α)·(ν + q²)/(ν − 1), q = t_ν⁻¹(α),
    s = √((ν − 2)/ν) rescales the t to unit variance. ν ≤ 2 has no variance: BAD_PARAMETER.
    """
    if not all(math.isfinite(x) for x in (sigma, value, alpha, nu, horizon)):
        return _nan(alpha, Reason.NAN_INPUT)
    if not (0.0 < alpha < 1.0) or sigma < 0 or horizon < 0 or nu <= 2.0:
        return _nan(alpha, Reason.BAD_PARAMETER)
    q = float(student_t.ppf(alpha, nu))
    unit = math.sqrt((nu - 2.0) / nu)
    scale = sigma * math.sqrt(horizon) * abs(value) * unit
    es = scale * float(student_t.pdf(q, nu)) / (1.0 - alpha) * (nu + q * q) / (nu - 1.0)
    return VaRES(var=scale * q, es=es, alpha=alpha, reason=Reason.OK)


def two_leg_sigma(w_s: float, w_f: float, sigma_s: float, sigma_f: float, rho: float) -> float:
    """σ_p = √(w_s²σ_s² + w_f²σ_f² + 2 w_s w_f ρ σ_s σ_f), weights in currency → σ_p in currency.

    Why it matters: a delta-neutral book (w_s = 1, w_f = −1) is not riskless; its σ_p is the
    basis volatility, and its VaR is basis VaR (seed 003), not zero. NaN for |ρ| > 1 or σ < 0.
    """
    if not (-1.0 <= rho <= 1.0) or sigma_s < 0 or sigma_f < 0:
        return math.nan
    var = (
        w_s * w_s * sigma_s * sigma_s
        + w_f * w_f * sigma_f * sigma_f
        + 2.0 * w_s * w_f * rho * sigma_s * sigma_f
    )
    return math.sqrt(max(var, 0.0)) if math.isfinite(var) else math.nan


def portfolio_sigma(exposures: FloatArray, cov: FloatArray) -> float:
    """σ_p = √(wᵀ Σ w) for currency exposures w and a return covariance Σ (any number of legs)."""
    w, c = as_float(exposures).ravel(), as_float(cov)
    if c.shape != (w.size, w.size):
        return math.nan
    var = float(w @ c @ w)
    return math.sqrt(var) if var >= 0 else math.nan


def historical_pnl(returns: FloatArray, exposures: FloatArray, *, log_returns: bool = True) -> FloatArray:
    """PnL of today's exposures under each past joint return row: Σ_j w_j·(e^{r_ij} − 1).

    `returns` is (N scenarios × k legs), `exposures` (k,) in currency, e.g. spot and perp value
    per asset. Funding can enter as a leg whose "return" is the per-period rate on a perp
    notional with `log_returns=False`. A row with any NaN gives NaN PnL (dropped by VaR).
    """
    return scenario_pnl(simple_returns(returns, log_returns=log_returns), exposures)


def simple_returns(returns: FloatArray, *, log_returns: bool = True) -> FloatArray:
    """e^r − 1 of log returns (the returns as they are otherwise): the factor `historical_pnl` applies.

    Apart so a caller holding the same return history tick after tick converts it once.
    """
    r = as_float(returns)
    with quiet():
        return np.expm1(r) if log_returns else r


def scenario_pnl(simple: FloatArray, exposures: FloatArray) -> FloatArray:
    """Σ_j w_j·s_ij per scenario row of simple returns `simple` (see `historical_pnl`)."""
    return np.asarray(as_float(simple) @ as_float(exposures).ravel(), dtype=np.float64)


def _linear_quantile(x: FloatArray, p: float) -> float:
    """`np.quantile(x, p)` (linear method) by partial selection of the two order statistics it needs.

    A full sort of thousands of scenarios every tick is most of historical VaR's cost; selecting the
    two neighbours is O(n) and gives the same interpolated value.
    """
    h = p * (x.size - 1)
    lo = int(np.floor(h))
    hi = min(lo + 1, x.size - 1)
    part = np.partition(x, (lo, hi)) if hi != lo else np.partition(x, lo)
    a, b = float(part[lo]), float(part[hi])
    t = h - lo
    # numpy's lerp: from the nearer end, so an interpolation that lands on a sample is that sample
    return b - (b - a) * (1.0 - t) if t >= 0.5 else a + (b - a) * t


def historical_var_es(pnl: FloatArray, alpha: float, *, min_obs: int = 20) -> VaRES:
    """VaR = −quantile_{1−α}(PnL), ES = −mean(PnL | PnL ≤ −VaR) over the finite scenarios."""
    if not (0.0 < alpha < 1.0):
        return _nan(alpha, Reason.BAD_PARAMETER)
    x = as_float(pnl).ravel()
    x = x[np.isfinite(x)]
    if x.size < max(min_obs, 1):
        return _nan(alpha, Reason.EMPTY_HISTORY)
    q = _linear_quantile(x, 1.0 - alpha)
    tail = x[x <= q]
    return VaRES(var=-q, es=-float(np.mean(tail)), alpha=alpha, reason=Reason.OK)
