"""GARCH(1,1) with Student-t innovations: fit with `arch`, step the recursion per tick (§7).

Why fit and step are separate: a fit costs 15–30 ms per symbol (performance-and-reliability
§A3), so it runs on a slow cadence off the event loop, while every tick only needs
σ²_{t+1} = ω + α r²_t + β σ²_t (≈ 1 µs for 600 symbols vectorised). `GarchParams` carries the
parameters in **raw return units** (ω divided by scale², since `arch` is fitted on 100·r for
numerical stability) so the per-tick code never sees the scale.

State convention: `sigma2` always means "the variance forecast for the next return". After a
fit that is `GarchParams.sigma2_next`; each new return r moves it on with `garch_step`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import msgspec
import numpy as np
from arch import arch_model

from monitor.risk._num import FloatArray, Num, as_float, like
from monitor.risk.reasons import Reason

__all__ = [
    "GarchArrays",
    "GarchParams",
    "fit_garch",
    "garch_filter",
    "garch_forecast",
    "garch_step",
    "has_params",
    "stack_garch",
]


class GarchParams(msgspec.Struct, frozen=True, kw_only=True):
    """One symbol's fitted GARCH(1,1)-t, in raw return units; NaN fields unless `reason` has a value."""

    omega: float
    alpha: float
    beta: float
    nu: float
    sigma2_last: float  # conditional variance of the last in-sample return
    sigma2_next: float  # forecast for the next return: ω + α r_T² + β σ²_T
    scale: float  # returns were multiplied by this for the fit (parameters here are unscaled)
    n_obs: int
    reason: Reason


class GarchArrays(NamedTuple):
    """Many symbols' parameters side by side, for the vectorised per-tick step."""

    omega: FloatArray
    alpha: FloatArray
    beta: FloatArray
    nu: FloatArray


def _failed(n: int, scale: float, reason: Reason) -> GarchParams:
    nan = math.nan
    return GarchParams(omega=nan, alpha=nan, beta=nan, nu=nan, sigma2_last=nan, sigma2_next=nan, scale=scale,
                       n_obs=n, reason=reason)  # fmt: skip


def fit_garch(
    returns: FloatArray, *, scale: float = 100.0, min_obs: int = 100, starting: GarchParams | None = None
) -> GarchParams:
    """Fit `arch_model(scale·r, mean="Zero", vol="GARCH", p=1, q=1, dist="t")`; NaN returns are dropped.

    `starting` warm-starts from a previous fit (≈2× faster). Reasons: EMPTY_HISTORY (< min_obs),
    ZERO_VOLATILITY, FIT_FAILED (optimiser error or non-finite parameters), and the warnings
    NOT_CONVERGED and NON_STATIONARY (α + β ≥ 1).
    """
    r = as_float(returns).ravel()
    r = r[np.isfinite(r)]
    n = int(r.size)
    if n < max(min_obs, 10):
        return _failed(n, scale, Reason.EMPTY_HISTORY)
    if float(np.max(np.abs(r))) == 0.0:
        return _failed(n, scale, Reason.ZERO_VOLATILITY)
    model = arch_model(scale * r, mean="Zero", vol="GARCH", p=1, q=1, dist="t", rescale=False)
    sv = None
    if starting is not None and has_params(starting):
        # arch ignores (with a warning) starting values on the α + β < 1 boundary, where crypto fits sit
        shrink = min(1.0, 0.998 / max(starting.alpha + starting.beta, 1e-12))
        sv = np.array([starting.omega * scale * scale, starting.alpha * shrink, starting.beta * shrink,
                       min(max(starting.nu, 2.1), 499.0)])  # fmt: skip
    try:
        res = model.fit(disp="off", show_warning=False, starting_values=sv)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError):
        return _failed(n, scale, Reason.FIT_FAILED)
    omega_s, alpha, beta, nu = (float(x) for x in np.asarray(res.params, dtype=np.float64))
    cond = np.asarray(res.conditional_volatility, dtype=np.float64)
    if not all(math.isfinite(x) for x in (omega_s, alpha, beta, nu, float(cond[-1]))):
        return _failed(n, scale, Reason.FIT_FAILED)
    omega = omega_s / (scale * scale)
    sigma2_last = float(cond[-1]) ** 2 / (scale * scale)
    reason = Reason.OK
    if alpha + beta >= 1.0 - 1e-9:  # fits of crypto returns often end on the IGARCH boundary
        reason = Reason.NON_STATIONARY
    if int(res.convergence_flag) != 0:
        reason = Reason.NOT_CONVERGED
    sigma2_next = omega + alpha * float(r[-1]) ** 2 + beta * sigma2_last
    return GarchParams(
        omega=omega, alpha=alpha, beta=beta, nu=nu, sigma2_last=sigma2_last, sigma2_next=sigma2_next,
        scale=scale, n_obs=n, reason=reason,
    )  # fmt: skip


def has_params(p: GarchParams) -> bool:
    """Tell whether a fit produced usable parameters (OK or a warning)."""
    return p.reason == Reason.OK or p.reason >= 64


def stack_garch(fits: list[GarchParams]) -> GarchArrays:
    """Stack per-symbol fits (NaN for failed ones) for `garch_step` over all symbols at once."""
    cols = [[getattr(f, k) for f in fits] for k in ("omega", "alpha", "beta", "nu")]
    return GarchArrays(*(np.array(c, dtype=np.float64) for c in cols))


def garch_step(params: GarchParams | GarchArrays, sigma2: Num, r: Num | float) -> Num:
    """σ²_{t+1} = ω + α·r_t² + β·σ²_t for the new return r_t; σ² is kept where r is NaN (missed bar)."""
    s, rr = as_float(sigma2), as_float(r)
    out = np.where(
        np.isfinite(rr),
        as_float(params.omega) + as_float(params.alpha) * rr * rr + as_float(params.beta) * s,
        s,
    )
    return like(sigma2, out)


def garch_filter(params: GarchParams, returns: FloatArray, sigma2_first: float) -> FloatArray:
    """Run the recursion over `returns` from σ² of the first one; length n + 1 (last = next forecast)."""
    r = as_float(returns).ravel()
    out = np.empty(r.size + 1)
    out[0] = sigma2_first
    w, a, b = params.omega, params.alpha, params.beta
    s = sigma2_first
    for i, x in enumerate(r.tolist()):
        s = w + a * x * x + b * s if math.isfinite(x) else s
        out[i + 1] = s
    return out


def garch_forecast(params: GarchParams, sigma2_next: float, horizon: int) -> FloatArray:
    """Variance forecasts for steps 1..horizon: v₁ = σ²_next, v_k = ω + (α + β)·v_{k−1}.

    Why this equals `arch`'s forecast: E[r²] = σ² for any unit-variance innovation (t included),
    so the multi-step forecast is the same linear recursion. Sum it for the horizon variance.
    """
    if horizon <= 0:
        return np.zeros(0)
    persistence = params.alpha + params.beta
    out = np.empty(horizon)
    v = sigma2_next
    for k in range(horizon):
        out[k] = v
        v = params.omega + persistence * v
    return out
