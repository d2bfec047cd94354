"""The daemon's own VaR backtest: one-step forecasts scored on the book's PnL, gaps respected."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.evaluation.sink import FigureSink
from monitor.evaluation.var_check import MIN_OBSERVATIONS, WINDOW, VarSelfCheck
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
