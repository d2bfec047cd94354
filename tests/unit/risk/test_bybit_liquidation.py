"""Bybit's liquidation model: entry-valued MM, linear LP (venues.md §3.5, §5)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from monitor.risk.bybit_liquidation import (
    bybit_classic_isolated_liquidation_price,
    bybit_cross_liquidation_price,
    bybit_isolated_liquidation_price,
    bybit_position_mm,
)
from monitor.risk.liquidation import liquidation_price
from monitor.risk.margin import brackets

ONE_TIER = (np.array([0.0]), np.array([0.005]), np.array([0.0]))


def test_documented_example_long_1_btc_at_10000_50x() -> None:
    """Long 1 BTC @ 10,000, 50×, MMR 0.5 % → 9,850, by the help-centre form and the general one."""
    assert bybit_classic_isolated_liquidation_price(1.0, 10_000.0, 50.0, 0.005) == 9_850.0
    mm = bybit_position_mm(1.0, 10_000.0, *ONE_TIER)
    assert mm == 50.0
    assert math.isclose(bybit_isolated_liquidation_price(1.0, 10_000.0, 10_000.0 / 50, mm), 9_850.0)


def test_binance_formula_differs_on_the_same_example() -> None:
    """Why a second model: Binance re-tiers MM at the LP and lands at 9,849.25, not 9,850."""
    b = brackets([0.0], [0.005])
    lp = liquidation_price(qty=1.0, entry=10_000.0, mark=10_000.0, wallet=200.0, brackets=b).price
    assert round(lp, 2) == 9_849.25


def test_short_and_extra_margin() -> None:
    """Short: EP·(1 + IMR − MMR) + extra/size; added margin pushes the LP away for both sides."""
    assert math.isclose(bybit_classic_isolated_liquidation_price(-2.0, 10_000.0, 50.0, 0.005), 10_150.0)
    assert math.isclose(
        bybit_classic_isolated_liquidation_price(-2.0, 10_000.0, 50.0, 0.005, 100.0), 10_200.0
    )
    assert math.isclose(bybit_classic_isolated_liquidation_price(2.0, 10_000.0, 50.0, 0.005, 100.0), 9_800.0)


@given(
    qty=st.floats(0.001, 500.0) | st.floats(-500.0, -0.001),
    entry=st.floats(1.0, 200_000.0),
    lev=st.floats(1.0, 100.0),
    extra=st.floats(0.0, 1_000.0),
)
def test_general_form_equals_help_centre_form(qty: float, entry: float, lev: float, extra: float) -> None:
    """balance = IM + extra, MM = value·mmr: the general LP is the help-centre LP (where both are defined)."""
    mm = bybit_position_mm(qty, entry, *ONE_TIER)
    general = bybit_isolated_liquidation_price(qty, entry, abs(qty) * entry / lev + extra, mm)
    classic = bybit_classic_isolated_liquidation_price(qty, entry, lev, 0.005, extra)
    assert (math.isnan(general) and math.isnan(classic)) or math.isclose(general, classic, rel_tol=1e-9)


def test_tier_and_deduction_come_from_the_entry_value() -> None:
    floors, mmrs, ded = np.array([0.0, 2e6]), np.array([0.005, 0.01]), np.array([0.0, 10_000.0])
    assert bybit_position_mm(-30.0, 100_000.0, floors, mmrs, ded) == 3e6 * 0.01 - 10_000.0
    assert bybit_position_mm(np.array([1.0, 0.0]), 100.0, floors, mmrs, ded).tolist() == [0.5, 0.0]


def test_cross_lp_holds_the_other_marks() -> None:
    """Equity 1,000 over ΣMM 200: a 2 BTC long's mark may fall 400 before equity meets MM."""
    assert bybit_cross_liquidation_price(2.0, 30_000.0, 1_000.0, 200.0) == 29_600.0
    assert bybit_cross_liquidation_price(-2.0, 30_000.0, 1_000.0, 200.0) == 30_400.0


def test_no_positive_price_is_nan() -> None:
    """A long that no price liquidates (balance above value) has no LP, never 0 or a negative one."""
    assert math.isnan(bybit_isolated_liquidation_price(1.0, 100.0, 200.0, 0.5))
    assert math.isnan(bybit_cross_liquidation_price(0.0, 100.0, 10.0, 1.0))
    assert math.isnan(bybit_classic_isolated_liquidation_price(1.0, float("nan"), 10.0, 0.005))
