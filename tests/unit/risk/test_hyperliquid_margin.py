"""Hyperliquid's margin model (venues-next §d): half-IM maintenance, tiers at the LP, oracle funding."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.risk.hyperliquid_margin import (
    hl_brackets,
    hl_funding_payment,
    hl_funding_rate_8h,
    hl_hourly_funding_rate,
    hl_liquidation_price,
    hl_liquidation_prices,
    hl_maintenance_rate,
    hl_premium,
    hl_single_tier,
)
from monitor.risk.liquidation import liquidation_prices
from monitor.risk.margin import maintenance_margin
from monitor.risk.reasons import Reason
from monitor.risk.tiers import tier_table

# The docs' clearinghouseState example: isolated ETH long.
SZI, POSITION_VALUE, MARGIN_USED, RAW_USD, MAX_LEV = 0.0335, 100.02765, 4.967826, -95.059824, 50
LIQUIDATION_PX = 2866.26936529
TIERED_10X = ([0.0, 3_000_000.0], [10, 5])  # meta.marginTables id 51 "tiered 10x"


def test_clearinghouse_state_example_liquidation_px() -> None:
    """marginUsed 4.967826, 0.0335 ETH at 2,985.9, 50× → 2,866.26938 vs the venue's 2866.26936529.

    The 5e-9 gap is the inputs' rounding to 6 dp (the reference says the same), so 1e-8 relative.
    """
    mark = POSITION_VALUE / SZI
    lp, why = hl_liquidation_price(SZI, mark, MARGIN_USED, hl_single_tier(MAX_LEV))
    assert why == Reason.OK
    assert abs(lp / LIQUIDATION_PX - 1) <= 1e-8
    assert lp == pytest.approx(2_985.9 - (MARGIN_USED - POSITION_VALUE * 0.01) / SZI / 0.99, rel=1e-15)


def test_isolated_equity_identity_of_the_example() -> None:
    """Isolated equity = rawUsd + szi·mark = marginUsed; accountValue = totalRawUsd + Σ szi·mark."""
    mark = POSITION_VALUE / SZI
    assert RAW_USD + SZI * mark == pytest.approx(MARGIN_USED, abs=1e-6)
    assert 13_009.454678 + SZI * mark == pytest.approx(13_109.482328, abs=1e-6)


def test_example_d1_cross_short() -> None:
    """D1: account 20,000, ETH short 50 @ 3,550 (25×), BTC long 0.5 @ 100,000 (40×) → LP(ETH) 3,860.2941."""
    table = tier_table([hl_single_tier(25), hl_single_tier(40)])
    szi, mark = np.array([-50.0, 0.5]), np.array([3_550.0, 100_000.0])
    mm = np.array([50 * 3_550.0 * 0.02, 0.5 * 100_000.0 * 0.0125])
    assert mm.tolist() == pytest.approx([3_550.0, 625.0])
    res = hl_liquidation_prices(szi, mark, 20_000.0, table, np.array([0, 1]), other_mm=mm[::-1])
    assert round(res.price[0], 4) == 3_860.2941
    equity = 20_000.0 - 50 * (res.price[0] - 3_550.0)
    assert equity == pytest.approx(50 * res.price[0] * 0.02 + 625.0, rel=1e-12)


def test_example_d2_isolated_long_across_a_tier() -> None:
    """D2: long 100,000 @ 40, margin 700,000, tiered 10× → 35.0 in tier 2; tier 1's 34.74 is inconsistent."""
    b = hl_brackets(*TIERED_10X)
    assert b.mmrs.tolist() == [0.05, 0.10]
    assert b.cums.tolist() == [0.0, 150_000.0]
    lp, why = hl_liquidation_price(100_000.0, 40.0, 700_000.0, b)
    assert (lp, why) == (pytest.approx(35.0, rel=1e-12), Reason.OK)
    res = hl_liquidation_prices(
        np.array([100_000.0]),
        np.array([40.0]),
        np.array([700_000.0]),
        tier_table([b]),
        np.zeros(1, dtype=np.intp),
    )
    assert res.tier.tolist() == [1]
    tier1_only, _ = hl_liquidation_price(100_000.0, 40.0, 700_000.0, hl_single_tier(10))
    assert round(tier1_only, 2) == 34.74  # where the notional, 3.47 M, is in tier 2: not the venue's answer
    equity = 700_000.0 - 100_000.0 * (40.0 - lp)
    assert equity == pytest.approx(maintenance_margin(100_000.0 * lp, b.floors, b.mmrs, b.cums), rel=1e-12)


