"""Rolling VaR/ES forecasts of five models and their backtests (risk-formulas §8, coverage.py).

Why here and not in a test: `perpmon backtest-var` and the shipped-history tests must run the
same models on the same steps, so a printed verdict is the tested one. For a unit long position,
in log-return terms, the forecast made at step t uses returns before t only:
  * ewma_normal: σ²_t from the RiskMetrics recursion (λ 0.94), VaR = z_α σ_t √h;
  * historical_W: the α-quantile loss of the h-step sums of the last W returns;
  * garch_t: GARCH(1,1)-t fitted on returns before `start`, refitted on the expanding window
    every `refit_every` steps (warm-started), the recursion stepped in between; the h-step
    variance is the sum of the recursion's forecasts, its quantile the unit-variance t(ν)'s;
  * fhs_garch_t: the same σ, times the empirical quantile of the last `fhs_window` standardised
    residuals r/σ (filtered historical simulation, monitor/risk/tail.py);
  * evt_garch_t: the same σ, times a GPD tail fitted to those residuals' largest losses at each
    refit (conditional EVT, McNeil & Frey 2000);
  * *_hod (intraday data, when the caller passes each return's hour): the three GARCH models on
    returns divided by their hour-of-day volatility profile, σ multiplied back (var_season.py).
Each forecast also carries the law it claimed (var_z2.TailLaws), so Z2's p-value is simulated
under the model's own distribution.
For h > 1 the standardised quantile of fhs/evt/garch is scaled by the h-step σ: an
approximation (the sum of h GARCH-t steps is not exactly t), stated wherever h > 1 is printed.
Scoring at a horizon of h steps uses non-overlapping windows (forecasts every h steps), so
exceptions stay independent under a correct model and Kupiec/Christoffersen keep their laws;
overlapping windows would count one loss h times. A series split at gaps (sampling.py) is scored
segment by segment, each with its own warm-up, and the counts pooled; returns never span a gap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import msgspec
import numpy as np
from scipy.special import ndtri

from monitor.risk._num import FloatArray, IntArray, as_float
from monitor.risk.backtest import Kupiec, kupiec_pof
from monitor.risk.coverage import Christoffersen, TrafficLight, Z2Test, christoffersen, traffic_light, z2_test
from monitor.risk.garch import GarchParams, fit_garch, garch_filter, garch_forecast, garch_step
from monitor.risk.reasons import Reason
from monitor.risk.tail import GpdTail, fhs_var_es, fit_gpd_tail, gpd_var_es
from monitor.risk.var import historical_var_es, student_t_var_es
from monitor.risk.var_season import seasonal_profile
from monitor.risk.var_z2 import TailLaws, concat_laws, empirical_laws, gpd_laws, location_scale_laws
from monitor.risk.volatility import ewma_variance_path

__all__ = [
    "BacktestResult",
    "Forecast",
    "GarchPath",
    "choose_model",
    "default_refit_every",
    "garch_path",
    "holds",
    "model_names",
    "var_backtest",
    "var_es_forecasts",
    "var_forecasts",
]

FHS_WINDOW = 1000  # standardised residuals behind the FHS quantile and the GPD tail
EVT_WINDOW = 5000


GARCH_MODELS = ("garch_t", "fhs_garch_t", "evt_garch_t")
SEASONAL = "_hod"  # suffix of the GARCH models run on returns scaled by the hour-of-day profile


def model_names(window: int, seasonal: bool = False) -> tuple[str, ...]:
    plain = ("ewma_normal", f"historical_{window}", *GARCH_MODELS)
    return (*plain, *(m + SEASONAL for m in GARCH_MODELS)) if seasonal else plain


class BacktestResult(msgspec.Struct, frozen=True, kw_only=True):
    """One model at one confidence, pooled over the scored observations of every segment."""

    model: str
    alpha: float
    kupiec: Kupiec
    christoffersen: Christoffersen
    traffic: TrafficLight
    z2: Z2Test


class Forecast(NamedTuple):
    """One model's forecasts at the scored steps: VaR and ES (positive log-return losses) and the
    law each forecast claimed for the return, as far as the Z2 simulation needs it (var_z2.py)."""

    var: FloatArray
    es: FloatArray
    law: TailLaws


class GarchPath(msgspec.Struct, frozen=True, kw_only=True):
    """Per step from `start`: the forecast variance, the fit in force; σ² in-sample before `start`.

    With a seasonal profile the GARCH runs on ε = r / s_{phase}: `eps2` is its forecast and
    `sigma2` = s²·eps2 the return's; without one, s = 1 and the two are the same.
    """

    sigma2: FloatArray
    eps2: FloatArray
    nu: FloatArray
    fit_index: np.ndarray  # index into `fits` (and `profiles`) of the fit in force at each scored step
    fits: list[GarchParams]
    profiles: list[FloatArray]  # the seasonal factor per phase, estimated with each fit
    phases: IntArray  # the phase (hour of day) of every return; zeros without a profile
    sigma2_in: FloatArray  # conditional variance of returns 0 … start−1 under the first fit
    refits: int


def garch_path(
    r: FloatArray, start: int, refit_every: int = 100, phases: IntArray | None = None
) -> GarchPath:
    """GARCH-t variance forecasts for steps start … n−1 (a failed fit leaves NaN, never a guess).

    With `phases`, each fit first estimates the hour-of-day profile on the returns it is fitted on
    (var_season.py) and the recursion runs on r / s; between refits both stay as fitted.
    """
    n = r.size
    ph = np.zeros(n, dtype=np.intp) if phases is None else np.asarray(phases, dtype=np.intp)

    def profile(t: int) -> FloatArray:
        return np.ones(1) if phases is None else seasonal_profile(r[:t], ph[:t])

    e2_out = np.full(n - start, np.nan)
    nu_out = np.full(n - start, np.nan)
    which = np.zeros(n - start, dtype=np.int64)
    prof = profile(start)
    eps = r[:start] / prof[ph[:start]]
    p = fit_garch(eps)
    fits, profiles = [p], [prof]
    sigma2_in = garch_filter(p, eps, float(np.var(eps)))[:start] * prof[ph[:start]] ** 2
    s2 = p.sigma2_next
    for i, t in enumerate(range(start, n)):
        if i and i % refit_every == 0:
            prof = profile(t)
            p = fit_garch(r[:t] / prof[ph[:t]], starting=p)
            fits.append(p)
            profiles.append(prof)
            s2 = p.sigma2_next
        e2_out[i], nu_out[i], which[i] = s2, p.nu, len(fits) - 1
        s2 = garch_step(p, s2, float(r[t] / prof[ph[t]]))
    factor2 = np.array([profiles[k][ph[start + i]] ** 2 for i, k in enumerate(which)])
    return GarchPath(
        sigma2=e2_out * factor2, eps2=e2_out, nu=nu_out, fit_index=which, fits=fits, profiles=profiles,
        phases=ph, sigma2_in=sigma2_in, refits=len(fits),
    )  # fmt: skip


def _h_variance(g: GarchPath, i: int, horizon: int) -> float:
    """Σ of the h step variances ahead of scored step i: GARCH's forecasts times each step's s²."""
    if horizon == 1:
        return float(g.sigma2[i])
    k = int(g.fit_index[i])
    t = int(g.sigma2_in.size) + i
    s2 = g.profiles[k][g.phases[t : t + horizon]] ** 2
    return float(np.sum(garch_forecast(g.fits[k], float(g.eps2[i]), horizon) * s2))


def var_es_forecasts(
    returns: FloatArray,
    alpha: float,
    *,
    start: int,
    window: int = 250,
    lam: float = 0.94,
    garch: GarchPath | None = None,
    refit_every: int = 100,
    horizon: int = 1,
) -> dict[str, Forecast]:
    """VaR, ES and law per model (positive losses, log-return units) at steps start, start+h, … of `returns`.

    Only forecasts whose h-step window ends inside the data are made.
    """
    r = as_float(returns)
    n, h = r.size, max(1, horizon)
    times = np.arange(start, n - h + 1, h)
    g = garch if garch is not None else garch_path(r, start, refit_every)
    z = float(ndtri(alpha))
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    ewma_sd = np.sqrt(ewma_variance_path(r, lam)[times] * h)
    out = {"ewma_normal": Forecast(ewma_sd * z, ewma_sd * pdf / (1.0 - alpha),
                                   location_scale_laws(ewma_sd * z, ewma_sd, math.inf))}  # fmt: skip
    hist_v, hist_e = np.empty(times.size), np.empty(times.size)
    kernel = np.ones(h)
    tails: list[FloatArray] = []
    sizes: list[int] = []
    for k, t in enumerate(times):
        past = r[t - window : t] if h == 1 else np.convolve(r[t - window : t], kernel, mode="valid")
        res = historical_var_es(past, alpha)
        hist_v[k], hist_e[k] = res.var, res.es
        tails.append(past[past < -res.var])
        sizes.append(past.size)
    out[f"historical_{window}"] = Forecast(hist_v, hist_e, empirical_laws(tails, sizes))
    resid = np.concatenate([r[:start] / np.sqrt(g.sigma2_in), r[start:] / np.sqrt(g.sigma2)])
    gv, ge, fv, fe, ev, ee, sds, nus = (np.full(times.size, np.nan) for _ in range(8))
    gpd = np.full((4, times.size), np.nan)  # u, ξ, β, N_u/n of the tail in force
    tail: GpdTail | None = None
    tail_fit = -1
    f_tails: list[FloatArray] = []
    f_sizes: list[int] = []
    for k, t in enumerate(times):
        i = int(t - start)
        sd = math.sqrt(_h_variance(g, i, h)) if math.isfinite(g.sigma2[i]) else math.nan
        sds[k], nus[k] = sd, float(g.nu[i])
        t_res = student_t_var_es(sd, 1.0, alpha, float(g.nu[i]))
        gv[k], ge[k] = t_res.var, t_res.es
        zs = resid[max(0, t - FHS_WINDOW) : t]
        zs = zs[np.isfinite(zs)]
        f = fhs_var_es(zs, alpha)
        fv[k], fe[k] = sd * f.var, sd * f.es
        f_tails.append(sd * zs[zs < -f.var])
        f_sizes.append(zs.size)
        if int(g.fit_index[i]) != tail_fit:  # the GPD is refitted with the GARCH, on its residuals
            tail_fit = int(g.fit_index[i])
            tail = fit_gpd_tail(resid[max(0, t - EVT_WINDOW) : t])
        assert tail is not None
        e = gpd_var_es(tail, alpha)
        ev[k], ee[k] = sd * e.var, sd * e.es
        gpd[:, k] = (tail.u, tail.xi, tail.beta, tail.n_u / tail.n if tail.n else math.nan)
    out["garch_t"] = Forecast(gv, ge, location_scale_laws(gv, sds, nus))
    out["fhs_garch_t"] = Forecast(fv, fe, empirical_laws(f_tails, f_sizes))
    out["evt_garch_t"] = Forecast(ev, ee, gpd_laws(ev, sds, *gpd))
    return out


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
    """One-step VaR per model for steps start … n−1 (the VaR half of `var_es_forecasts`)."""
    both = var_es_forecasts(
        returns, alpha, start=start, window=window, lam=lam, garch=garch, refit_every=refit_every
    )
    return {m: f.var for m, f in both.items()}


def realised(returns: FloatArray, start: int, horizon: int) -> FloatArray:
    """The h-step log returns the forecasts of `var_es_forecasts` are scored on (non-overlapping)."""
    r = as_float(returns)
    h = max(1, horizon)
    times = np.arange(start, r.size - h + 1, h)
    c = np.concatenate([[0.0], np.cumsum(r)])
    return np.asarray(c[times + h] - c[times], dtype=np.float64)


def _bad(models: tuple[str, ...], alphas: tuple[float, ...]) -> list[BacktestResult]:
    out = []
    for a in alphas:
        k = kupiec_pof(0, 0, a)
        for m in models:
            none = np.zeros(0)
            cc = christoffersen([], a, k.lr)
            z2 = z2_test(none, none, none, a)
            out.append(
                BacktestResult(
                    model=m, alpha=a, kupiec=k, christoffersen=cc, traffic=traffic_light(0, 0, a), z2=z2
                )
            )
    return out


def var_backtest(
    returns: FloatArray | Sequence[FloatArray],
    alphas: tuple[float, ...] = (0.95, 0.99),
    *,
    start: int = 1000,
    window: int = 250,
    lam: float = 0.94,
    refit_every: int = 100,
    horizon: int = 1,
    phases: IntArray | Sequence[IntArray] | None = None,
) -> list[BacktestResult]:
    """Every test per model and confidence, on one series or on gap-free segments pooled.

    Each segment needs finite returns and max(window, 100) ≤ start < its length − horizon + 1 to be
    scored; shorter segments are left out (the caller reports them). With no scorable segment, or a
    non-finite return, every result is NaN with reason BAD_PARAMETER (never raises). `phases` (the
    hour of day of each return, per segment) adds the GARCH models on deseasonalised returns
    (`*_hod`, var_season.py).
    """
    one = isinstance(returns, np.ndarray)
    segs = [as_float(returns)] if one else [as_float(s) for s in returns]
    phs: list[IntArray | None] = [None] * len(segs)
    if phases is not None:
        phs = [np.asarray(phases, dtype=np.intp)] if one else [np.asarray(p, dtype=np.intp) for p in phases]
    models = model_names(window, seasonal=phases is not None)
    h = max(1, horizon)
    keep = [i for i, s in enumerate(segs) if max(window, 100) <= start and start + h <= s.size]
    usable = [segs[i] for i in keep]
    if not usable or not all(np.all(np.isfinite(s)) for s in usable):
        return _bad(models, alphas)
    paths = [garch_path(s, start, refit_every) for s in usable]
    seasonal = [garch_path(segs[i], start, refit_every, phs[i]) if phs[i] is not None else None for i in keep]
    out: list[BacktestResult] = []
    for alpha in alphas:
        pooled: dict[str, list[tuple[FloatArray, Forecast]]] = {m: [] for m in models}
        for s, g, sg in zip(usable, paths, seasonal, strict=True):
            got = realised(s, start, h)
            fc = var_es_forecasts(s, alpha, start=start, window=window, lam=lam, garch=g, horizon=h)
            if sg is not None:
                fs = var_es_forecasts(s, alpha, start=start, window=window, lam=lam, garch=sg, horizon=h)
                fc.update({m + SEASONAL: fs[m] for m in GARCH_MODELS})
            for m in models:
                pooled[m].append((got, fc[m]))
        for m in models:
            parts = [(got, f.var, f.es) for got, f in pooled[m]]
            ret = np.concatenate([p[0] for p in parts])
            var = np.concatenate([p[1] for p in parts])
            es = np.concatenate([p[2] for p in parts])
            law = concat_laws([f.law for _, f in pooled[m]])
            ok = np.isfinite(ret) & np.isfinite(var)
            x, n = int(np.sum(-ret[ok] > var[ok])), int(np.sum(ok))
            k = kupiec_pof(x, n, alpha)
            hits = [(-p[0] > p[1])[np.isfinite(p[1])] for p in parts]
            out.append(
                BacktestResult(
                    model=m,
                    alpha=alpha,
                    kupiec=k,
                    christoffersen=christoffersen(hits, alpha, k.lr),
                    traffic=traffic_light(x, n, alpha),
                    z2=z2_test(ret, var, es, alpha, law),
                )
            )
    return out


def default_refit_every(longest: int) -> int:
    """Every 100 steps, but at most ~50 refits on the longest stretch: a GARCH fit on 40,000 hours
    takes ~0.5 s, and 400 of them would make an hourly backtest a quarter of an hour."""
    return max(100, longest // 50)


def holds(result: BacktestResult) -> bool:
    """Does the model hold at the 95 % decision level: Kupiec, conditional coverage and ES (Z2)?"""
    k, c, z = result.kupiec, result.christoffersen, result.z2
    return k.n > 0 and k.reason == Reason.OK and not (k.reject or c.reject_cc or z.reject)


def choose_model(results: list[BacktestResult], alpha: float) -> BacktestResult | None:
    """The model the backtest supports at `alpha`: of those that hold, the one whose weaker p-value
    (coverage or clustering) is largest — the least doubtful, not the one with the most exceptions.
    None when no model holds: the caller says so instead of picking the least bad."""
    ok = [r for r in results if r.alpha == alpha and holds(r)]
    return max(ok, key=lambda r: min(r.kupiec.p_value, r.christoffersen.p_cc), default=None)
