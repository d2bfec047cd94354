"""Funding annualisation, payments, carry, spread and stress (risk-formulas §3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.risk import funding as f


def test_annualised_worked_examples() -> None:
    """0.0001 per 8 h → 10.95 %/yr; per 1 h → 87.6 %/yr."""
    assert pytest.approx(f.annualised_funding(0.0001, 8.0), rel=1e-12) == 0.1095
    assert pytest.approx(f.annualised_funding(0.0001, 1.0), rel=1e-12) == 0.876
    np.testing.assert_allclose(
        [0.1095, 0.219, 0.876], f.annualised_funding(np.full(3, 1e-4), np.array([8.0, 4, 1]))
    )


def test_bad_interval_is_nan() -> None:
    """An interval of 0, negative or NaN hours gives NaN, not a silent 8 h default."""
    assert all(math.isnan(f.annualised_funding(1e-4, h)) for h in (0.0, -8.0, math.nan))


def test_payment_sign() -> None:
    """Longs pay shorts when r > 0: pay = −q·mark·r."""
    assert pytest.approx(f.funding_payment(1.0, 50_000.0, 0.0001)) == -5.0
    assert pytest.approx(f.funding_payment(-1.0, 50_000.0, 0.0001)) == 5.0


def test_book_carry_per_day() -> None:
    """Σ −q·mark·r·24/h: a short 8 h and a short 1 h position at +1 bp."""
    q = np.array([-10.0, -100.0])
    mark = np.array([50_000.0, 3_000.0])
    carry = f.book_carry_per_day(q, mark, np.full(2, 1e-4), np.array([8.0, 1.0]))
    assert pytest.approx(carry) == 10 * 50_000 * 1e-4 * 3 + 100 * 3_000 * 1e-4 * 24
    assert math.isnan(f.book_carry_per_day(q, mark, np.array([1e-4, np.nan]), np.array([8.0, 1.0])))


def test_spread_and_stress() -> None:
    """Spread is in annualised terms; 7 days at −0.30 %/8 h on 1 BTC @ 50,000 costs 21·0.003·50,000."""
    assert pytest.approx(f.funding_spread(1e-4, 1.0, 1e-4, 8.0)) == 0.876 - 0.1095
    assert pytest.approx(f.funding_stress_cost(1.0, 50_000.0, -0.003, 8.0, 7.0)) == 21 * 0.003 * 50_000
