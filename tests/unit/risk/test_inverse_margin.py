"""Inverse perpetuals (venues-next §a): coin PnL and MM, the COIN-M LP re-tiered at the LP, Bybit inverse."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.risk.inverse_margin import (
    bybit_inverse_isolated_lp_2024,
    bybit_inverse_isolated_lp_closed,
    bybit_inverse_position_margin,
    coin_value,
    coinm_isolated_lp_closed,
    coinm_liquidation_price,
    coinm_maintenance_margin,
    coinm_margin_ratio,
    inverse_liquidation_prices,
    inverse_upnl,
    usd_at_mark,
)
from monitor.risk.liquidation import cross_others
from monitor.risk.margin import Brackets, brackets, maintenance_margin, tier_index
from monitor.risk.reasons import Reason
from monitor.risk.tiers import tier_table

# The reference's illustrative BTCUSD coin brackets (floors and cum in BTC), which reproduce the FAQ's
# "300 BTC → MMR 12.5 %, maintenance amount 11.605 BTC".
FLOORS = [0, 5, 10, 20, 50, 100, 200, 400, 1000, 1500]
MMRS = [0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15, 0.25, 0.5]
CS = 100.0


def _btcusd() -> Brackets:
    return brackets(FLOORS, MMRS)


def _excess(contracts: float, entry: float, wallet: float, price: float, b: Brackets) -> tuple[float, float]:
    """(coin equity, coin MM) of one contract at `price`, MM in the bracket at that price (open-ended)."""
    c = np.full(np.shape(price), contracts)  # arrays in → arrays out (the first argument decides)
    equity = wallet + inverse_upnl(c, CS, entry, price)
    mm = maintenance_margin(coin_value(c, CS, price), b.floors, b.mmrs, b.cums)
    return float(equity) if np.ndim(price) == 0 else equity, float(mm) if np.ndim(price) == 0 else mm


def test_faq_maintenance_examples() -> None:
    """100 contracts at 25,000 → 0.4 BTC, bracket 1 → 0.0016 BTC; the table's cum at 300 BTC is 11.605."""
    b = _btcusd()
    assert coinm_maintenance_margin(100.0, CS, 25_000.0, b) == pytest.approx(0.0016, rel=1e-12)
    np.testing.assert_allclose(
        b.cums, [0, 0.005, 0.055, 0.355, 1.605, 6.605, 11.605, 21.605, 121.605, 496.605], rtol=1e-12
    )
    assert tier_index(300.0, b.floors) == 6


def test_real_coinm_row_units_and_lp() -> None:
    """ccxt's real BTCUSD_PERP row: UPnL 0.00004318, |notionalValue| 0.00439662, LP 72,491.16879818.

    The wallet 0.00023156 BTC is back-solved from the LP (ccxt's `collateral`), so the LP check is one
    of consistency; the wallet is rounded to 8 dp, hence 1e-7 relative, not 1e-9.
    """
    assert round(inverse_upnl(-3.0, CS, 68_911.00000037, 68_234.2), 8) == 0.00004318
    assert round(coin_value(-3.0, CS, 68_234.2), 8) == 0.00439662
    res = coinm_liquidation_price(
        mark=68_234.2,
        wallet=0.00023156,
        brackets=_btcusd(),
        contract_size=CS,
        contracts=-3.0,
        entry=68_911.00000037,
    )
    assert res.reason == Reason.OK
    assert abs(res.price / 72_491.16879818 - 1) <= 1e-7


def test_example_a1_isolated_long() -> None:
    """A1: 500 long @ 80,000, isolatedWallet 0.07 → 72,230.2158; equity = MM = 0.0027689 BTC there."""
    b = _btcusd()
    res = coinm_liquidation_price(
        mark=79_000.0, wallet=0.07, brackets=b, contract_size=CS, contracts=500.0, entry=80_000.0
    )
    assert (round(res.price, 4), res.reason, res.tiers) == (72_230.2158, Reason.OK, (0,))
    assert res.price == pytest.approx(502 / 0.00695, rel=1e-12)
    assert coinm_isolated_lp_closed(500.0, CS, 80_000.0, 0.07, 0.004) == pytest.approx(res.price, rel=1e-12)
    equity, mm = _excess(500.0, 80_000.0, 0.07, res.price, b)
    assert mm == pytest.approx(0.0027689, abs=5e-8)
    assert abs(equity - mm) <= 1e-9 * mm
    assert coinm_margin_ratio(mm, 0.07, equity - 0.07) == pytest.approx(1.0, rel=1e-9)


