"""Rolling one-period VaR forecasts of three models and their Kupiec POF backtest (risk-formulas §8).

Why here and not in a test: `perpmon backtest-var` and the shipped-history test must run the
same models on the same days, so a printed verdict is the tested one. For a unit long position,
in log-return terms, the forecast for day t uses returns before t only:
  * EWMA-normal: σ²_t from the RiskMetrics recursion (λ 0.94), VaR = z_α σ_t;
  * historical: the α-quantile loss of the last `window` returns;
  * GARCH(1,1)-t: fitted on returns before `start`, refitted on the expanding window every
    `refit_every` days (warm-started), the recursion stepped in between; VaR from the unit-
    variance t(ν).
All three are scored on the same days (t ≥ start), so their exception counts compare.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
from scipy.special import ndtri

from monitor.risk._num import FloatArray, as_float
from monitor.risk.backtest import Kupiec, count_exceptions, kupiec_pof
from monitor.risk.garch import fit_garch, garch_step
from monitor.risk.var import historical_var_es, student_t_var_es
from monitor.risk.volatility import ewma_variance_path

__all__ = ["BacktestResult", "GarchPath", "garch_path", "var_backtest", "var_forecasts"]


class BacktestResult(msgspec.Struct, frozen=True, kw_only=True):
    """One model at one confidence: its Kupiec POF result on `kupiec.n` days."""

    model: str
    alpha: float
    kupiec: Kupiec


class GarchPath(msgspec.Struct, frozen=True, kw_only=True):
    """Per scored day: the forecast variance and the ν of the fit in force; `refits` counts fits."""

    sigma2: FloatArray
    nu: FloatArray
    refits: int


def garch_path(r: FloatArray, start: int, refit_every: int = 100) -> GarchPath:
    """GARCH-t variance forecasts for days start … n−1 (a failed fit leaves NaN, never a guess)."""
    n = r.size
    s2_out = np.full(n - start, np.nan)
    nu_out = np.full(n - start, np.nan)
    p = fit_garch(r[:start])
    s2 = p.sigma2_next
    refits = 1
    for i, t in enumerate(range(start, n)):
        if i and i % refit_every == 0:
            p = fit_garch(r[:t], starting=p)
            s2 = p.sigma2_next
            refits += 1
        s2_out[i], nu_out[i] = s2, p.nu
        s2 = garch_step(p, s2, float(r[t]))
    return GarchPath(sigma2=s2_out, nu=nu_out, refits=refits)


def var_forecasts(
    returns: FloatArray,
    alpha: float,
    *,
    start: int,
    window: int = 250,
    lam: float = 0.94,
    garch: GarchPath | None = None,
    refit_every: int = 100,
) -> dict[str, FloatArray]:
    """VaR (positive loss, log-return units) per model for days start … n−1 of finite `returns`."""
    r = as_float(returns)
    n = r.size
    z = float(ndtri(alpha))
    ewma = np.sqrt(ewma_variance_path(r, lam)[start:n]) * z
    hist = np.array([historical_var_es(r[t - window : t], alpha).var for t in range(start, n)])
    g = garch if garch is not None else garch_path(r, start, refit_every)
    gvar = np.array(
        [student_t_var_es(math.sqrt(s2), 1.0, alpha, nu).var for s2, nu in zip(g.sigma2, g.nu, strict=True)]
    )
    return {"ewma_normal": ewma, f"historical_{window}d": hist, "garch_t": gvar}


def var_backtest(
    returns: FloatArray,
    alphas: tuple[float, ...] = (0.95, 0.99),
    *,
    start: int = 1000,
    window: int = 250,
    lam: float = 0.94,
    refit_every: int = 100,
) -> list[BacktestResult]:
    """Kupiec POF per model and confidence.

    Needs finite returns (a gap would shift EWMA against the days) and max(window, 100) ≤ start <
    len(returns); otherwise every result is NaN with reason BAD_PARAMETER (never raises).
    """
    r = as_float(returns)
    if not (max(window, 100) <= start < r.size) or not np.all(np.isfinite(r)):
        models = ("ewma_normal", f"historical_{window}d", "garch_t")
        return [BacktestResult(model=m, alpha=a, kupiec=kupiec_pof(0, 0, a)) for a in alphas for m in models]
    g = garch_path(r, start, refit_every)
    out: list[BacktestResult] = []
    for alpha in alphas:
        for model, var in var_forecasts(r, alpha, start=start, window=window, lam=lam, garch=g).items():
            x, n = count_exceptions(r[start:], var)
            out.append(BacktestResult(model=model, alpha=alpha, kupiec=kupiec_pof(x, n, alpha)))
    return out
