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

from monitor.evaluation.models import RiskModels
from monitor.evaluation.sink import FigureSink
from monitor.records import FigureKey
from monitor.store.state import Snapshot

__all__ = ["MARKET_MODEL_FIGURES", "STALE", "model_age_figures"]

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
    snap: Snapshot, models: RiskModels, sink: FigureSink, *, confidences: tuple[float, ...]
) -> None:
    """Ages, budget figures and the stale flags; runs after the stages that emit the model figures."""
    now, b, mc = snap.taken_at_ns, models.budget, models.mc
    limit = b.stale_after_s
    sink.add("model_refit_round_seconds", b.round_s, reason=_why(b.round_s, False))
    sink.add("model_cpu_share_ratio", b.cpu_share, reason=_why(b.cpu_share, False))
    for venue, symbol in snap.marks:
        m = models.markets.get((venue, symbol))
        age = _age_s(now, m.fitted_at_ns) if m is not None else math.nan
        sink.add("market_model_age_seconds", age, venue=venue, symbol=symbol, reason=_why(age, age > limit))
        if age > limit:
            for name in MARKET_MODEL_FIGURES:
                _mark_stale(sink, FigureKey(name=name, venue=venue, symbol=symbol))
    h_age, mc_age = _age_s(now, models.history.fitted_at_ns), _age_s(now, mc.fitted_at_ns)
    for method, age in (
        ("parametric", h_age),
        ("historical", h_age),
        ("filtered_historical", h_age),
        ("monte_carlo", mc_age),
    ):
        sink.add("var_model_age_seconds", age, method=method, reason=_why(age, age > limit))
        if age > limit:
            for alpha in confidences:
                for name in _VAR_FIGURES:
                    _mark_stale(sink, FigureKey(name=name, method=method, confidence=f"{alpha:g}"))
    if mc_age > limit:
        _mark_stale(sink, FigureKey(name="var_any_liquidation_touch_probability_ratio"))
        for venue, account, symbol, side in mc.positions:
            pos = {"venue": venue, "account": account, "symbol": symbol, "side": side}
            _mark_stale(sink, FigureKey(name="liquidation_touch_probability_mc_ratio", **pos))
    ran = mc.n_paths > 0 and not mc.reason
    missing = mc.reason or "not_fitted_yet"
    sink.add("var_mc_paths", float(mc.n_paths) if ran else math.nan, reason="" if ran else missing)
    for alpha in confidences:
        res = mc.results.get(alpha) if ran else None
        se = res.var_se if res is not None else math.nan
        sink.add("var_mc_standard_error_usd", se, confidence=f"{alpha:g}",
                 reason=_why(se, False, missing if not ran else "empty_history"))  # fmt: skip


def _mark_stale(sink: FigureSink, key: FigureKey) -> None:
    """A figure read from a stale model: kept when it has a value, but not fresh, and said why."""
    f = sink.get(key)
    if f is None or math.isnan(f.value):
        return
    sink.amend(key, fresh=False, reason=f"{STALE}, {f.reason}" if f.reason else STALE)
