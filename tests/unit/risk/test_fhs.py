"""Filtered historical simulation rescaling, against the EWMA recursion worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.risk.fhs import fhs_rescale


def test_each_leg_is_rescaled_by_its_own_sigma_now_over_sigma_t() -> None:
    """λ = 0.5 and three rows, so every σ² is written out: σ²₀ = mean r² (the RiskMetrics start),
    σ²_{t+1} = ½σ²_t + ½r²_t, and row t of leg j becomes r_t·σ_now/σ_t with σ_now = σ²₃."""
    r = np.array([[0.01, 0.02], [-0.02, 0.0], [0.03, -0.01]])
    a0 = (1e-4 + 4e-4 + 9e-4) / 3  # leg a
    a1 = 0.5 * a0 + 0.5 * 1e-4
    a2 = 0.5 * a1 + 0.5 * 4e-4
    a_now = 0.5 * a2 + 0.5 * 9e-4
    b0 = (4e-4 + 0.0 + 1e-4) / 3  # leg b
    b1 = 0.5 * b0 + 0.5 * 4e-4
    b2 = 0.5 * b1 + 0.0
    b_now = 0.5 * b2 + 0.5 * 1e-4
    want = np.array(
        [
            [0.01 * math.sqrt(a_now / a0), 0.02 * math.sqrt(b_now / b0)],
            [-0.02 * math.sqrt(a_now / a1), 0.0],
            [0.03 * math.sqrt(a_now / a2), -0.01 * math.sqrt(b_now / b2)],
        ]
    )
    got = fhs_rescale(r, lam=0.5)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    # the last row of leg a came after a calm σ and today is wilder: it is scaled up, not replayed
    assert got[2, 0] == pytest.approx(0.03 * math.sqrt(6.208333333e-4 / 3.416666667e-4), rel=1e-8)


def test_a_calm_window_after_a_shock_is_replayed_at_todays_volatility() -> None:
    """Returns of sd 1 % then 4 %: rescaled, the early rows carry roughly the recent 4 %."""
    rng = np.random.default_rng(7)
    r = np.concatenate([rng.normal(0, 0.01, 400), rng.normal(0, 0.04, 100)])[:, None]
    f = fhs_rescale(r)
    assert np.std(r[:400]) < 0.012
    assert 0.025 < np.std(f[:400]) < 0.06


def test_sigma_t_zero_gives_nan_not_inf() -> None:
    """A leg that never moved has σ_t = 0 throughout: its ratio is undefined, so NaN, never ±inf."""
    r = np.array([[0.0, 0.01], [0.0, -0.02], [0.0, 0.015]])
    f = fhs_rescale(r)
    assert np.all(np.isnan(f[:, 0])) and np.all(np.isfinite(f[:, 1]))
    assert np.all(np.isnan(fhs_rescale(r, lam=1.5)))
