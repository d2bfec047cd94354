"""The daemon's own VaR backtest: one-step forecasts scored on the book's PnL, gaps respected."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.evaluation.sink import FigureSink
from monitor.evaluation.var_check import METHODS, MIN_OBSERVATIONS, WINDOW, VarSelfCheck
from monitor.records import FigureKey
from monitor.risk.backtest import kupiec_pof
from monitor.risk.coverage import christoffersen

S = 10**9
LEG = ("binance", "BTCUSDT", "perp")
SPOT = ("binance", "BTCUSDT", "spot")


def _fig(sink: FigureSink, name: str, method: str = "historical", conf: str = "0.99") -> tuple[float, str]:
    f = sink.items[FigureKey(name=name, method=method, confidence=conf)]
    return f.value, f.reason


def _run(moves: list[float], var: float, *, skip: set[int] = frozenset()) -> VarSelfCheck:  # type: ignore[assignment]
    """A long 10,000 USD perp leg whose price moves by `moves[i]` (simple return) each 5 s step."""
    check = VarSelfCheck(5.0, (0.99,))
    px = 100.0
    for i, m in enumerate([0.0, *moves]):
        px *= 1.0 + m
        if i in skip:
            continue
        check.observe(i * 5 * S + S, {LEG: 10_000.0}, {LEG: px}, {("historical", 0.99): var}, "")
    return check


def test_a_loss_beyond_var_is_an_exception_and_the_counts_are_the_library_s() -> None:
    moves = [-0.02 if i % 20 == 0 else 0.001 for i in range(120)]  # 6 steps lose 200 USD on 10,000
    check = _run(moves, var=150.0)
    sink = FigureSink(0)
    check.figures(sink, True)
    assert _fig(sink, "var_backtest_observations")[0] == 120
    assert _fig(sink, "var_backtest_exceptions")[0] == 6
    hits = np.array([m < -0.015 for m in moves])
    k = kupiec_pof(6, 120, 0.99)
    assert _fig(sink, "var_backtest_kupiec_pvalue_ratio")[0] == pytest.approx(k.p_value)
    cc = christoffersen([hits], 0.99, k.lr)
    assert _fig(sink, "var_backtest_christoffersen_pvalue_ratio")[0] == pytest.approx(cc.p_cc)


def test_too_few_outcomes_are_nan_with_a_warm_up_reason_not_a_reassuring_one() -> None:
    check = _run([0.001] * (MIN_OBSERVATIONS - 1), var=150.0)
    sink = FigureSink(0)
    check.figures(sink, True)
    value, why = _fig(sink, "var_backtest_kupiec_pvalue_ratio")
    assert math.isnan(value) and why.startswith("too_few_observations")
    assert _fig(sink, "var_backtest_observations")[0] == MIN_OBSERVATIONS - 1


def test_a_missed_step_is_not_scored_and_breaks_the_chain() -> None:
    """Ticks skip step 10 (a stalled loop): the forecast of step 9 spans two steps and is dropped,
    and the exception before the gap and the one after it are not counted as a cluster."""
    moves = [0.0] * 30
    moves[8] = -0.02  # scored at step 9 (from the forecast of step 8)
    moves[11] = -0.02  # scored at step 12
    check = _run(moves, var=150.0, skip={10})
    sink = FigureSink(0)
    check.figures(sink, True)
    assert (
        _fig(sink, "var_backtest_observations")[0] == 30 - 2
    )  # step 10 unseen, step 11's forecast never made
    assert _fig(sink, "var_backtest_exceptions")[0] == 2


def test_the_window_keeps_the_last_outcomes_only() -> None:
    check = _run([-0.02] * 10 + [0.0] * (WINDOW + 5), var=150.0)
    sink = FigureSink(0)
    check.figures(sink, True)
    assert _fig(sink, "var_backtest_observations")[0] == WINDOW
    assert _fig(sink, "var_backtest_exceptions")[0] == 0


def test_a_position_opened_after_the_forecast_does_not_count_against_it() -> None:
    """The outcome is what the forecast's exposures made: a new spot leg is priced but not counted."""
    check = VarSelfCheck(5.0, (0.99,))
    var = {("historical", 0.99): 150.0}
    check.observe(S, {LEG: 10_000.0}, {LEG: 100.0}, var, "")
    check.observe(6 * S, {LEG: 10_000.0, SPOT: 50_000.0}, {LEG: 100.0, SPOT: 90.0}, var, "")
    sink = FigureSink(0)
    check.figures(sink, True)
    assert _fig(sink, "var_backtest_exceptions")[0] == 0  # the spot leg's −10 % was not the forecast's


