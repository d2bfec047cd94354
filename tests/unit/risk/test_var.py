"""VaR and ES: parametric, Student-t, two-leg var-cov, historical (risk-formulas §8)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.risk import var as v
from monitor.risk.reasons import Reason


def test_parametric_worked_example() -> None:
    """σ_daily 3 %, V 1,000,000, α 0.99, T 1 day → VaR 69,790, ES 79,956."""
    res = v.parametric_var_es(0.03, 1_000_000.0, 0.99)
    assert round(res.var) == 69_790
    assert round(res.es) == 79_956
    assert v.parametric_var_es(0.03, 1_000_000.0, 0.95).var == pytest.approx(1.6449 * 30_000, rel=1e-4)


def test_parametric_bad_inputs() -> None:
    """NaN, α outside (0, 1), σ < 0 → NaN with a reason."""
    assert v.parametric_var_es(math.nan, 1.0, 0.99).reason == Reason.NAN_INPUT
    assert v.parametric_var_es(0.03, 1.0, 1.0).reason == Reason.BAD_PARAMETER
    assert v.parametric_var_es(-0.03, 1.0, 0.99).reason == Reason.BAD_PARAMETER
    assert v.student_t_var_es(0.03, 1.0, 0.99, 2.0).reason == Reason.BAD_PARAMETER


def test_student_t_tends_to_normal() -> None:
    """With ν → ∞ the t VaR/ES tend to the normal ones; with small ν the 99 % ES is fatter."""
    n = v.parametric_var_es(0.03, 1e6, 0.99)
    t = v.student_t_var_es(0.03, 1e6, 0.99, 1e7)
    assert t.var == pytest.approx(n.var, rel=1e-5)
    assert t.es == pytest.approx(n.es, rel=1e-5)
    assert v.student_t_var_es(0.03, 1e6, 0.99, 4.0).es > n.es


def test_delta_neutral_book_has_basis_var_not_zero() -> None:
    """w_s = 1, w_f = −1: σ_p = √(σ_s² + σ_f² − 2ρσ_sσ_f), the basis-return vol (seed 003)."""
    s = v.two_leg_sigma(1e6, -1e6, 0.03, 0.0302, 0.998)
    assert s == pytest.approx(1e6 * math.sqrt(0.03**2 + 0.0302**2 - 2 * 0.998 * 0.03 * 0.0302))
    assert s > 0
    assert v.portfolio_sigma(np.array([1e6, -1e6]), np.array([[0.03**2, 0.998 * 0.03 * 0.0302],
                             [0.998 * 0.03 * 0.0302, 0.0302**2]])) == pytest.approx(s)  # fmt: skip
    assert math.isnan(v.two_leg_sigma(1, 1, 0.1, 0.1, 1.5))


def test_historical() -> None:
    """VaR = −quantile_{1−α}, ES = mean of the tail; NaN scenarios are dropped; too few → EMPTY_HISTORY."""
    pnl = np.arange(-50.0, 50.0)  # −50 … 49
    res = v.historical_var_es(pnl, 0.95)
    q = np.quantile(pnl, 0.05)
    assert res.var == pytest.approx(-q)
    assert res.es == pytest.approx(-pnl[pnl <= q].mean())
    assert v.historical_var_es(np.full(5, np.nan), 0.95).reason == Reason.EMPTY_HISTORY
    r = np.log(np.array([[1.1, 0.9], [0.95, 1.05]]))
    np.testing.assert_allclose(v.historical_pnl(r, np.array([100.0, -100.0])), [20.0, -10.0])


samples = st.lists(st.floats(-1e6, 1e6), min_size=30, max_size=300)
alphas = st.floats(0.5, 0.999)


@settings(max_examples=150, deadline=None)
@given(samples, alphas, alphas)
def test_historical_var_monotone_and_es_above_var(pnl: list[float], a1: float, a2: float) -> None:
    """Higher confidence never lowers VaR, and ES ≥ VaR."""
    lo, hi = sorted((a1, a2))
    r_lo, r_hi = v.historical_var_es(np.array(pnl), lo), v.historical_var_es(np.array(pnl), hi)
    assert r_hi.var >= r_lo.var - 1e-9
    for r in (r_lo, r_hi):
        assert r.es >= r.var - 1e-9 * max(1.0, abs(r.var))


@settings(max_examples=150, deadline=None)
@given(st.floats(1e-4, 0.5), st.floats(-1e7, 1e7), alphas, alphas, st.floats(2.5, 50.0))
def test_parametric_var_monotone_and_es_above_var(sigma: float, value: float, a1: float, a2: float,
                                                  nu: float) -> None:  # fmt: skip
    """Normal and Student-t: VaR rises with confidence, ES ≥ VaR."""
    lo, hi = sorted((a1, a2))
    for f in (
        lambda a: v.parametric_var_es(sigma, value, a),
        lambda a: v.student_t_var_es(sigma, value, a, nu),
    ):
        r_lo, r_hi = f(lo), f(hi)
        assert r_hi.var >= r_lo.var - 1e-9 * abs(value)
        assert r_hi.es >= r_hi.var - 1e-9 * abs(value) and r_lo.es >= r_lo.var - 1e-9 * abs(value)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.floats(-1e7, 1e7, allow_nan=False), min_size=20, max_size=400),
    st.sampled_from([0.9, 0.95, 0.975, 0.99, 0.999]),
)
def test_historical_var_is_numpys_linear_quantile_exactly(pnl: list[float], alpha: float) -> None:
    """The partial-selection quantile must equal np.quantile bit for bit, ties and duplicates included."""
    x = np.asarray(pnl)
    r = v.historical_var_es(x, alpha)
    q = float(np.quantile(x, 1.0 - alpha))
    assert r.var == -q
    assert r.es == -float(np.mean(x[x <= q]))