def test_example_a2_cross_short_changes_bracket_at_the_lp() -> None:
    """A2: the mark's bracket 3 gives 122,336.03 (inconsistent); bracket 2 gives 122,324.0657, consistent."""
    b = _btcusd()
    at_mark_bracket = coinm_isolated_lp_closed(-12_000.0, CS, 94_000.0, 3.0, 0.01, 0.055)
    assert round(at_mark_bracket, 2) == 122_336.03
    assert tier_index(coin_value(12_000.0, CS, at_mark_bracket), b.floors) == 1  # lies in bracket 2
    res = coinm_liquidation_price(
        mark=95_000.0, wallet=3.0, brackets=b, contract_size=CS, contracts=-12_000.0, entry=94_000.0
    )
    assert (round(res.price, 4), res.reason, res.tiers) == (122_324.0657, Reason.OK, (1,))
    equity, mm = _excess(-12_000.0, 94_000.0, 3.0, res.price, b)
    assert mm == pytest.approx(0.04405, abs=1e-7)
    assert abs(equity - mm) <= 1e-9 * mm
    assert abs(at_mark_bracket / res.price - 1) == pytest.approx(0.000098, abs=5e-6)  # "off by 0.0098 %"


def test_example_a3_cross_hedge_mode() -> None:
    """A3: LONG 1,000 @ 88,000 and SHORT 3,000 @ 89,000, WB 0.6 → one LP 121,388.4132 for both legs."""
    b = _btcusd()
    res = coinm_liquidation_price(
        mark=90_000.0,
        wallet=0.6,
        brackets=b,
        contract_size=CS,
        long_contracts=1_000.0,
        long_entry=88_000.0,
        short_contracts=3_000.0,
        short_entry=89_000.0,
    )
    assert (round(res.price, 4), res.reason, res.tiers) == (121_388.4132, Reason.OK, (0, 0))
    p = res.price
    equity = 0.6 + inverse_upnl(1_000.0, CS, 88_000.0, p) + inverse_upnl(-3_000.0, CS, 89_000.0, p)
    mm = 4_000 * CS / p * 0.004
    assert mm == pytest.approx(0.0131808, abs=5e-8)
    assert abs(equity - mm) <= 1e-9 * mm


def test_hedge_tiers_come_back_in_long_short_order() -> None:
    """A LONG leg in bracket 1 and a SHORT leg in bracket 2 at the LP are reported as (0, 1), not swapped."""
    b = _btcusd()
    res = coinm_liquidation_price(
        mark=90_000.0,
        wallet=1.0,
        brackets=b,
        contract_size=CS,
        long_contracts=100.0,
        long_entry=90_000.0,
        short_contracts=12_000.0,
        short_entry=90_000.0,
    )
    assert res.reason == Reason.OK
    assert res.tiers == tuple(
        int(tier_index(coin_value(n, CS, res.price), b.floors)) for n in (100.0, 12_000.0)
    )


def test_example_a4_bybit_inverse_both_sides_and_the_2024_form() -> None:
    """A4: 60,000 USD @ 50,000, 10×, 0.5 %: 45,681.8182 / 55,277.7778; 2024 form 45,662.1005 / 55,248.6188."""
    long_lp = bybit_inverse_isolated_lp_closed(60_000.0, 50_000.0, 10.0, 0.005)
    short_lp = bybit_inverse_isolated_lp_closed(-60_000.0, 50_000.0, 10.0, 0.005)
    assert (round(long_lp, 4), round(short_lp, 4)) == (45_681.8182, 55_277.7778)
    old = (bybit_inverse_isolated_lp_2024(60_000.0, 50_000.0, 10.0, 0.005),
           bybit_inverse_isolated_lp_2024(-60_000.0, 50_000.0, 10.0, 0.005))  # fmt: skip
    assert (round(old[0], 4), round(old[1], 4)) == (45_662.1005, 55_248.6188)
    im = bybit_inverse_position_margin(60_000.0, 50_000.0, 10.0)
    assert im == pytest.approx(0.12, rel=1e-15)
    for q, lp in ((60_000.0, long_lp), (-60_000.0, short_lp)):
        equity = im + inverse_upnl(q, 1.0, 50_000.0, lp)
        mm = 60_000.0 / lp * 0.005  # on the mark (LP) value, the 2026 rule
        assert abs(equity - mm) <= 1e-9 * mm
    assert mm == pytest.approx(0.0054271, abs=5e-8)


