"""OKX's margin model (venues-next §c): tiers by contracts, the fee in the requirement, closed-form LPs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.risk.liquidation import cross_others
from monitor.risk.okx_margin import (
    okx_cross_liquidation_price,
    okx_implied_fee_rate,
    okx_inverse_isolated_liquidation_price,
    okx_isolated_liquidation_price,
    okx_linear_notional,
    okx_liquidation_prices,
    okx_maintenance_margin,
    okx_margin_excess,
    okx_margin_ratio,
    okx_mgn_ratio,
    okx_position_tier,
    okx_requirement,
    okx_tier_table,
    okx_tiers,
)
from monitor.risk.reasons import Reason

# OKX's own "Get positions" example (v5 docs, as quoted in ccxt okx.parsePosition): BTC-USDT-SWAP,
# cross long 1 contract (ctVal 0.01), lever 2.
EX_IMR = 170.66093041794787
EX_MM_AMOUNT = 1.3652874433435829  # positions' `mmr`: an AMOUNT in USDT
EX_MGN_RATIO = 140.49930117599155
EX_LIQ_PX = 12_608.959083877446
EX_AVG_PX, EX_UPL, EX_LEVER = 34_131.1, 0.0108608358957281, 2.0
CT_VAL = 0.01
TIER_RATE = 0.004  # BTC-USDT tier 1 `mmr`: a RATE
TAKER = 0.0005  # Lv1 SWAP taker rate


def _example() -> tuple[float, float, float, float]:
    """The example's notional, mark, base quantity and equity (equity from OKX's mgnRatio definition)."""
    n = EX_LEVER * EX_IMR  # imr = notional / lever (cross)
    q = 1 * CT_VAL
    mark = n / q
    equity = EX_MGN_RATIO * float(okx_requirement(n, TIER_RATE, TAKER))
    return n, mark, q, equity


def test_okx_own_positions_example_liq_px() -> None:
    """From imr, mgnRatio, tier rate and 0.05 % taker fee alone: liqPx 12,608.959083877446 (≤ 1e-9)."""
    _, mark, q, equity = _example()
    lp = okx_cross_liquidation_price(q, mark, equity, TIER_RATE, TAKER)
    assert abs(lp / EX_LIQ_PX - 1) <= 1e-9
    res = okx_liquidation_prices(
        np.array([q]), np.array([mark]), np.array([equity]), np.array([TIER_RATE]), TAKER
    )
    assert res.reason.tolist() == [Reason.OK]
    assert abs(res.price[0] / EX_LIQ_PX - 1) <= 1e-9


def test_example_fields_agree_with_the_model() -> None:
    """The rate × notional is the positions' `mmr` amount, and avgPx + upl/q is the mark imr implies."""
    n, mark, q, _ = _example()
    assert okx_maintenance_margin(n, TIER_RATE) == pytest.approx(EX_MM_AMOUNT, rel=1e-12)
    assert okx_linear_notional(1.0, CT_VAL, mark) == pytest.approx(n, rel=1e-15)
    assert EX_AVG_PX + EX_UPL / q == pytest.approx(mark, rel=1e-12)


def test_without_the_fee_the_example_cannot_be_reproduced() -> None:
    """Drop the liquidation fee from the requirement: the LP misses the venue's by far more than rounding."""
    _, mark, q, _ = _example()
    equity_no_fee = EX_MGN_RATIO * EX_MM_AMOUNT
    lp = okx_cross_liquidation_price(q, mark, equity_no_fee, TIER_RATE, 0.0)
    assert abs(lp / EX_LIQ_PX - 1) > 0.05


def test_implied_fee_rate_is_the_taker_rate() -> None:
    """Two equations in two unknowns: the example's own fields give f = 0.0005 (§f.5, per account)."""
    n, mark, q, _ = _example()
    f = okx_implied_fee_rate(EX_MGN_RATIO, EX_MM_AMOUNT, n, q, mark, EX_LIQ_PX)
    assert f == pytest.approx(TAKER, rel=1e-12)


def test_margin_exactly_exhausted_at_the_example_lp() -> None:
    """Put the LP back: equity − (MM + fee) is 0 there and OKX's mgnRatio is 1."""
    _, mark, q, equity = _example()
    lp = okx_cross_liquidation_price(q, mark, equity, TIER_RATE, TAKER)
    eq_at_lp = equity + q * (lp - mark)
    req_at_lp = okx_requirement(q * lp, TIER_RATE, TAKER)
    assert abs(okx_margin_excess(eq_at_lp, req_at_lp)) <= 1e-12 * req_at_lp
    assert okx_mgn_ratio(eq_at_lp, req_at_lp) == pytest.approx(1.0, rel=1e-12)
    assert okx_margin_ratio(req_at_lp, eq_at_lp) == pytest.approx(1.0, rel=1e-12)