def test_maintenance_is_half_initial_at_max_leverage() -> None:
    """40× → 1.25 %, 3× → 16.7 %; a leverage ≤ 0 or NaN has no rate."""
    out = hl_maintenance_rate(np.array([40.0, 3.0, 0.0, np.nan]))
    assert out[:2] == pytest.approx([0.0125, 1 / 6])
    assert np.isnan(out[2:]).all()


def test_reasons_and_nan_semantics() -> None:
    """NaN in → NaN with a reason; null (no LP) for a 1× long; past liquidation keeps a value."""
    table = tier_table([hl_single_tier(50)])
    szi = np.array([np.nan, 0.0, 1.0, 1.0, 1.0, -1.0, 1.0])
    mark = np.array([100.0, 100.0, 0.0, 100.0, 100.0, 100.0, 100.0])
    margin = np.array([50.0, 50.0, 50.0, 100.0, 0.5, -150.0, 50.0])
    sym = np.array([0, 0, 0, 0, 0, 0, 3])
    res = hl_liquidation_prices(szi, mark, margin, table, sym)
    assert [Reason(int(r)) for r in res.reason] == [
        Reason.NAN_INPUT,
        Reason.NO_POSITION,
        Reason.NON_POSITIVE_PRICE,
        Reason.NOT_LIQUIDATABLE,  # 1× long: the venue sends liquidationPx null
        Reason.PAST_LIQUIDATION,  # margin 0.5 < MM 1.0 at the mark
        Reason.ALWAYS_LIQUIDATABLE,  # short whose margin + |szi|·mark < 0
        Reason.MISSING_TIER,  # no such table row
    ]
    assert np.isnan(res.price[[0, 1, 2, 3, 5, 6]]).all()
    assert res.price[4] > 100.0
    assert res.tier.tolist() == [-1, -1, -1, -1, 0, -1, -1]


@st.composite
def _tables(draw: st.DrawFn) -> tuple[list[float], list[float]]:
    n = draw(st.integers(1, 4))
    bounds = sorted(draw(st.lists(st.floats(1e3, 1e8), min_size=n - 1, max_size=n - 1, unique=True)))
    levs = sorted(draw(st.lists(st.integers(1, 50), min_size=n, max_size=n, unique=True)), reverse=True)
    return [0.0, *bounds], [float(x) for x in levs]


@settings(max_examples=150, deadline=None)
@given(
    tables=st.lists(_tables(), min_size=1, max_size=3), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 10)
)
def test_lp_exhausts_the_margin_test_with_the_lp_tier(
    tables: list[tuple[list[float], list[float]]], seed: int, n: int
) -> None:
    """Random tiered books: at each LP, margin + szi·(LP − mark) = other MM + MM(LP) with LP's own tier."""
    rng = np.random.default_rng(seed)
    brackets = [hl_brackets(*t) for t in tables]
    table = tier_table(brackets)
    sym = rng.integers(0, len(brackets), n)
    szi = rng.uniform(0.01, 1_000.0, n) * rng.choice([-1.0, 1.0], n)
    mark = rng.uniform(1.0, 100_000.0, n)
    margin = np.abs(szi) * mark * rng.uniform(0.01, 1.2, n)
    other = rng.uniform(0.0, 0.3, n) * margin
    res = hl_liquidation_prices(szi, mark, margin, table, sym, other_mm=other)
    for j in range(n):
        b = brackets[sym[j]]
        if not np.isfinite(res.price[j]):
            assert res.reason[j] in (Reason.NOT_LIQUIDATABLE, Reason.ALWAYS_LIQUIDATABLE)
            continue
        lp = res.price[j]
        equity = margin[j] + szi[j] * (lp - mark[j])
        mm = other[j] + maintenance_margin(abs(szi[j]) * lp, b.floors, b.mmrs, b.cums)
        assert abs(equity - mm) <= 1e-9 * max(abs(margin[j]), mm, 1.0)


