"""var_usd{method="preferred"}: the model its own backtest supports, else the largest, saying which."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from monitor.clock import NS_PER_S, ManualClock
from monitor.evaluation.models import EMPTY_MODELS, refresh_models
from monitor.evaluation.sink import FigureSink
from monitor.evaluation.var_check import (
    MIN_OBSERVATIONS,
    NO_SELF_CHECK,
    Choice,
    VarSelfCheck,
    preferred_figures,
)
from monitor.evaluator import Evaluator
from monitor.reason_codes import reason_code
from monitor.records import FigureKey
from tests.unit.evaluation.world import T0, bar_ns, config, path, put_bars, put_book, store

LEG = ("binance", "BTCUSDT", "perp")
Z99 = 2.3263478740408408  # standard normal 99 % quantile
STEP_S = 5.0


def _regimes(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Simple returns with clustered volatility: 45 calm steps (sd 0.5 %), then 5 wild ones (3 %)."""
    sd = np.array([0.03 if i % 50 >= 45 else 0.005 for i in range(n)])
    return np.random.default_rng(seed).standard_normal(n) * sd, sd


def _self_check(n: int = 250, seed: int = 7, past: int = 100) -> tuple[VarSelfCheck, FigureSink]:
    """A 10,000 USD perp leg scored step by step on a ManualClock. The forecasts, per step:
    parametric, a normal at the calm sd (fitted on a calm month, blind to the clusters); historical, the
    quantile of the last `past` moves (late into a cluster and out of it); filtered historical, a
    normal at the regime's own sd (what FHS's rescaling to today's volatility does)."""
    all_moves, all_sd = _regimes(past + n, seed)
    flat_sd = float(np.median(all_sd))
    moves, sd = all_moves[past:], all_sd[past:]
    clock = ManualClock(T0)
    check = VarSelfCheck(STEP_S, (0.95, 0.99))
    px = 100.0
    for i in range(n + 1):
        if i:
            px *= 1.0 + moves[i - 1]
        nxt = sd[i] if i < n else sd[-1]  # the forecast made now is scored on the next move
        seen = all_moves[i : past + i]
        var = {}
        for a, z in ((0.95, 1.6448536269514722), (0.99, Z99)):
            var[("parametric", a)] = 10_000.0 * z * flat_sd
            var[("historical", a)] = -10_000.0 * float(np.quantile(seen, 1.0 - a))
            var[("filtered_historical", a)] = 10_000.0 * z * nxt
        check.observe(clock.now_ns(), {LEG: 10_000.0}, {LEG: px}, var, "")
        clock.advance(STEP_S)
    sink = FigureSink(clock.now_ns())
    check.figures(sink, True)
    return check, sink


def _fig(sink: FigureSink, name: str, **labels: str) -> tuple[float, bool, str]:
    f = sink.items[FigureKey(name=name, **labels)]
    return f.value, f.fresh, f.reason


# horizon figures as book_var emits them: (name, method, confidence) → (value, fresh, reason)
ROWS = {
    (name, m, a): (v * (1.25 if name == "es_usd" else 1.0) * (1.0 if a == 0.99 else 0.7), True, note)
    for name in ("var_usd", "es_usd")
    for a in (0.95, 0.99)
    for m, v, note in (
        ("parametric", 40_000.0, ""),
        ("historical", 52_000.0, "few_independent_windows"),
        ("filtered_historical", 61_000.0, ""),
        ("monte_carlo", 70_000.0, ""),
    )
}


def test_the_preferred_figure_follows_the_model_whose_backtest_holds() -> None:
    """Clustered volatility: the unconditional models see their exceptions bunched in the wild
    stretches and are rejected; the one following today's volatility holds and is the figure, at
    both confidences (the ranking is made at 99 %), naming itself in its reason."""
    check, sink = _self_check()
    for m in ("parametric", "historical"):
        p = _fig(sink, "var_backtest_christoffersen_pvalue_ratio", method=m, confidence="0.99")[0]
        assert p < 0.05, (m, p)
    assert _fig(sink, "var_preferred", method="filtered_historical")[0] == 1.0
    assert _fig(sink, "var_methods_holding")[0] == 1.0
    assert check.choice == Choice("filtered_historical", "")
    preferred_figures(sink, ROWS, check.choice, (0.95, 0.99))
    for a in ("0.95", "0.99"):
        for name in ("var_usd", "es_usd"):
            got = _fig(sink, name, method="preferred", confidence=a)
            assert got == (
                ROWS[(name, "filtered_historical", float(a))][0],
                True,
                "preferred: filtered_historical",
            )
    assert reason_code("preferred: filtered_historical") == "preferred"


def test_no_model_holding_falls_back_to_the_largest_and_says_so() -> None:
    """Every step a loss past every forecast: none holds, the count is 0 and the figure is the
    largest value any model has (Monte Carlo here), with the source's own note carried after it."""
    check = VarSelfCheck(STEP_S, (0.99,))
    clock = ManualClock(T0)
    px = 100.0
    for _ in range(100):
        check.observe(clock.now_ns(), {LEG: 10_000.0}, {LEG: px}, {("historical", 0.99): 150.0}, "")
        px *= 0.98
        clock.advance(STEP_S)
    sink = FigureSink(clock.now_ns())
    check.figures(sink, True)
    assert _fig(sink, "var_methods_holding") == (0.0, True, "no_method_holds")
    assert check.choice == Choice("", "no_method_holds")
    preferred_figures(sink, ROWS, check.choice, (0.99,))
    assert _fig(sink, "var_usd", method="preferred", confidence="0.99") == (
        70_000.0,
        True,
        "fallback_max: no_method_holds; monte_carlo",
    )
    rows = {k: v for k, v in ROWS.items() if k[1] != "monte_carlo"}  # the largest left: filtered historical
    rows[("var_usd", "filtered_historical", 0.99)] = (61_000.0, True, "few_independent_windows")
    sink = FigureSink(0)
    preferred_figures(sink, rows, check.choice, (0.99,))
    value, _, why = _fig(sink, "var_usd", method="preferred", confidence="0.99")
    assert (
        value == 61_000.0
        and why == "fallback_max: no_method_holds; filtered_historical; few_independent_windows"
    )
    assert reason_code(why) == "fallback_max"


