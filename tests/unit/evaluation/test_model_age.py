"""Model ages are figures; a model older than its budget allows keeps its figures, flagged model_stale."""

from __future__ import annotations

import dataclasses
import math

import pytest

from monitor.evaluation.book_mc import lps_from_figures
from monitor.evaluation.models import EMPTY_MODELS, ModelBudget, RiskModels, refresh_models
from monitor.evaluator import Evaluator
from monitor.reason_codes import reason_code
from monitor.records import Figure, FigureKey, Figures
from tests.unit.evaluation.world import T0, M, P, bar_ns, config, path, put_bars, put_book, store

FIT_BARS = 501
BUDGET = ModelBudget(stale_after_s=600.0, round_s=300.0, cpu_share=0.2)
BUDGET_FIGURES = {"model_refit_round_seconds", "model_cpu_share_ratio"}
PAR99 = {"method": "parametric", "confidence": "0.99"}
MC99 = {"method": "monte_carlo", "confidence": "0.99"}


def _world() -> tuple[Evaluator, object, RiskModels, int]:
    cfg = config()
    marks, basis = path(FIT_BARS + 20)
    st = store()
    put_bars(st, marks, basis, 0, FIT_BARS + 1)
    t_fit = bar_ns(FIT_BARS)
    put_book(st, t_fit)
    ev = Evaluator(cfg, started_ns=T0)
    snap = st.snapshot(t_fit)
    models = refresh_models(snap, cfg.evaluation, EMPTY_MODELS, lps_from_figures(ev.evaluate(snap, t_fit)))
    put_bars(st, marks, basis, FIT_BARS + 1, FIT_BARS + 14)
    return ev, st, models, t_fit


def _same(a: Figure, b: Figure) -> bool:
    both_nan = math.isnan(a.value) and math.isnan(b.value)
    return (both_nan or a.value == b.value) and (a.fresh, a.reason, a.unit) == (b.fresh, b.reason, b.unit)


def _fig(figs: Figures, name: str, **labels: str) -> Figure:
    return figs.items[FigureKey(name=name, **labels)]


def test_ages_grow_and_the_flag_appears_past_the_limit() -> None:
    ev, st, models, t_fit = _world()
    budgeted = dataclasses.replace(models, budget=BUDGET)
    unlimited = dataclasses.replace(models, budget=dataclasses.replace(BUDGET, stale_after_s=math.inf))
    for bars, age in ((2, 120.0), (12, 720.0)):
        now = bar_ns(FIT_BARS + bars)
        assert (now - t_fit) / 1e9 == age
        snap = st.snapshot(now)  # type: ignore[attr-defined]
        figs = ev.evaluate(snap, now, budgeted)
        plain = ev.evaluate(snap, now, unlimited)
        stale = age > BUDGET.stale_after_s
        assert _fig(figs, "market_model_age_seconds", **M).value == age
        assert _fig(figs, "risk_models_age_seconds").value == age
        for method in ("parametric", "historical", "monte_carlo"):
            f = _fig(figs, "var_model_age_seconds", method=method)
            assert f.value == age and f.reason == ("model_stale" if stale else "")
        assert _fig(figs, "market_model_age_seconds", **M).reason == ("model_stale" if stale else "")
        flagged = {k for k, f in figs.items.items() if f.reason.startswith("model_stale")}
        if not stale:  # young models: every figure as without a limit
            assert flagged == set()
            assert figs.items.keys() == plain.items.keys()
            assert all(
                _same(f, plain.items[k]) for k, f in figs.items.items() if k.name not in BUDGET_FIGURES
            )
            continue
        for name, labels in (
            ("volatility_garch_annualized_ratio", M),
            ("garch_persistence_ratio", M),
            ("var_usd", PAR99),
            ("es_usd", {**PAR99, "method": "historical"}),
            ("var_usd", MC99),
            ("liquidation_touch_probability_mc_ratio", P),
        ):
            f, before = _fig(figs, name, **labels), _fig(plain, name, **labels)
            assert math.isfinite(before.value), name
            # the old model's value is kept, but not fresh, and the reason says why (a code)
            assert f.value == before.value and not f.fresh, name
            assert reason_code(f.reason) == "model_stale", name
        # nothing else changed: only values read from a model are flagged
        for key, f in figs.items.items():
            if key not in flagged and key.name not in BUDGET_FIGURES:
                assert _same(f, plain.items[key]), key