def test_bybit_inverse_through_the_tiered_solver() -> None:
    """One risk-limit tier, contract size 1, wallet = position margin: the vectorised LP is the article's."""
    table = tier_table([brackets([0.0, 150.0], [0.005, 0.01])])
    q = np.array([60_000.0, -60_000.0])
    margin = bybit_inverse_position_margin(q, 50_000.0, 10.0, extra_margin=0.01, taker_fee=0.00055)
    res = inverse_liquidation_prices(
        q, 1.0, np.full(2, 50_000.0), np.full(2, 50_000.0), margin, table, np.zeros(2, np.intp)
    )
    closed = bybit_inverse_isolated_lp_closed(q, 50_000.0, 10.0, 0.005, 0.0, 0.01, 0.00055)
    np.testing.assert_allclose(res.price, closed, rtol=1e-12)
    assert res.reason.tolist() == [Reason.OK, Reason.OK]


def test_short_covered_by_its_coin_has_no_lp() -> None:
    """WB ≥ N·CS/EP: no rise liquidates a coin-backed short (Binance shows "0"); its USD equity is flat."""
    b = _btcusd()
    res = coinm_liquidation_price(
        mark=100_000.0, wallet=0.1, brackets=b, contract_size=CS, contracts=-100.0, entry=100_000.0
    )
    assert (math.isnan(res.price), res.reason) == (True, Reason.NOT_LIQUIDATABLE)
    marks = np.array([50_000.0, 100_000.0, 400_000.0])
    equity = 0.1 + inverse_upnl(np.full(3, -100.0), CS, 100_000.0, marks)
    np.testing.assert_allclose(usd_at_mark(equity, marks), 10_000.0, rtol=1e-12)


def test_reasons_nan_in_and_past_liquidation_is_a_value() -> None:
    """NaN → NAN_INPUT; entry ≤ 0 or inf; zero size; a position past its LP keeps an LP and a warning."""
    table = tier_table([_btcusd()])
    n = np.array([np.nan, 100.0, 100.0, 0.0, 500.0, 100.0])
    entry = np.array([80_000.0, 0.0, np.inf, 80_000.0, 80_000.0, 80_000.0])
    mark = np.full(6, 79_000.0)
    wallet = np.array([0.1, 0.1, 0.1, 0.1, 0.0001, 0.1])
    res = inverse_liquidation_prices(n, CS, entry, mark, wallet, table, np.zeros(6, np.intp))
    assert [Reason(int(r)) for r in res.reason] == [
        Reason.NAN_INPUT,
        Reason.NON_POSITIVE_PRICE,
        Reason.NAN_INPUT,
        Reason.NO_POSITION,
        Reason.PAST_LIQUIDATION,
        Reason.OK,
    ]
    assert np.isnan(res.price[:4]).all()
    assert res.price[4] > 79_000.0  # the tie lies above the mark: the long is already past it
    assert usd_at_mark(1.0, -1.0) != usd_at_mark(1.0, -1.0)  # NaN for a non-positive mark
    assert coinm_margin_ratio(0.01, 0.005, -0.006) == math.inf


def test_scalar_in_scalar_out() -> None:
    """The elementwise forms follow monitor.risk's Num convention."""
    assert isinstance(inverse_upnl(1.0, CS, 1.0, 2.0), float)
    assert isinstance(coin_value(1.0, CS, 2.0), float)
    assert isinstance(coinm_isolated_lp_closed(np.array([1.0]), CS, 1.0, 1.0, 0.004), np.ndarray)


