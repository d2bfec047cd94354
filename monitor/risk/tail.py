"""Tail models on GARCH-standardised residuals: filtered historical simulation and an EVT (GPD) tail.

Why: a GARCH-t forecast gets the volatility clustering right but forces one t(ν) shape on every
tail; plain historical simulation keeps the real tail shape but ignores that today is calmer or
wilder than the window. Standardising the returns by the GARCH σ and rescaling by today's σ keeps
both (Barone-Adesi et al. 1999, "filtered historical simulation"). Beyond the data, peaks over a
threshold follow a generalised Pareto law (Pickands–Balkema–de Haan), which extrapolates the 99 %
quantile from the 10 % largest losses instead of from a handful of points (McNeil & Frey 2000,
"conditional EVT"):
  VaR_z = u + β/ξ·((n/N_u·(1 − α))^(−ξ) − 1),   ES_z = (VaR_z + β − ξ·u)/(1 − ξ)   (ξ < 1),
with u the threshold loss, N_u the exceedances among n residuals, (ξ, β) fitted by maximum
likelihood; ξ → 0 takes the exponential limit VaR_z = u + β·ln(N_u/(n·(1 − α))).
All quantities are in units of σ (residual losses); multiply by the σ forecast.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
from scipy.stats import genpareto

from monitor.risk._num import FloatArray, as_float
from monitor.risk.reasons import Reason
from monitor.risk.var import VaRES, historical_var_es

__all__ = ["GpdTail", "fhs_var_es", "fit_gpd_tail", "gpd_var_es"]

THRESHOLD_QUANTILE = 0.90  # the 10 % largest losses feed the tail (McNeil & Frey use ~10 %)
MIN_EXCEEDANCES = 30


class GpdTail(msgspec.Struct, frozen=True, kw_only=True):
    """A fitted loss tail of standardised residuals; NaN fields unless `reason` is OK."""

    u: float  # threshold loss (σ units)
    xi: float  # shape: > 0 heavy (Pareto-like) tail
    beta: float  # scale
    n: int  # residuals behind the fit
    n_u: int  # of which above u
    reason: Reason


def fhs_var_es(z: FloatArray, alpha: float, *, min_obs: int = 100) -> VaRES:
    """VaR and ES of one unit of σ from the empirical standardised residuals (positive losses)."""
    return historical_var_es(z, alpha, min_obs=min_obs)


def fit_gpd_tail(z: FloatArray, *, threshold_q: float = THRESHOLD_QUANTILE) -> GpdTail:
    """Fit a GPD to the losses (−z) above their `threshold_q` quantile."""
    loss = -as_float(z).ravel()
    loss = loss[np.isfinite(loss)]
    nan = math.nan
    if loss.size * (1.0 - threshold_q) < MIN_EXCEEDANCES:
        return GpdTail(u=nan, xi=nan, beta=nan, n=int(loss.size), n_u=0, reason=Reason.EMPTY_HISTORY)
    u = float(np.quantile(loss, threshold_q))
    y = loss[loss > u] - u
    try:
        xi, _, beta = genpareto.fit(y, floc=0.0)
    except (ValueError, RuntimeError, FloatingPointError):
        return GpdTail(u=u, xi=nan, beta=nan, n=int(loss.size), n_u=int(y.size), reason=Reason.FIT_FAILED)
    if not (math.isfinite(xi) and math.isfinite(beta) and beta > 0):
        return GpdTail(u=u, xi=nan, beta=nan, n=int(loss.size), n_u=int(y.size), reason=Reason.FIT_FAILED)
    return GpdTail(u=u, xi=float(xi), beta=float(beta), n=int(loss.size), n_u=int(y.size), reason=Reason.OK)


def gpd_var_es(tail: GpdTail, alpha: float) -> VaRES:
    """VaR/ES (σ units) at α from a fitted tail; α must lie beyond the threshold (1 − α < N_u/n)."""
    nan = math.nan
    if tail.reason != Reason.OK:
        return VaRES(var=nan, es=nan, alpha=alpha, reason=tail.reason)
    p, share = 1.0 - alpha, tail.n_u / tail.n
    if not (0.0 < p < share):
        return VaRES(var=nan, es=nan, alpha=alpha, reason=Reason.BAD_PARAMETER)
    xi, beta, u = tail.xi, tail.beta, tail.u
    var = u + beta * math.log(share / p) if abs(xi) < 1e-9 else u + beta / xi * ((p / share) ** (-xi) - 1.0)
    es = (var + beta - xi * u) / (1.0 - xi) if xi < 1.0 else math.inf  # ξ ≥ 1: the mean loss is infinite
    return VaRES(var=var, es=es, alpha=alpha, reason=Reason.OK)