def test_example_c1_isolated_linear_long() -> None:
    """C1: 80 ETH long @ 3,500, margin 28,000, m 0.5 %, f 0.05 %: mgnRatio 17.24 at 3,480, LP 3,167.4208."""
    req = okx_requirement(80 * 3_480.0, 0.005, TAKER)
    equity = 28_000.0 + 80 * (3_480.0 - 3_500.0)
    assert req == pytest.approx(1_531.20)
    assert round(okx_mgn_ratio(equity, req), 2) == 17.24
    assert okx_margin_ratio(req, equity) == pytest.approx(1 / okx_mgn_ratio(equity, req))
    lp = okx_isolated_liquidation_price(80.0, 3_500.0, 28_000.0, 0.005, TAKER)
    assert round(lp, 4) == 3_167.4208
    # the same LP from the mark side: equity at the mark, nothing else in the test
    at_mark = okx_cross_liquidation_price(80.0, 3_480.0, equity, 0.005, TAKER)
    assert at_mark == pytest.approx(lp, rel=1e-12)
    assert okx_margin_excess(28_000.0 + 80 * (lp - 3_500.0), okx_requirement(80 * lp, 0.005, TAKER)) == (
        pytest.approx(0.0, abs=1e-9)
    )


def test_example_c2_isolated_inverse_long_and_short() -> None:
    """C2: 100,000 USD long @ 100,000, margin 0.05 BTC → 95,666.6667; coin equity = coin requirement there."""
    lp = okx_inverse_isolated_liquidation_price(100_000.0, 100_000.0, 0.05, 0.004, TAKER)
    assert round(lp, 4) == 95_666.6667
    equity = 0.05 + 100_000.0 * (1 / 100_000.0 - 1 / lp)
    assert equity == pytest.approx(100_000.0 / lp * 0.0045, rel=1e-12)
    short = okx_inverse_isolated_liquidation_price(-100_000.0, 100_000.0, 0.05, 0.004, TAKER)
    equity_s = 0.05 - 100_000.0 * (1 / 100_000.0 - 1 / short)
    assert short > 100_000.0
    assert equity_s == pytest.approx(100_000.0 / short * 0.0045, rel=1e-12)


def test_isolated_short_closed_form() -> None:
    """Short: (q·EP + margin)/(q·(1 + m + f)), above the entry."""
    lp = okx_isolated_liquidation_price(-2.0, 50_000.0, 10_000.0, 0.004, TAKER)
    assert lp == pytest.approx((2 * 50_000.0 + 10_000.0) / (2 * 1.0045), rel=1e-15)


def test_tiers_by_contracts_inclusive_max() -> None:
    """`maxSz` is inclusive; a fractional size in the gap goes up; above the last tier or NaN: no tier."""
    table = okx_tier_table([okx_tiers([2_000, 4_000], [0.01, 0.015]), okx_tiers([50], [0.004])])
    fam = np.array([0, 0, 0, 0, 0, 1, 2, -1])
    contracts = np.array([0.0, -2_000.0, 2_000.5, 4_001.0, np.nan, 50.0, 1.0, 1.0])
    tier, rate = okx_position_tier(table, fam, contracts)
    assert tier.tolist() == [0, 0, 1, -1, -1, 0, -1, -1]
    np.testing.assert_array_equal(rate, [0.01, 0.01, 0.015, np.nan, np.nan, 0.004, np.nan, np.nan])


def test_bad_ladder_becomes_an_empty_row() -> None:
    """Unsorted sizes or a rate ≥ 1 would pick a wrong rate: every lookup on that family finds none."""
    table = okx_tier_table([okx_tiers([4_000, 2_000], [0.01, 0.015]), okx_tiers([10], [1.2])])
    tier, rate = okx_position_tier(table, np.array([0, 1]), np.array([1.0, 1.0]))
    assert tier.tolist() == [-1, -1]
    assert np.isnan(rate).all()


def test_reasons_nan_in_nan_out_and_past_liquidation() -> None:
    """NaN in → NaN with a reason; no root → NaN with NOT/ALWAYS_LIQUIDATABLE; past the LP → a value."""
    q = np.array([np.nan, 0.0, 1.0, 1.0, 1.0, 1.0, -1.0, 1.0, 1.0])
    mark = np.array([100.0, 100.0, -1.0, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0])
    equity = np.array([50.0, 50.0, 50.0, 50.0, 150.0, 50.0, -150.0, 0.1, 50.0])
    rate = np.array([0.01, 0.01, 0.01, np.nan, 0.01, 0.01, 0.01, 0.01, 0.9996])
    res = okx_liquidation_prices(q, mark, equity, rate, TAKER)
    assert [Reason(int(r)) for r in res.reason] == [
        Reason.NAN_INPUT,
        Reason.NO_POSITION,
        Reason.NON_POSITIVE_PRICE,
        Reason.MISSING_TIER,
        Reason.NOT_LIQUIDATABLE,  # long with equity > notional: no positive price ties (OKX sends "")
        Reason.OK,
        Reason.ALWAYS_LIQUIDATABLE,  # short: equity + |q|·mark < 0 fails even at a price of 0
        Reason.PAST_LIQUIDATION,  # equity 0.1 < requirement 1.05 at the mark: LP above the mark
        Reason.BAD_PARAMETER,  # rate + fee ≥ 1
    ]
    assert np.isnan(res.price[[0, 1, 2, 3, 4, 6, 8]]).all()
    assert res.price[7] > 100.0
    assert res.price[5] == pytest.approx((50.0 - 100.0) / (0.0105 - 1.0), rel=1e-15)


