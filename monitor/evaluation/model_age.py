"""How old each slow model is, how the refits keep up with their CPU budget, and which figures are stale.

The scheduler (monitor/refit.py) refits the models one at a time within `model_cpu_budget`, so
each has its own age: per market (GARCH and OU, `market_model_age_seconds`) and per VaR method
(`var_model_age_seconds`: parametric and historical read the return history, monte_carlo its own
run). Beside them: the round the budget plans (a refit of every model), the CPU share the refits
used, the Monte Carlo paths the budget paid for and the standard error of its VaR.

A model older than the budget allows (`ModelBudget.stale_after_s`, two planned rounds) keeps its
figures — an hour-old GARCH forecast is still a sensible volatility — but they turn `fresh=False`
with reason `model_stale` (before any note they had), and the age figure says `model_stale` too.
A stale value, like a stale feed's, starts no rule alert; one that breaches a rule is told by
FigureUnavailable (reason `model_stale`) at once, since by then the lag has already persisted two
rounds; that is a gap, not a warm-up. Done here, after the stages that emit those figures, so one
place decides staleness for every figure that reads a model.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from monitor.evaluation.models import RiskModels
from monitor.evaluation.sink import FigureSink
from monitor.records import FigureKey
from monitor.risk._num import IntArray, quiet
from monitor.store.marks import mark_keys
from monitor.store.state import Snapshot

__all__ = ["MARKET_MODEL_FIGURES", "STALE", "ModelAgeKept", "model_age_figures"]

STALE = "model_stale"
# figures read from a market's GARCH/OU fit (monitor/evaluation/dynamics.py)
MARKET_MODEL_FIGURES = (
    "volatility_garch_annualized_ratio",
    "garch_persistence_ratio",
    "basis_zscore",
    "basis_mean_reverting",
    "basis_ou_half_life_seconds",
    "basis_ou_theta_per_second",
    "basis_ou_mean_usd",
    "basis_ou_stationary_sd_usd",
)
_VAR_FIGURES = ("var_usd", "es_usd")


def _age_s(now_ns: int, fitted_at_ns: int) -> float:
    return (now_ns - fitted_at_ns) / 1e9 if fitted_at_ns else math.nan


def _why(value: float, stale: bool, missing: str = "not_fitted_yet") -> str:
    return STALE if stale else ("" if not math.isnan(value) else missing)


def model_age_figures(
    snap: Snapshot,
    models: RiskModels,
    sink: FigureSink,
    *,
    confidences: tuple[float, ...],
    kept: ModelAgeKept | None = None,
) -> None:
    """Ages, budget figures and the stale flags; runs after the stages that emit the model figures.

    `kept`: the fit times carried between ticks (the evaluator's own; None: one shared default).
    """
    now, b, mc = snap.taken_at_ns, models.budget, models.mc
    limit = b.stale_after_s
    sink.add("model_refit_round_seconds", b.round_s, reason=_why(b.round_s, False))
    sink.add("model_cpu_share_ratio", b.cpu_share, reason=_why(b.cpu_share, False))
    fits = _fit_times(models, mark_keys(snap.marks), _SHARED if kept is None else kept)
    with quiet():
        ages = np.where(fits.fitted_at_ns > 0, (now - fits.fitted_at_ns) / 1e9, math.nan)
        stale = ages > limit
    why = np.where(stale, STALE, np.where(np.isnan(ages), "not_fitted_yet", "")).tolist()
    sink.add_array("market_model_age_seconds", fits.keys, ages, True, why)
    stale_keys = [
        FigureKey(name=name, venue=fits.markets[k][0], symbol=fits.markets[k][1])
        for k in np.flatnonzero(stale).tolist()
        for name in MARKET_MODEL_FIGURES
    ]
    h_age, mc_age = _age_s(now, models.history.fitted_at_ns), _age_s(now, mc.fitted_at_ns)
    for method, age in (
        ("parametric", h_age),
        ("historical", h_age),
        ("filtered_historical", h_age),
        ("monte_carlo", mc_age),
    ):
        sink.add("var_model_age_seconds", age, method=method, reason=_why(age, age > limit))
        if age > limit:
            stale_keys += [
                FigureKey(name=name, method=method, confidence=f"{alpha:g}")
                for alpha in confidences
                for name in _VAR_FIGURES
            ]
    if mc_age > limit:
        stale_keys.append(FigureKey(name="var_any_liquidation_touch_probability_ratio"))
        stale_keys += [
            FigureKey(name="liquidation_touch_probability_mc_ratio", venue=v, account=a, symbol=s, side=side)
            for v, a, s, side in mc.positions
        ]
    sink.amend_stale(stale_keys, STALE)  # a figure read from a stale model keeps its value, not fresh
    ran = mc.n_paths > 0 and not mc.reason
    missing = mc.reason or "not_fitted_yet"
    sink.add("var_mc_paths", float(mc.n_paths) if ran else math.nan, reason="" if ran else missing)
    for alpha in confidences:
        res = mc.results.get(alpha) if ran else None
        se = res.var_se if res is not None else math.nan
        sink.add("var_mc_standard_error_usd", se, confidence=f"{alpha:g}",
                 reason=_why(se, False, missing if not ran else "empty_history"))  # fmt: skip


@dataclass(frozen=True, slots=True)
class _FitTimes:
    """When each market's model was fitted (0: never), and the age column's keys, per models record."""

    models: RiskModels
    markets: tuple[tuple[str, str], ...]
    fitted_at_ns: IntArray
    keys: tuple[FigureKey, ...]


class ModelAgeKept:
    """The fit times column, per evaluator (two daemons in one process share none)."""

    def __init__(self) -> None:
        self.last: _FitTimes | None = None


_SHARED = ModelAgeKept()  # for a caller with none of its own (tests, benches)


def _fit_times(models: RiskModels, markets: tuple[tuple[str, str], ...], kept: ModelAgeKept) -> _FitTimes:
    """Kept while the daemon hands back the same models and the snapshot lists the same markets."""
    old = kept.last
    if old is not None and old.models is models and old.markets == markets:
        return old
    fitted = [models.markets.get(k) for k in markets]
    same = old is not None and old.markets == markets
    kept.last = _FitTimes(
        models=models,
        markets=markets,
        fitted_at_ns=np.array([m.fitted_at_ns if m is not None else 0 for m in fitted], dtype=np.int64),
        keys=old.keys if same and old is not None else tuple(
            FigureKey(name="market_model_age_seconds", venue=v, symbol=s) for v, s in markets
        ),
    )  # fmt: skip
    return kept.last
