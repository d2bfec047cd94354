"""Kupiec POF, and a VaR backtest on the shipped Binance BTCUSDT daily history (risk-formulas §8).

Three one-day VaR models for a unit long BTC position, evaluated on the same days (from day
1,000 on): EWMA-normal (λ 0.94), 250-day historical simulation, and GARCH(1,1)-t refitted every
100 days on an expanding window with the recursion stepped in between. Losses and VaR are in
log-return terms. The exception counts and LRs are printed (run pytest -s) and pinned.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.risk.backtest import CHI2_95, count_exceptions, kupiec_pof
from monitor.risk.reasons import Reason
from monitor.risk.var_backtest import var_backtest, var_forecasts
from tests.unit.risk._data import btc_daily_log_returns

START = 1_000


def test_kupiec_formula() -> None:
    """x = 5 in 250 days at 99 %: LR = −2ln[(0.99)^245 0.01^5] + 2ln[(0.98)^245 0.02^5] ≈ 1.96."""
    res = kupiec_pof(5, 250, 0.99)
    expected = -2 * (245 * math.log(0.99) + 5 * math.log(0.01)) + 2 * (
        245 * math.log(0.98) + 5 * math.log(0.02)
    )
    assert res.lr == pytest.approx(expected)
    assert not res.reject and res.expected == pytest.approx(2.5)


def test_kupiec_edges() -> None:
    """Zero exceptions use 0·ln 0 = 0; exact coverage gives LR 0; bad counts give NaN + reason."""
    assert kupiec_pof(0, 250, 0.99).lr == pytest.approx(-2 * 250 * math.log(0.99))
    assert kupiec_pof(10, 1000, 0.99).lr == pytest.approx(0.0, abs=1e-12)
    assert kupiec_pof(300, 250, 0.99).reason == Reason.BAD_PARAMETER
    assert kupiec_pof(30, 250, 0.99).reject
    assert count_exceptions(np.array([-0.05, 0.01, np.nan]), np.array([0.04, 0.04, 0.04])) == (1, 2)


def _var_series(r: np.ndarray, alpha: float) -> dict[str, np.ndarray]:
    """The models of monitor.risk.var_backtest (the ones `perpmon backtest-var` prints)."""
    return var_forecasts(r, alpha, start=START, window=250)


def test_var_backtest_on_btc_daily(capsys: pytest.CaptureFixture[str]) -> None:
    """Kupiec on 2,114 days of BTC: exceptions and LR per model at 95 % and 99 % (printed and pinned)."""
    r = btc_daily_log_returns()
    out = {}
    for alpha in (0.95, 0.99):
        for name, var in _var_series(r, alpha).items():
            x, n = count_exceptions(r[START:], var)
            k = kupiec_pof(x, n, alpha)
            out[(name, alpha)] = (x, n, round(k.lr, 3), k.reject)
    with capsys.disabled():
        print()
        for (name, alpha), (x, n, lr, reject) in out.items():
            verdict = "reject" if reject else "accept"
            expected = n * (1 - alpha)
            head = f"  kupiec {name:16s} α={alpha:.2f}: {x:4d} exceptions / {n} days"
            print(f"{head} (expected {expected:.1f}), LR {lr:7.3f} → {verdict} (χ² 95 % = {CHI2_95:.3f})")
    assert all(n == r.size - START for (_, n, _, _) in out.values())
    for key in (
        ("ewma_normal", 0.95),
        ("ewma_normal", 0.99),
        ("historical_250", 0.95),
        ("historical_250", 0.99),
    ):
        assert out[key][:3] == PINNED[key]  # closed-form models: exact
    for key in (("garch_t", 0.95), ("garch_t", 0.99)):  # optimiser-dependent: within 2 exceptions
        assert abs(out[key][0] - PINNED[key][0]) <= 2
    # thin normal tails fail at 99 %; the fat-tailed models pass
    assert [out[(m, 0.99)][3] for m in ("ewma_normal", "historical_250", "garch_t")] == [True, False, False]


PINNED: dict[tuple[str, float], tuple[int, int, float]] = {
    ("ewma_normal", 0.95): (110, 2114, 0.182),
    ("ewma_normal", 0.99): (47, 2114, 23.705),
    ("historical_250", 0.95): (109, 2114, 0.107),
    ("historical_250", 0.99): (27, 2114, 1.509),
    ("garch_t", 0.95): (111, 2114, 0.275),
    ("garch_t", 0.99): (20, 2114, 0.063),
}


def test_var_backtest_bad_inputs_are_flagged_not_raised() -> None:
    """A gap in the returns or a start before the window: every result NaN with BAD_PARAMETER."""
    r = btc_daily_log_returns()[:400]
    gap = r.copy()
    gap[200] = np.nan
    for results in (var_backtest(gap, start=300), var_backtest(r, start=50), var_backtest(r, start=400)):
        assert len(results) == 10
        assert {x.kupiec.reason for x in results} == {Reason.BAD_PARAMETER}
        assert all(math.isnan(x.kupiec.lr) for x in results)