@settings(max_examples=120, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 10), n_accounts=st.integers(1, 3))
def test_lp_exhausts_the_coin_margin_test_on_random_books(seed: int, n: int, n_accounts: int) -> None:
    """Every LP put back (others' marks held, MM in the bracket at the LP) leaves equity = MM (1e-9 rel).

    The vectorised solver also equals the scalar one, and a position without an LP has no sign change
    of equity − MM over a wide price grid.
    """
    rng = np.random.default_rng(seed)
    b = _btcusd()
    table = tier_table([b])
    contracts = np.round(rng.uniform(1, 30_000, n)) * rng.choice([-1.0, 1.0], n)
    mark = rng.uniform(20_000.0, 150_000.0, n)
    entry = mark * rng.uniform(0.8, 1.2, n)
    account = rng.integers(-1, n_accounts, n)  # −1: isolated
    value = np.asarray(coin_value(contracts, CS, mark))
    wallet = value * rng.uniform(0.02, 1.3, n)
    mm = maintenance_margin(value, b.floors, b.mmrs, b.cums)
    upnl = np.asarray(inverse_upnl(contracts, CS, entry, mark))
    om, ou = cross_others(account, mm, upnl)
    res = inverse_liquidation_prices(
        contracts, CS, entry, mark, wallet, table, np.zeros(n, np.intp), other_mm=om, other_upnl=ou
    )
    for j in range(n):
        one = coinm_liquidation_price(
            mark=mark[j], wallet=wallet[j], brackets=b, contract_size=CS, contracts=contracts[j],
            entry=entry[j], other_mm=om[j], other_upnl=ou[j],
        )  # fmt: skip
        assert one.reason == res.reason[j]
        assert (math.isnan(one.price) and math.isnan(res.price[j])) or one.price == pytest.approx(
            res.price[j], rel=1e-12
        )
        base = wallet[j] - om[j] + ou[j]
        if np.isfinite(res.price[j]):
            equity, mm_lp = _excess(contracts[j], entry[j], base, res.price[j], b)
            assert abs(equity - mm_lp) <= 1e-9 * max(mm_lp, abs(base))
            assert tier_index(coin_value(contracts[j], CS, res.price[j]), b.floors) == res.tier[j]
        else:
            grid = mark[j] * np.geomspace(1e-3, 1e3, 400)
            eq, mm_g = _excess(contracts[j], entry[j], base, grid, b)
            signs = np.sign(np.asarray(eq) - np.asarray(mm_g))
            assert np.all(signs == signs[0])


@settings(max_examples=100, deadline=None)
@given(
    long_n=st.integers(1, 20_000),
    short_n=st.integers(1, 20_000),
    move=st.floats(0.8, 1.25),
    wallet_frac=st.floats(0.01, 0.5),
)
def test_hedge_mode_lp_exhausts_the_test(long_n: int, short_n: int, move: float, wallet_frac: float) -> None:
    """Both legs of one symbol share one LP: at it the coin equity equals both legs' MM at their brackets."""
    b = _btcusd()
    mark = 90_000.0
    wallet = wallet_frac * (long_n + short_n) * CS / mark
    le, se = mark * move, mark / move
    res = coinm_liquidation_price(
        mark=mark, wallet=wallet, brackets=b, contract_size=CS,
        long_contracts=float(long_n), long_entry=le, short_contracts=float(short_n), short_entry=se,
    )  # fmt: skip
    if not np.isfinite(res.price):
        assert res.reason in (Reason.NOT_LIQUIDATABLE, Reason.ALWAYS_LIQUIDATABLE)
        return
    p = res.price
    eq_l, mm_l = _excess(float(long_n), le, wallet, p, b)
    eq_s, mm_s = _excess(-float(short_n), se, 0.0, p, b)
    gap = (eq_l + eq_s) - (mm_l + mm_s)
    assert abs(gap) <= 1e-9 * max(mm_l + mm_s, wallet) or res.reason == Reason.TIER_BOUNDARY
