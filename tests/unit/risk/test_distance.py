"""Distance to liquidation in %, in sigmas, and the touch probability (risk-formulas §6)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.risk.distance import liquidation_distance, liquidation_sigma, touch_probability


def test_worked_example() -> None:
    """Mark 60,000, LP 66,000, σ_ann 60 %, H 1 day → d 10 %, k = 3.035, p = 0.241 %."""
    assert pytest.approx(liquidation_distance(66_000.0, 60_000.0), rel=1e-12) == 0.1
    k = liquidation_sigma(66_000.0, 60_000.0, 0.60, 86_400.0)
    assert round(k, 3) == 3.035
    assert round(touch_probability(k), 5) == 0.00241


def test_bad_inputs_are_nan() -> None:
    """No LP (NaN), zero volatility, non-positive prices → NaN, never 'infinitely safe'."""
    assert math.isnan(liquidation_distance(math.nan, 60_000.0))
    assert math.isnan(liquidation_sigma(66_000.0, 60_000.0, 0.0))
    assert math.isnan(liquidation_sigma(66_000.0, -1.0, 0.6))
    assert math.isnan(touch_probability(math.nan))


def test_vectorised() -> None:
    """Arrays in, arrays out, elementwise."""
    lp = np.array([54_000.0, 66_000.0, np.nan])
    d = liquidation_distance(lp, np.full(3, 60_000.0))
    np.testing.assert_allclose([0.1, 0.1], d[:2])
    assert math.isnan(d[2])


@given(st.floats(0.0, 10.0), st.floats(0.0, 10.0))
def test_touch_probability_decreases_with_distance(k1: float, k2: float) -> None:
    """Further in sigmas never means more likely to touch; p(0) = 1."""
    lo, hi = sorted((k1, k2))
    assert touch_probability(hi) <= touch_probability(lo)
    assert touch_probability(0.0) == 1.0