def test_ratios_past_liquidation_are_inf_not_nan() -> None:
    """Equity ≤ 0: perpmon's ratio is +inf (every 'higher is worse' rule fires), OKX's ≤ 0; NaN stays NaN."""
    assert okx_margin_ratio(10.0, -1.0) == math.inf
    assert okx_margin_ratio(10.0, 0.0) == math.inf
    assert okx_mgn_ratio(-1.0, 10.0) < 0
    assert okx_mgn_ratio(5.0, 0.0) == math.inf
    assert math.isnan(okx_mgn_ratio(math.nan, 10.0))
    assert math.isnan(okx_margin_ratio(math.nan, 10.0))
    out = okx_mgn_ratio(np.array([20.0, np.nan]), np.array([10.0, 10.0]))
    assert out[0] == 2.0
    assert np.isnan(out[1])


def test_scalar_in_scalar_out_array_in_array_out() -> None:
    """The elementwise forms follow monitor.risk's Num convention."""
    assert isinstance(okx_isolated_liquidation_price(1.0, 100.0, 10.0, 0.01, TAKER), float)
    assert isinstance(okx_cross_liquidation_price(1.0, 100.0, 10.0, 0.01, TAKER), float)
    arr = okx_cross_liquidation_price(np.array([1.0, -1.0]), 100.0, 10.0, 0.01, TAKER)
    assert isinstance(arr, np.ndarray)
    assert arr.shape == (2,)


@settings(max_examples=150, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 12),
    n_accounts=st.integers(1, 3),
)
def test_lp_puts_the_margin_test_at_exactly_zero_on_random_cross_books(
    seed: int, n: int, n_accounts: int
) -> None:
    """Every LP with a value, put back with the others' marks held, leaves equity = requirement (1e-9 rel)."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.01, 50.0, n) * rng.choice([-1.0, 1.0], n)
    mark = rng.uniform(1.0, 100_000.0, n)
    entry = mark * rng.uniform(0.7, 1.3, n)
    rate = rng.choice([0.004, 0.005, 0.01, 0.02, 0.05], n)
    fee = rng.choice([0.0002, 0.0005])
    account = rng.integers(0, n_accounts, n)
    notional = np.abs(q) * mark
    cash = rng.uniform(0.05, 1.5, n_accounts) * np.bincount(account, weights=notional, minlength=n_accounts)
    upl = q * (mark - entry)
    req = np.asarray(okx_requirement(notional, rate, fee))
    other_req, _ = cross_others(account, req, np.zeros(n))
    equity = cash[account] + np.bincount(account, weights=upl, minlength=n_accounts)[account]
    res = okx_liquidation_prices(q, mark, equity, rate, fee, other_requirement=other_req)
    valued = np.isfinite(res.price)
    lp = res.price[valued]
    eq_at_lp = equity[valued] + q[valued] * (lp - mark[valued])
    req_at_lp = other_req[valued] + np.abs(q[valued]) * lp * (rate[valued] + fee)
    scale = np.maximum(req_at_lp, np.abs(equity[valued]))
    assert np.all(np.abs(eq_at_lp - req_at_lp) <= 1e-9 * scale)
    # a long's LP lies below the mark and a short's above, unless already past liquidation
    ok = res.reason[valued] == Reason.OK
    assert np.all(np.sign(mark[valued] - lp)[ok] == np.sign(q[valued])[ok])
    # no value ⇒ the (linear) excess keeps one sign over every positive price: no root to report
    for j in np.flatnonzero(~valued):
        assert res.reason[j] in (Reason.NOT_LIQUIDATABLE, Reason.ALWAYS_LIQUIDATABLE)
        at_zero = equity[j] - other_req[j] - q[j] * mark[j]
        slope = q[j] - abs(q[j]) * (rate[j] + fee)
        assert (at_zero >= 0 and slope >= 0) or (at_zero <= 0 and slope <= 0)


@settings(max_examples=150, deadline=None)
@given(
    qty=st.floats(0.001, 500.0) | st.floats(-500.0, -0.001),
    entry=st.floats(1.0, 200_000.0),
    move=st.floats(0.8, 1.2),
    lev=st.floats(1.5, 100.0),  # a 1× long's LP is 0 itself, where rounding decides NaN or 1e-12
)
def test_isolated_closed_form_is_the_general_lp(qty: float, entry: float, move: float, lev: float) -> None:
    """The reference's isolated formula (from the entry) is the general one (from any mark, upl in equity)."""
    margin = abs(qty) * entry / lev
    mark = entry * move
    closed = okx_isolated_liquidation_price(qty, entry, margin, 0.005, TAKER)
    general = okx_cross_liquidation_price(qty, mark, margin + qty * (mark - entry), 0.005, TAKER)
    assert (math.isnan(closed) and math.isnan(general)) or math.isclose(closed, general, rel_tol=1e-9)
