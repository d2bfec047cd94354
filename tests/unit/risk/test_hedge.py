"""Delta, hedge ratio, beta hedge and volatility targeting (risk-formulas §1, §9)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.risk import hedge as h
from monitor.risk.reasons import Reason


def test_full_hedge_contracts() -> None:
    """1,000 BTC at 70,000 with a 1 BTC contract → −1,000 contracts; HR = 1 once shorted."""
    assert h.contracts_for_full_hedge(1_000 * 70_000.0, 70_000.0) == -1_000.0
    assert h.hedge_ratio(np.array([-600.0, -400.0]), 1_000.0) == 1.0
    assert h.net_delta(np.array([400.0]), np.array([600.0]), np.array([-600.0, -400.0])) == 0.0
    assert h.net_delta_usd(np.array([1_000.0, -1_000.0]), np.array([70_000.0, 70_000.0])) == 0.0
    assert math.isnan(h.hedge_ratio(-1.0, 0.0))


def test_beta_hedge_quantity_example() -> None:
    """V_A 10,000,000, β 0.9, P_B 50,000, h 0.8 → q_B = −144 BTC."""
    assert pytest.approx(h.beta_hedge_qty(0.9, 10_000_000.0, 50_000.0, 0.8)) == -144.0


def test_beta_hedge_from_returns() -> None:
    """β and R² from aligned returns: r_A = 0.9·r_B + noise recovers β ≈ 0.9, R² matches corr²."""
    rng = np.random.default_rng(5)
    rb = rng.standard_normal(5_000) * 0.02
    ra = 0.9 * rb + rng.standard_normal(5_000) * 0.01
    res = h.beta_hedge(ra, rb, 10_000_000.0, 50_000.0, fraction=0.8)
    assert pytest.approx(res.beta, abs=0.02) == 0.9
    assert np.corrcoef(ra, rb)[0, 1] ** 2 == pytest.approx(res.r2)
    assert -0.8 * res.beta * 200 == pytest.approx(res.qty)
    assert h.beta_hedge(ra[:5], rb[:5], 1.0, 1.0).reason == Reason.EMPTY_HISTORY
    assert h.beta_hedge(ra[:50], np.zeros(50), 1.0, 1.0).reason == Reason.ZERO_VOLATILITY


def test_vol_target_examples() -> None:
    """20 %/60 % → exposure 33.3 %, hedge 66.7 %; 20 %/80 % → 25 %, 75 %; capped at 1."""
    assert pytest.approx(h.vol_target_exposure(0.20, 0.60)) == 1 / 3
    assert pytest.approx(h.recommended_hedge(0.20, 0.60)) == 2 / 3
    assert pytest.approx(h.vol_target_exposure(0.20, 0.80)) == 0.25
    assert pytest.approx(h.recommended_hedge(0.20, 0.80)) == 0.75
    assert h.vol_target_exposure(0.20, 0.10) == 1.0
    assert math.isnan(h.vol_target_exposure(0.20, 0.0))
    assert pytest.approx(h.hedge_deviation(0.70, 0.75)) == 0.05
