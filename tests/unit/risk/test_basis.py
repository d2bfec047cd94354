"""Basis, bps, premium and the OU fit (risk-formulas §2)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.risk import basis as b
from monitor.risk.reasons import Reason

DAY = 86_400.0


def test_basis_bps_premium() -> None:
    """B = spot − perp; bps of spot; premium (mark − index)/index."""
    assert pytest.approx(b.basis(4_650.0, 4_539.0)) == 111.0
    assert pytest.approx(b.basis_bps(4_650.0, 4_539.0)) == 111.0 / 4_650.0 * 1e4
    assert pytest.approx(b.premium(50_050.0, 50_000.0)) == 0.001
    assert math.isnan(b.basis_bps(0.0, 1.0)) and math.isnan(b.premium(1.0, math.nan))


def _ou_path(theta: float, mu: float, sigma: float, dt: float, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = math.exp(-theta * dt)
    sd = sigma * math.sqrt((1 - a * a) / (2 * theta))
    x = np.empty(n)
    x[0] = mu
    eps = rng.standard_normal(n) * sd
    for k in range(1, n):
        x[k] = mu + (x[k - 1] - mu) * a + eps[k]
    return x


def test_ou_fit_recovers_parameters() -> None:
    """Exact OU path θ = 2/day, μ = 50, σ = 40/√day, 200,000 × 1 min: θ ±20 %, μ ±5, σ ±2 %."""
    theta, mu, sigma = 2.0 / DAY, 50.0, 40.0 / math.sqrt(DAY)
    fit = b.ou_fit(_ou_path(theta, mu, sigma, 60.0, 200_000, seed=7), 60.0)
    assert fit.mean_reverting and fit.reason == Reason.OK
    assert theta == pytest.approx(fit.theta, rel=0.20)
    assert mu == pytest.approx(fit.mu, abs=5.0)
    assert sigma == pytest.approx(fit.sigma, rel=0.02)
    assert math.log(2) / fit.theta == pytest.approx(fit.half_life_s)
    assert fit.sigma / math.sqrt(2 * fit.theta) == pytest.approx(fit.stationary_sd)
    assert pytest.approx(b.ou_zscore(fit.mu + fit.stationary_sd, fit)) == 1.0


def test_random_walk_is_not_mean_reverting() -> None:
    """A trending or explosive series gives NaN figures and the flag, never a negative half-life."""
    walk = np.cumsum(np.ones(500))  # b = 1 exactly
    explosive = 1.01 ** np.arange(500)
    for x in (walk, explosive):
        fit = b.ou_fit(x, 60.0)
        assert not fit.mean_reverting
        assert fit.reason == Reason.NOT_MEAN_REVERTING
        assert math.isnan(fit.half_life_s) and math.isnan(fit.theta)
        assert math.isnan(b.ou_zscore(1.0, fit))


def test_short_flat_and_nan_histories() -> None:
    """Empty or tiny histories, a flat series and a bad step give NaN + reason; NaN gaps are skipped."""
    assert b.ou_fit(np.zeros(0), 60.0).reason == Reason.EMPTY_HISTORY
    assert b.ou_fit(np.array([1.0, 2.0, np.nan]), 60.0).reason == Reason.EMPTY_HISTORY
    assert b.ou_fit(np.full(50, 3.0), 60.0).reason == Reason.ZERO_VOLATILITY
    assert b.ou_fit(np.arange(50.0), 0.0).reason == Reason.BAD_PARAMETER
    path = _ou_path(2.0 / DAY, 50.0, 40.0 / math.sqrt(DAY), 60.0, 20_000, seed=3)
    path[::100] = np.nan
    assert b.ou_fit(path, 60.0).mean_reverting
