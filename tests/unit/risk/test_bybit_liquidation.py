"""Bybit's linear model since 2025-09-02: MM on the mark value, LP re-tiered at the LP (venues-next §f.3)."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from monitor.risk.bybit_liquidation import (
    bybit_classic_isolated_liquidation_price,
    bybit_cross_liquidation_price,
    bybit_fee_to_close,
    bybit_isolated_liquidation_price,
    bybit_isolated_liquidation_price_2024,
    bybit_isolated_lp_closed,
    bybit_position_mm,
)
from monitor.risk.inverse_margin import bybit_inverse_isolated_lp_2024, bybit_inverse_isolated_lp_closed
from monitor.risk.liquidation import liquidation_price
from monitor.risk.margin import brackets, cum_from_brackets

ONE_TIER = (np.array([0.0]), np.array([0.005]), np.array([0.0]))
# two tiers, deduction from the recursion: 2 M × (1 % − 0.5 %) = 10,000
TWO = (np.array([0.0, 2e6]), np.array([0.005, 0.01]), np.array([0.0, 10_000.0]))


def _iso_excess(q: float, ep: float, balance: float, p: float, tiers: tuple[np.ndarray, ...]) -> float:
    """The venue's isolated margin test at mark p: balance + UPnL − MM(p)."""
    return balance + q * (p - ep) - float(bybit_position_mm(q, p, *tiers))


def test_help_centre_example_now_and_in_2024() -> None:
    """Long 1 BTC @ 10,000, 50×, MMR 0.5 %: (10,000 − 200)/0.995 = 9,849.2462 now, 9,850 before."""
    lp = float(bybit_isolated_liquidation_price(1.0, 10_000.0, 200.0, *ONE_TIER))
    assert math.isclose(lp, 9_800.0 / 0.995, rel_tol=1e-15)
    assert round(lp, 4) == 9_849.2462
    assert math.isclose(_iso_excess(1.0, 10_000.0, 200.0, lp, ONE_TIER), 0.0, abs_tol=1e-9)
    assert bybit_classic_isolated_liquidation_price(1.0, 10_000.0, 50.0, 0.005) == 9_850.0
    mm_entry = float(bybit_position_mm(1.0, 10_000.0, *ONE_TIER))
    assert math.isclose(bybit_isolated_liquidation_price_2024(1.0, 10_000.0, 200.0, mm_entry), 9_850.0)
    # and it is Binance's USDⓈ-M formula with the same single tier (9,849.25 there too)
    b = brackets([0.0], [0.005])
    binance = liquidation_price(qty=1.0, entry=10_000.0, mark=10_000.0, wallet=200.0, brackets=b).price
    assert math.isclose(lp, binance, rel_tol=1e-12)


def test_inverse_a4_gap_and_its_linear_analogue() -> None:
    """A4 (inverse, 60,000 USD @ 50,000, 10×, 0.5 %): 45,681.8182 now vs 45,662.1005 in 2024.

    Linear analogue: long 2 BTC @ 60,000, 10×, 0.5 %: (60,000 − 6,000)/0.995 = 54,271.3568 now,
    54,300 by the 2024 form (0.053 % nearer the entry); the LP put back ties the margin test.
    """
    assert round(float(bybit_inverse_isolated_lp_closed(60_000.0, 50_000.0, 10.0, 0.005)), 4) == 45_681.8182
    assert round(float(bybit_inverse_isolated_lp_2024(60_000.0, 50_000.0, 10.0, 0.005)), 4) == 45_662.1005
    lp = float(bybit_isolated_liquidation_price(2.0, 60_000.0, 12_000.0, *ONE_TIER))
    assert round(lp, 4) == 54_271.3568
    assert math.isclose(lp, float(bybit_isolated_lp_closed(2.0, 60_000.0, 10.0, 0.005)), rel_tol=1e-15)
    mm_at_lp = 2.0 * lp * 0.005
    assert math.isclose(12_000.0 + 2.0 * (lp - 60_000.0), mm_at_lp, rel_tol=1e-12)  # 542.7136 each
    old = float(bybit_classic_isolated_liquidation_price(2.0, 60_000.0, 10.0, 0.005))
    assert old == 54_300.0 and round((old / lp - 1) * 100, 3) == 0.053


def test_tier_is_the_one_at_the_lp_not_at_the_entry() -> None:
    """Long 40 @ 51,000 (2.04 M, tier 2), 25×: tier 2 gives 49,202.0202 where the value is in tier 1;
    tier 1 gives 49,206.0302, self-consistent, and the margin test ties there (MM 9,841.206)."""
    lp = float(bybit_isolated_liquidation_price(40.0, 51_000.0, 81_600.0, *TWO))
    assert round(lp, 4) == 49_206.0302
    assert math.isclose(_iso_excess(40.0, 51_000.0, 81_600.0, lp, TWO), 0.0, abs_tol=1e-6)
    at_entry_tier = float(bybit_isolated_lp_closed(40.0, 51_000.0, 25.0, 0.01, 10_000.0))
    assert round(at_entry_tier, 4) == 49_202.0202 and 40.0 * at_entry_tier < 2e6
    # a short's LP lies further up, in the higher tier: 45 @ 50,000, 50× → 50,715.0715 (tier 2)
    short = float(bybit_isolated_liquidation_price(-45.0, 50_000.0, 45_000.0, *TWO))
    assert round(short, 4) == 50_715.0715
    assert math.isclose(_iso_excess(-45.0, 50_000.0, 45_000.0, short, TWO), 0.0, abs_tol=1e-6)