def test_while_warming_up_the_figure_is_the_largest_not_nan() -> None:
    """Fewer than 50 outcomes: var_preferred and the count are NaN, the VaR is not: the largest."""
    check = VarSelfCheck(STEP_S, (0.99,))
    clock = ManualClock(T0)
    for _ in range(MIN_OBSERVATIONS - 1):
        check.observe(clock.now_ns(), {LEG: 10_000.0}, {LEG: 100.0}, {("historical", 0.99): 150.0}, "")
        clock.advance(STEP_S)
    sink = FigureSink(clock.now_ns())
    check.figures(sink, True)
    value, _, why = _fig(sink, "var_methods_holding")
    assert math.isnan(value) and reason_code(why) == "too_few_observations"
    preferred_figures(sink, ROWS, check.choice, (0.99,))
    assert _fig(sink, "var_usd", method="preferred", confidence="0.99")[::2] == (
        70_000.0,
        "fallback_max: warming_up; monte_carlo",
    )


def test_a_stale_larger_value_does_not_hide_a_fresh_one_and_a_missing_preferred_falls_back() -> None:
    """A stale figure starts no alert: the fallback takes the largest fresh value; a preferred model
    without a value now (its history empty) is not a NaN while another model has one."""
    rows = dict(ROWS)
    rows[("var_usd", "monte_carlo", 0.99)] = (90_000.0, False, "model_stale")
    sink = FigureSink(0)
    preferred_figures(sink, rows, NO_SELF_CHECK, (0.99,))
    assert _fig(sink, "var_usd", method="preferred", confidence="0.99") == (
        61_000.0,
        True,
        "fallback_max: no_self_check; filtered_historical",
    )
    rows[("var_usd", "filtered_historical", 0.99)] = (math.nan, True, "empty_history")
    sink = FigureSink(0)
    preferred_figures(sink, rows, Choice("filtered_historical", ""), (0.99,))
    assert _fig(sink, "var_usd", method="preferred", confidence="0.99") == (
        52_000.0,
        True,
        "fallback_max: preferred_unavailable; historical; few_independent_windows",
    )
    # only stale values left: the largest of them, stale, its stale mark first (its code)
    stale = {k: (v[0], False, "model_stale") for k, v in ROWS.items()}
    sink = FigureSink(0)
    preferred_figures(sink, stale, Choice("historical", ""), (0.99,))
    assert _fig(sink, "var_usd", method="preferred", confidence="0.99") == (
        52_000.0,
        False,
        "model_stale, preferred: historical",
    )


def test_nan_only_when_no_model_has_a_value_with_the_models_reason() -> None:
    rows = {k: (math.nan, True, "history_missing_leg: binance/ETHUSDT perp") for k in ROWS}
    sink = FigureSink(0)
    preferred_figures(sink, rows, Choice("", "warming_up"), (0.99,))
    value, _, why = _fig(sink, "es_usd", method="preferred", confidence="0.99")
    assert math.isnan(value) and reason_code(why) == "history_missing_leg"


N = 400  # bars of the world's BTC path finished at the refit


def test_the_evaluator_exports_the_preferred_figure_beside_the_methods() -> None:
    """Through the daemon's evaluator: before the self-check has 50 outcomes the preferred VaR is the
    largest method's value at each confidence; past the models' budget it is stale with them."""
    cfg = config()
    marks, basis = path(N + 1)
    st = store()
    put_bars(st, marks, basis, 0, N + 1)
    t = bar_ns(N)
    put_book(st, t, qty=-8.0, holdings=10.0)
    snap = st.snapshot(t)
    models = refresh_models(snap, cfg.evaluation, EMPTY_MODELS, {})
    figs = Evaluator(cfg, started_ns=T0).evaluate(snap, t, models)
    for a in ("0.95", "0.99"):
        for name in ("var_usd", "es_usd"):
            by_method = {
                m: figs.items[FigureKey(name=name, method=m, confidence=a)].value
                for m in ("parametric", "historical", "filtered_historical", "monte_carlo")
            }
            finite = {m: v for m, v in by_method.items() if math.isfinite(v)}
            top = max(finite, key=lambda m: finite[m])
            got = figs.items[FigureKey(name=name, method="preferred", confidence=a)]
            assert got.value == finite[top] and got.reason.startswith(f"fallback_max: warming_up; {top}")
    # the budget says the history is two rounds old: model_age marks each method stale, and the
    # preferred figure, copied from one of them, is stale the same way
    old = dataclasses.replace(models, budget=dataclasses.replace(models.budget, stale_after_s=1.0))
    later = t + 5 * NS_PER_S
    figs = Evaluator(cfg, started_ns=T0).evaluate(st.snapshot(later), later, old)
    got = figs.items[FigureKey(name="var_usd", method="preferred", confidence="0.99")]
    src = got.reason.removeprefix("model_stale, ").split("; ")[1]
    source = figs.items[FigureKey(name="var_usd", method=src, confidence="0.99")]
    assert got.value == pytest.approx(source.value) and not got.fresh and not source.fresh
    assert reason_code(got.reason) == reason_code(source.reason) == "model_stale"