def test_no_forecast_while_the_book_has_none() -> None:
    check = VarSelfCheck(5.0, (0.99,))
    for i in range(60):
        check.observe(i * 5 * S, {}, {}, {}, "no_position")
    sink = FigureSink(0)
    check.figures(sink, True)
    assert _fig(sink, "var_backtest_observations")[0] == 0
    assert _fig(sink, "var_backtest_kupiec_pvalue_ratio")[1] == "no_position"


def _three(moves: list[float], var: dict[str, float]) -> FigureSink:
    """The three methods forecast side by side over the same 10,000 USD perp leg."""
    check = VarSelfCheck(5.0, (0.95, 0.99))
    px = 100.0
    forecasts = {(m, a): v for m, v in var.items() for a in (0.95, 0.99)}
    for i, m in enumerate([0.0, *moves]):
        px *= 1.0 + m
        check.observe(i * 5 * S + S, {LEG: 10_000.0}, {LEG: px}, forecasts, "")
    sink = FigureSink(0)
    check.figures(sink, True)
    return sink


def _preferred(sink: FigureSink) -> dict[str, tuple[float, str]]:
    out = {}
    for m in METHODS:
        f = sink.items[FigureKey(name="var_preferred", method=m)]
        out[m] = (f.value, f.reason)
    return out


def test_the_preferred_method_is_the_one_whose_backtest_holds_best() -> None:
    """200 steps: 2 isolated 200 USD losses and 10 of 50 USD. A 40 USD VaR sees 12 exceptions
    (rejected), 150 USD sees 2 (the 2 expected at 99 %: p near 1), 250 USD none (Kupiec p 0.045:
    too few exceptions is a failure too). Only the 150 USD method holds, and it alone is 1."""
    moves = [0.0] * 200
    for i in (30, 130):
        moves[i] = -0.02
    for i in range(5, 200, 20):
        moves[i] = -0.005
    sink = _three(moves, {"parametric": 40.0, "historical": 250.0, "filtered_historical": 150.0})
    p = {m: _fig(sink, "var_backtest_kupiec_pvalue_ratio", m)[0] for m in METHODS}
    assert p["parametric"] < 0.05 and p["historical"] < 0.05 < p["filtered_historical"]
    assert _fig(sink, "var_backtest_christoffersen_pvalue_ratio", "filtered_historical")[0] >= 0.05
    assert _preferred(sink) == {
        "parametric": (0.0, ""),
        "historical": (0.0, ""),
        "filtered_historical": (1.0, ""),
    }


def test_of_two_that_hold_the_higher_smaller_p_wins() -> None:
    """Both 120 and 150 USD hold; 150 sees the expected 2 exceptions, 120 sees 3 (lower p)."""
    moves = [0.0] * 200
    for i in (30, 130):
        moves[i] = -0.02
    moves[80] = -0.013  # 130 USD: beyond 120, within 150
    sink = _three(moves, {"parametric": 120.0, "historical": 150.0, "filtered_historical": 150.0})
    assert (
        min(
            _fig(sink, f"var_backtest_{t}_pvalue_ratio", "parametric")[0]
            for t in ("kupiec", "christoffersen")
        )
        >= 0.05
    )
    # historical and filtered tie exactly: the earlier in METHODS is chosen, never both
    assert [v for v, _ in _preferred(sink).values()] == [0.0, 1.0, 0.0]


def test_preferred_is_nan_while_warming_up_and_all_zero_when_none_holds() -> None:
    sink = _three([0.0] * (MIN_OBSERVATIONS - 1), {m: 150.0 for m in METHODS})
    for value, why in _preferred(sink).values():
        assert math.isnan(value) and why.startswith("too_few_observations")
    sink = _three([-0.02] * 100, {m: 150.0 for m in METHODS})  # every step an exception
    assert _preferred(sink) == {m: (0.0, "no_method_holds") for m in METHODS}
