"""Multi-asset collateral (venues-next §b): haircut rates, tiered CVR, LPs with collateral held or linked."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.risk.collateral import (
    ASK_BRANCH,
    BID_BRANCH,
    account_total,
    asset_rates,
    asset_usd_value,
    collateral_liquidation_prices,
    collateral_margin_ratio,
    cvr_table,
    cvr_tiers,
    linked_slope,
    tiered_collateral_qty,
)
from monitor.risk.margin import brackets, maintenance_margin
from monitor.risk.reasons import Reason
from monitor.risk.tiers import TierTable, tier_table

BTC_FLOORS = [0.0, 50_000.0, 250_000.0, 1_000_000.0, 5_000_000.0]
BTC_MMRS = [0.004, 0.005, 0.01, 0.025, 0.05]
USDT_BID, USDT_ASK = 1.0 * (1 - 1e-4), 1.0 * (1 + 1e-4)  # B1's USDTUSD: index 1.0, buffers 0.0001


def _one(table_rows: list[tuple[list[float], list[float]]]) -> TierTable:
    return tier_table([brackets(f, m) for f, m in table_rows])


def _test_gap(
    q: float, ep: float, p: float, w: float, c0: float, lk: float, mmo: float,
    bid: float, ask: float, fl: list[float], mm: list[float],
) -> tuple[float, float]:  # fmt: skip
    """Equity − MM in USD at price p (bracket at p's notional, open-ended), the margin test itself."""
    e = w + q * (p - ep)
    equity = c0 + lk * p + asset_usd_value(e, bid, ask)
    b = brackets(fl, mm)
    mm_usd = ask * maintenance_margin(abs(q) * p, b.floors, b.mmrs, b.cums) + mmo
    return float(equity - mm_usd), float(mm_usd)


def test_asset_index_docs_example_and_faq_rates() -> None:
    """ADAUSD 1.92957370 ± 10 % → 1.73661633 / 2.12253107 (to 8 dp); USDTUSD 0.99 → 0.9801 / 0.99495."""
    bid, ask = asset_rates(1.92957370, 0.10, 0.10)
    assert (round(bid, 8), round(ask, 8)) == (1.73661633, 2.12253107)
    bid, ask = asset_rates(0.99, 0.01, 0.005)
    assert (bid, ask) == pytest.approx((0.9801, 0.99495), rel=1e-15)
    assert all(math.isnan(x) for x in asset_rates(0.0, 0.1, 0.1))


def test_faq_multi_assets_example() -> None:
    """200 USDT + 220 USDC → 416.02; MM 80 USDT × 0.99495 + 120 USDC × 1 = 199.596; ratio 47.98 %."""
    bid, ask = asset_rates(0.99, 0.01, 0.005)
    equity = float(
        np.sum(asset_usd_value(np.array([200.0, 220.0]), np.array([bid, 1.0]), np.array([ask, 1.0])))
    )
    assert equity == pytest.approx(416.02, rel=1e-12)
    mm = 0.5 * 20_000 * 0.008 * ask + 20 * 600 * 0.01 * 1.0
    assert mm == pytest.approx(199.596, rel=1e-12)
    assert round(collateral_margin_ratio(mm, equity) * 100, 2) == 47.98


def test_real_multi_assets_account_fits_one_usdt_index() -> None:
    """ccxt's /fapi/v3/account: total MM = USDT MM × ask, total UPnL = USDT UPnL × bid at index 0.9999498.

    The account rounds its fields to 8 dp and the index to 7, so the fit holds to 1e-7, not 1e-9.
    """
    bid, ask = asset_rates(0.9999498, 1e-4, 1e-4)
    assert 2.43022194 * ask == pytest.approx(2.43034303, rel=1e-7)
    assert 0.54238506 * bid == pytest.approx(0.54230362, rel=1e-7)


def test_real_account_lp_matches_binance_rows_within_snapshot_noise() -> None:
    """Solving the snapshot (USDT 3.72964781 + USDC 22, 0.009 BTCUSDT long @ 67,445.9) → 64,846.89.

    Binance's own rows (other moments) say 64,846.99 and 64,846.79; USDC's rate is taken from
    totalWalletBalance. A consistency check within the snapshot noise (≈ 2e-6), weakly discriminating.
    """
    bid, ask = asset_rates(0.9999498, 1e-4, 1e-4)
    usdc_rate = (25.72610060 - 3.72964781 * bid) / 22.0
    mark = 67_445.9 + 0.54238506 / 0.009
    res = collateral_liquidation_prices(
        np.array([0.009]), np.array([67_445.9]), np.array([mark]), np.array([3.72964781]),
        _one([(BTC_FLOORS, BTC_MMRS)]), np.array([0]), fixed_usd=22.0 * usdc_rate, bid_rate=bid, ask_rate=ask,
    )  # fmt: skip
    assert round(res.price[0], 2) == 64_846.89
    for binance in (64_846.98753790, 64_846.78939917):
        assert abs(res.price[0] / binance - 1) <= 2e-6


def test_example_b1_multi_assets_long() -> None:
    """B1: ratio 3.05 % at 99,000; LP 86,371.4833 on the ask branch, bracket 1; equity = MM = 172.7602."""
    c0 = 1.5 * 3_500 * 0.95
    assert c0 == 4_987.50
    equity = asset_usd_value(1_500.0, USDT_BID, USDT_ASK) + c0
    mm = 49_500 * 0.004 * USDT_ASK
    assert (round(equity, 2), round(mm, 2), round(collateral_margin_ratio(mm, equity) * 100, 2)) == (
        6_487.35, 198.02, 3.05,
    )  # fmt: skip
    res = collateral_liquidation_prices(
        np.array([0.5]), np.array([100_000.0]), np.array([99_000.0]), np.array([2_000.0]),
        _one([(BTC_FLOORS, BTC_MMRS)]), np.array([0]), fixed_usd=c0, bid_rate=USDT_BID, ask_rate=USDT_ASK,
    )  # fmt: skip
    assert (round(res.price[0], 4), res.tier[0], res.branch[0], res.reason[0]) == (
        86_371.4833,
        0,
        ASK_BRANCH,
        0,
    )
    gap, mm_lp = _test_gap(
        0.5, 1e5, res.price[0], 2_000.0, c0, 0.0, 0.0, USDT_BID, USDT_ASK, BTC_FLOORS, BTC_MMRS
    )
    assert round(mm_lp, 4) == 172.7602
    assert abs(gap) <= 1e-9 * mm_lp


def test_example_b2_bybit_uta_short() -> None:
    """B2: 80,000 USDT + 0.3 BTC at CVR 0.98, ETHUSDT short 500 @ 3,000: 20.99 % at 3,050, LP 3,163.6436."""
    btc = float(
        tiered_collateral_qty(np.array([0.3]), cvr_table([cvr_tiers([0], [np.inf], [0.98])]), np.array([0]))[
            0
        ]
    )
    c0 = btc * 60_000
    assert c0 == pytest.approx(17_640.0, rel=1e-15)
    balance = 80_000 - 500 * (3_050 - 3_000) + c0
    assert round(collateral_margin_ratio(500 * 3_050 * 0.01, balance) * 100, 2) == 20.99
    fl, mm = [0.0, 2_000_000.0], [0.01, 0.02]
    res = collateral_liquidation_prices(
        np.array([-500.0]), np.array([3_000.0]), np.array([3_050.0]), np.array([80_000.0]),
        _one([(fl, mm)]), np.array([0]), fixed_usd=c0,
    )  # fmt: skip
    assert (round(res.price[0], 4), res.reason[0]) == (3_163.6436, 0)
    gap, mm_lp = _test_gap(-500.0, 3_000.0, res.price[0], 80_000.0, c0, 0.0, 0.0, 1.0, 1.0, fl, mm)
    assert mm_lp == pytest.approx(15_818.22, abs=0.01)
    assert abs(gap) <= 1e-9 * mm_lp


def test_btc_backed_short_hedges_itself() -> None:
    """1.2 BTC short @ 100,000 on 1 BTC (5 % haircut) + 2,000 USDT: linked → no LP below, ≈ 4.8× above.

    With the BTC index held at 100,000 the same book shows an ordinary LP at ≈ 1.8× (the convention
    matters by an order of magnitude in distance, which is why a figure must say which it uses).
    """
    flat = _one([([0.0], [0.004])])
    args = (np.array([-1.2]), np.array([1e5]), np.array([1e5]), np.array([2_000.0]), flat, np.array([0]))
    linked = collateral_liquidation_prices(
        *args, linked_usd_per_price=linked_slope(1.0, 0.95), bid_rate=USDT_BID, ask_rate=USDT_ASK
    )
    held = collateral_liquidation_prices(*args, fixed_usd=0.95 * 1e5, bid_rate=USDT_BID, ask_rate=USDT_ASK)
    assert round(linked.price[0] / 1e5, 1) == 4.8
    assert round(held.price[0] / 1e5, 1) == 1.8
    for res, c0, lk in ((linked, 0.0, 0.95), (held, 0.95e5, 0.0)):
        gap, mm_lp = _test_gap(
            -1.2, 1e5, res.price[0], 2_000.0, c0, lk, 0.0, USDT_BID, USDT_ASK, [0.0], [0.004]
        )
        assert abs(gap) <= 1e-9 * mm_lp
    grid = 1e5 * np.geomspace(1e-3, 1.0, 300)  # nothing below the mark: equity − MM keeps its sign
    gaps = [
        _test_gap(-1.2, 1e5, x, 2_000.0, 0.0, 0.95, 0.0, USDT_BID, USDT_ASK, [0.0], [0.004])[0] for x in grid
    ]
    assert min(gaps) > 0


def test_tiered_cvr_slice_by_slice_and_negative_at_full() -> None:
    """12 BTC on 0.98 to 10 then 0.95 → 11.70; −3 counts −3 (100 %); a gapped table is no table (NaN)."""
    good = cvr_tiers([0, 10], [10, np.inf], [0.98, 0.95])
    gapped = cvr_tiers([0, 11], [10, np.inf], [0.98, 0.95])
    table = cvr_table([good, gapped])
    out = tiered_collateral_qty(
        np.array([12.0, 5.0, -3.0, 12.0, np.nan, 1.0]), table, np.array([0, 0, 0, 1, 0, 7])
    )
    np.testing.assert_allclose(out[:3], [11.70, 4.90, -3.0], rtol=1e-15)
    assert np.isnan(out[3:]).all()


def test_account_total_never_a_partial_sum() -> None:
    """Per-account sums; one NaN term makes its account NaN and leaves the others alone."""
    out = account_total(np.array([1.0, 2.0, np.nan, 4.0]), np.array([0, 0, 1, 2]), 4)
    assert out[0] == 3.0 and np.isnan(out[1]) and out[2] == 4.0 and out[3] == 0.0


def test_reasons_and_past_liquidation() -> None:
    """NaN → NAN_INPUT; size 0; price ≤ 0; ask < bid → BAD_PARAMETER; no table; past → a value; no root."""
    t = _one([(BTC_FLOORS, BTC_MMRS)])
    q = np.array([np.nan, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0, -1.0])
    mark = np.array([1e5, 1e5, -1.0, 1e5, 1e5, 1e5, 1e5, 1e5])
    wallet = np.array([1e3, 1e3, 1e3, 1e3, 1e3, -1e5, 2e5, 2e5])
    bid = np.array([1.0, 1.0, 1.0, 1.1, 1.0, 1.0, 1.0, 1.0])
    sym = np.array([0, 0, 0, 0, 3, 0, 0, 0])
    res = collateral_liquidation_prices(q, np.full(8, 1e5), mark, wallet, t, sym, bid_rate=bid, ask_rate=1.0)
    assert [Reason(int(r)) for r in res.reason] == [
        Reason.NAN_INPUT, Reason.NO_POSITION, Reason.NON_POSITIVE_PRICE, Reason.BAD_PARAMETER,
        Reason.MISSING_TIER, Reason.PAST_LIQUIDATION, Reason.NOT_LIQUIDATABLE, Reason.OK,
    ]  # fmt: skip
    assert res.price[5] > 1e5  # the long's tie is above the mark: already past it
    assert np.isnan(res.price[[0, 1, 2, 3, 4, 6]]).all()
    assert res.branch[6] == 0 and res.branch[7] in (BID_BRANCH, ASK_BRANCH)


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12))
def test_lp_exhausts_the_multi_asset_test_on_random_books(seed: int, n: int) -> None:
    """Random positions, haircuts, held and linked collateral: every LP ties equity and MM (1e-9 rel).

    Its bracket is the one at the LP's notional and its branch the margin asset's equity sign there;
    a position without an LP shows no sign change of equity − MM over a wide price grid.
    """
    rng = np.random.default_rng(seed)
    t = _one([(BTC_FLOORS, BTC_MMRS)])
    q = rng.uniform(0.01, 30.0, n) * rng.choice([-1.0, 1.0], n)
    mark = rng.uniform(10_000.0, 150_000.0, n)
    ep = mark * rng.uniform(0.8, 1.2, n)
    w = np.abs(q) * mark * rng.uniform(-0.5, 0.8, n)
    c0 = np.abs(q) * mark * rng.uniform(0.0, 0.6, n)
    lk = np.abs(q) * rng.uniform(0.0, 1.2, n) * rng.choice([0.0, 1.0], n)
    mmo = np.abs(q) * mark * rng.uniform(0.0, 0.02, n)
    idx = rng.uniform(0.98, 1.02, n)
    bid, ask = asset_rates(idx, rng.uniform(0, 0.1, n), rng.uniform(0, 0.1, n))
    res = collateral_liquidation_prices(
        q, ep, mark, w, t, np.zeros(n, np.intp), fixed_usd=c0, linked_usd_per_price=lk,
        other_mm_usd=mmo, bid_rate=bid, ask_rate=ask,
    )  # fmt: skip
    for j in range(n):
        args = (q[j], ep[j], w[j], c0[j], lk[j], mmo[j], bid[j], ask[j], BTC_FLOORS, BTC_MMRS)
        if np.isfinite(res.price[j]):
            p = res.price[j]
            gap, mm_lp = _test_gap(q[j], ep[j], p, *args[2:])
            assert abs(gap) <= 1e-9 * max(mm_lp, abs(c0[j]) + abs(w[j]) + abs(q[j]) * p)
            e_lp = w[j] + q[j] * (p - ep[j])
            assert (
                res.branch[j] == (BID_BRANCH if e_lp >= 0 else ASK_BRANCH)
                or abs(e_lp) <= 1e-9 * abs(q[j]) * p
            )
        else:
            grid = mark[j] * np.geomspace(1e-3, 1e3, 400)
            signs = {np.sign(_test_gap(q[j], ep[j], x, *args[2:])[0]) for x in grid}
            assert len(signs - {0.0}) <= 1
