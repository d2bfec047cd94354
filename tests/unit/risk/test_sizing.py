"""Sizing advice: target-vol notional and the half-Kelly cap."""

from __future__ import annotations

import math

import pytest

from monitor.risk.reasons import Reason
from monitor.risk.sizing import half_kelly_fraction, sizing_advice, target_vol_notional


def test_target_vol_notional() -> None:
    """1,000,000 capital, target 20 %, forecast 60 % → 333,333 notional (exposure 1/3, §9)."""
    assert target_vol_notional(1e6, 0.20, 0.60) == pytest.approx(1e6 / 3)
    assert math.isnan(target_vol_notional(1e6, 0.20, 0.0))


def test_half_kelly() -> None:
    """μ 0.1 %/day, σ² (3 %)²/day → half-Kelly 0.5·0.001/0.0009 = 0.556 of capital."""
    assert half_kelly_fraction(0.001, 0.0009) == pytest.approx(0.5 * 0.001 / 0.0009)
    assert math.isnan(half_kelly_fraction(0.001, 0.0))


def test_advice_picks_the_binding_limit() -> None:
    """The smaller of the two limits wins; no edge → 0; no mean forecast → vol target only."""
    a = sizing_advice(1e6, 0.20, 0.60, mu=0.001, var=0.0009)
    assert (a.binding, a.recommended_notional) == ("target_vol", pytest.approx(1e6 / 3))
    b = sizing_advice(1e6, 0.20, 0.60, mu=0.0001, var=0.0009)
    assert (b.binding, b.recommended_notional) == ("half_kelly", pytest.approx(1e6 * 0.5 * 0.0001 / 0.0009))
    assert sizing_advice(1e6, 0.20, 0.60, mu=-0.001, var=0.0009).recommended_notional == 0.0
    assert sizing_advice(1e6, 0.20, 0.60).binding == "target_vol"
    assert sizing_advice(1e6, 0.20, 0.0).reason == Reason.ZERO_VOLATILITY
    assert sizing_advice(1e6, 0.20, 0.60, mu=math.nan, var=0.01).reason == Reason.NAN_INPUT