def test_budget_figures_and_the_monte_carlo_size() -> None:
    ev, st, models, _ = _world()
    now = bar_ns(FIT_BARS + 1)
    figs = ev.evaluate(st.snapshot(now), now, dataclasses.replace(models, budget=BUDGET))  # type: ignore[attr-defined]
    assert _fig(figs, "model_refit_round_seconds").value == 300.0
    assert _fig(figs, "model_cpu_share_ratio").value == 0.2
    assert _fig(figs, "var_mc_paths").value == 2_000  # world config: mc_paths = 2,000
    var = _fig(figs, "var_usd", **MC99).value
    se = _fig(figs, "var_mc_standard_error_usd", confidence="0.99").value
    assert 0 < se < 0.5 * var
    # the 95 % quantile has ~5× more paths beyond it than the 99 %: a tighter estimate
    assert _fig(figs, "var_mc_standard_error_usd", confidence="0.95").value < se


def test_before_any_fit_the_ages_say_not_fitted_yet() -> None:
    ev, st, _, _ = _world()
    now = bar_ns(FIT_BARS + 1)
    figs = ev.evaluate(st.snapshot(now), now, EMPTY_MODELS)  # type: ignore[attr-defined]
    for name, labels in (
        ("market_model_age_seconds", M),
        ("var_model_age_seconds", {"method": "monte_carlo"}),
        ("var_mc_paths", {}),
        ("var_mc_standard_error_usd", {"confidence": "0.99"}),
        ("model_refit_round_seconds", {}),
    ):
        f = _fig(figs, name, **labels)
        assert math.isnan(f.value) and f.reason == "not_fitted_yet", name


@pytest.mark.parametrize("alpha", [0.95, 0.99])
def test_quantile_standard_error_matches_the_spread_of_repeated_runs(alpha: float) -> None:
    """The order-statistic SE of one sample is close to the sd of the quantile over many samples."""
    import numpy as np

    from monitor.risk.montecarlo import quantile_standard_error

    rng = np.random.default_rng(5)
    runs = rng.standard_t(4, size=(400, 4_000))
    q = np.quantile(runs, 1 - alpha, axis=1)
    se = np.median([quantile_standard_error(r, 1 - alpha) for r in runs[:50]])
    assert se == pytest.approx(float(np.std(q)), rel=0.2)


def test_a_stale_model_in_breach_is_told_by_figure_unavailable() -> None:
    """A rule starts no alert on a stale value; FigureUnavailable tells the breach, reason model_stale."""
    from monitor.config import LevelConfig, RuleConfig
    from monitor.rules import UNAVAILABLE_ALERTNAME, RuleEngine

    rule = RuleConfig(name="GarchVolHigh", figure="volatility_garch_annualized_ratio", op=">",
                      levels=(LevelConfig(severity="warning", threshold=1.0),))  # fmt: skip
    key = FigureKey(name="volatility_garch_annualized_ratio", **M)
    fig = Figure(value=2.5, unit="ratio", ts_ns=T0, fresh=False, reason="model_stale")
    engine = RuleEngine((rule,), unavailable_for_s=30.0, unavailable_warmup_s=7200.0)
    fired = [
        (t, ev)
        for t in range(0, 61, 5)
        for ev in engine.step(Figures(taken_at_ns=T0 + t * 10**9, items={key: fig}), T0 + t * 10**9)
    ]
    assert [ev.labels["alertname"] for _, ev in fired] == [UNAVAILABLE_ALERTNAME]  # not GarchVolHigh
    t, ev = fired[0]
    assert t == 30 and ev.annotations["reason"] == "model_stale"  # a gap (30 s), not a warm-up (7200 s)