@settings(max_examples=150, deadline=None)
@given(
    tables=st.lists(_tables(), min_size=1, max_size=3), seed=st.integers(0, 2**32 - 1), n=st.integers(1, 10)
)
def test_documented_formula_equals_binance_solver_with_entry_at_mark(
    tables: list[tuple[list[float], list[float]]], seed: int, n: int
) -> None:
    """Same test, another derivation: Binance's re-tiering solver (entry := mark, wallet := margin) agrees."""
    rng = np.random.default_rng(seed)
    table = tier_table([hl_brackets(*t) for t in tables])
    sym = rng.integers(0, len(tables), n).astype(np.intp)
    szi = rng.uniform(0.01, 1_000.0, n) * rng.choice([-1.0, 1.0], n)
    mark = rng.uniform(1.0, 100_000.0, n)
    margin = np.abs(szi) * mark * rng.uniform(0.01, 1.2, n)
    ours = hl_liquidation_prices(szi, mark, margin, table, sym)
    theirs = liquidation_prices(szi, mark, mark, margin, table, sym)
    both = np.isfinite(ours.price) & np.isfinite(theirs.price)
    assert np.array_equal(np.isfinite(ours.price), np.isfinite(theirs.price))
    np.testing.assert_allclose(ours.price[both], theirs.price[both], rtol=1e-9)
    np.testing.assert_array_equal(ours.tier[both], theirs.tier[both])


def test_funding_baseline_clamp_and_cap() -> None:
    """P̄ = 0 → 0.0000125/h (the ctx baseline); a small premium is clamped to the interest; 4 %/h cap."""
    assert hl_hourly_funding_rate(0.0) == pytest.approx(0.0000125, rel=1e-15)
    assert hl_funding_rate_8h(0.0003) == pytest.approx(0.0001)  # |0.01 % − P̄| ≤ 0.05 %: F = interest
    assert hl_funding_rate_8h(0.001) == pytest.approx(0.001 - 0.0005)
    assert hl_funding_rate_8h(-0.001) == pytest.approx(-0.001 + 0.0005)
    assert hl_hourly_funding_rate(1.0) == 0.04
    assert hl_hourly_funding_rate(-1.0) == -0.04
    assert math.isnan(hl_hourly_funding_rate(math.nan))


def test_funding_payment_on_the_oracle_price() -> None:
    """A long pays size × oracle × rate (not the mark); a short receives; the rate is capped at 4 %/h."""
    assert hl_funding_payment(2.0, 100.0, 0.0000125) == pytest.approx(-0.0025)
    assert hl_funding_payment(-2.0, 100.0, 0.0000125) == pytest.approx(0.0025)
    assert hl_funding_payment(1.0, 100.0, 0.5) == pytest.approx(-4.0)
    out = hl_funding_payment(np.array([1.0, 1.0, np.nan]), np.array([0.0, 100.0, 100.0]), 0.001)
    assert np.isnan(out[0])
    assert out[1] == pytest.approx(-0.1)
    assert np.isnan(out[2])


def test_premium_from_impact_prices() -> None:
    """The docs' ctx: impacts 14.3047/14.3444 straddle oracle 14.32 → 0; a bid above the oracle → positive."""
    assert hl_premium(14.3047, 14.3444, 14.32) == 0.0
    assert hl_premium(101.0, 102.0, 100.0) == pytest.approx(0.01)
    assert hl_premium(98.0, 99.0, 100.0) == pytest.approx(-0.01)
    assert math.isnan(hl_premium(101.0, 102.0, 0.0))