def test_fee_to_close_cancels_in_isolated() -> None:
    """`positionBalance` holds the fee to close and so does MM: same LP as without both."""
    fee = float(bybit_fee_to_close(1.0, 10_000.0, 50.0, 0.00055))
    assert math.isclose(fee, 10_000.0 * (1 - 1 / 50) * 0.00055)  # 5.39: on the bankruptcy value
    assert math.isclose(
        float(bybit_fee_to_close(-1.0, 10_000.0, 50.0, 0.00055)), 10_000.0 * (1 + 1 / 50) * 0.00055
    )
    balance = 200.0 + fee
    with_fee = float(bybit_isolated_liquidation_price(1.0, 10_000.0, balance, *ONE_TIER, fee_to_close=fee))
    assert math.isclose(with_fee, 9_800.0 / 0.995, rel_tol=1e-14)
    # counted in the balance only, it would move the LP by fee/size/(1 − MMR)
    only_balance = float(bybit_isolated_liquidation_price(1.0, 10_000.0, 200.0 + fee, *ONE_TIER))
    assert math.isclose(with_fee - only_balance, fee / 0.995, rel_tol=1e-9)


def test_cross_lp_revalues_its_own_mm_at_the_lp() -> None:
    """Equity 1,000, Σ MM 60 (own 2 BTC long at 30,000, 0.1 %): 29,529.53, not 2024's 29,530."""
    tiers = (np.array([0.0]), np.array([0.001]), np.array([0.0]))
    lp = float(bybit_cross_liquidation_price(2.0, 30_000.0, 1_000.0, 60.0, *tiers))
    assert math.isclose(lp, 59_000.0 / 1.998, rel_tol=1e-14)
    equity_at_lp = 1_000.0 + 2.0 * (lp - 30_000.0)
    assert math.isclose(equity_at_lp, 2.0 * lp * 0.001, rel_tol=1e-11)
    short = float(bybit_cross_liquidation_price(-2.0, 30_000.0, 1_000.0, 60.0, *tiers))
    assert math.isclose(1_000.0 - 2.0 * (short - 30_000.0), 2.0 * short * 0.001, rel_tol=1e-11)


def test_mm_is_on_the_value_at_the_price_given() -> None:
    """Tier and deduction come from |q|·price: 30 @ 100,000 is tier 2 (30,000 − 10,000)."""
    assert bybit_position_mm(-30.0, 100_000.0, *TWO) == 3e6 * 0.01 - 10_000.0
    assert bybit_position_mm(np.array([1.0, 0.0]), 100.0, *TWO).tolist() == [0.5, 0.0]


def test_no_positive_price_is_nan() -> None:
    """A long that no price liquidates (balance above value) has no LP, never 0 or a negative one."""
    assert math.isnan(bybit_isolated_liquidation_price(1.0, 100.0, 200.0, *ONE_TIER))
    assert math.isnan(bybit_cross_liquidation_price(0.0, 100.0, 10.0, 1.0, *ONE_TIER))
    assert math.isnan(bybit_isolated_liquidation_price(1.0, math.nan, 10.0, *ONE_TIER))
    assert math.isnan(bybit_classic_isolated_liquidation_price(1.0, float("nan"), 10.0, 0.005))


_floors = st.lists(st.floats(1e4, 5e7), min_size=0, max_size=4, unique=True).map(lambda x: [0.0, *sorted(x)])


@given(
    qty=st.floats(0.001, 500.0) | st.floats(-500.0, -0.001),
    entry=st.floats(1.0, 200_000.0),
    lev=st.floats(1.0, 100.0),
    extra=st.floats(0.0, 1_000.0),
    floors=_floors,
    step=st.floats(0.001, 0.01),
)
def test_isolated_is_binance_solver_and_ties_the_margin_test(
    qty: float, entry: float, lev: float, extra: float, floors: list[float], step: float
) -> None:
    """Any consistent table: the LP ties balance + UPnL = MM at its own tier, as Binance's solver finds."""
    f = np.array(floors)
    m = 0.004 + step * np.arange(f.size)
    tiers = (f, m, cum_from_brackets(f, m))
    balance = abs(qty) * entry / lev + extra
    lp = float(bybit_isolated_liquidation_price(qty, entry, balance, *tiers))
    ref = liquidation_price(qty=qty, entry=entry, mark=entry, wallet=balance, brackets=brackets(f, m)).price
    assert (math.isnan(lp) and math.isnan(ref)) or math.isclose(lp, ref, rel_tol=1e-9)
    if not math.isnan(lp):
        scale = abs(qty) * entry
        assert abs(_iso_excess(qty, entry, balance, lp, tiers)) <= 1e-9 * scale


@given(
    qty=st.floats(0.01, 300.0) | st.floats(-300.0, -0.01),
    mark=st.floats(100.0, 100_000.0),
    wallet=st.floats(1_000.0, 5e6),
    other_mm=st.floats(0.0, 1e5),
    other_upnl=st.floats(-1e5, 1e5),
)
def test_cross_is_binance_solver_with_the_others_held(
    qty: float, mark: float, wallet: float, other_mm: float, other_upnl: float
) -> None:
    """Cross with other positions held: same root as Binance's solver given the same TMM1/UPNL1."""
    tiers = TWO
    own_mm = float(bybit_position_mm(qty, mark, *tiers))
    equity = wallet + other_upnl  # own entry = mark: own UPnL 0
    lp = float(bybit_cross_liquidation_price(qty, mark, equity, other_mm + own_mm, *tiers))
    ref = liquidation_price(
        qty=qty,
        entry=mark,
        mark=mark,
        wallet=wallet,
        brackets=brackets(tiers[0], tiers[1]),
        other_mm=other_mm,
        other_upnl=other_upnl,
    ).price
    assert (math.isnan(lp) and math.isnan(ref)) or math.isclose(lp, ref, rel_tol=1e-9)
