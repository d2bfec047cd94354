"""Grid resampling, log returns, EWMA and annualisation (risk-formulas §7)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.risk import volatility as v

S = 1_000_000_000


def test_resample_last_takes_last_at_or_before() -> None:
    """Each grid point takes the last sample at or before it; NaN before the first sample."""
    ts = np.array([10, 25, 30, 31], dtype=np.int64) * S
    vals = np.array([1.0, 2.0, 3.0, 4.0])
    out = v.resample_last(ts, vals, 10 * S, 40 * S, 5)  # grid 0,10,20,30,40
    assert np.isnan(out[0])
    assert out[1:].tolist() == [1.0, 1.0, 3.0, 4.0]


def test_resample_last_max_age_and_edge_cases() -> None:
    """Stale values become NaN with max_age; unsorted input is sorted; bad step/n handled."""
    ts = np.array([30, 10], dtype=np.int64) * S
    out = v.resample_last(ts, np.array([3.0, 1.0]), 10 * S, 60 * S, 4, max_age_ns=15 * S)  # 30..60
    assert out[:2].tolist() == [3.0, 3.0] and np.all(np.isnan(out[2:]))
    assert v.resample_last(ts, np.ones(2), S, 0, 0).size == 0
    assert np.all(np.isnan(v.resample_last(ts, np.ones(2), 0, 0, 3)))
    assert np.all(np.isnan(v.resample_last(np.zeros(0, np.int64), np.zeros(0), S, 10 * S, 3)))


def test_log_returns() -> None:
    """ln(v1/v0), NaN where a price is ≤ 0."""
    r = v.log_returns(np.array([100.0, 110.0, 0.0, 121.0]))
    assert math.log(1.1) == pytest.approx(r[0])
    assert np.isnan(r[1]) and np.isnan(r[2])


def test_ewma_matches_recursion() -> None:
    """σ²_t = λσ²_{t−1} + (1 − λ)r²_{t−1}, element by element, from the given start."""
    rng = np.random.default_rng(0)
    r = rng.standard_normal(300) * 0.02
    path = v.ewma_variance_path(r, 0.94, init=0.0004)
    s = 0.0004
    expected = [s]
    for x in r:
        s = 0.94 * s + 0.06 * x * x
        expected.append(s)
    np.testing.assert_allclose(expected, path, rtol=1e-12)
    assert path[-1] == v.ewma_variance(r, 0.94, init=0.0004)
    upd = v.ewma_update(np.array([0.0004, 0.0004]), np.array([0.02, np.nan]))
    assert pytest.approx(upd.tolist()) == [0.94 * 0.0004 + 0.06 * 0.0004, 0.0004]


def test_ewma_bad_inputs() -> None:
    """No finite return or λ outside (0, 1) → NaN."""
    assert math.isnan(v.ewma_variance(np.array([np.nan, np.nan])))
    assert math.isnan(v.ewma_variance(np.ones(5), lam=1.0))


def test_annualisation() -> None:
    """Daily √365, hourly √8,760, 1-min √525,600."""
    assert v.periods_per_year(86_400) == 365
    assert v.periods_per_year(3_600) == 8_760
    assert v.periods_per_year(60) == 525_600
    assert 0.03 * math.sqrt(365) == pytest.approx(v.annualise_vol(0.03, 365))
