"""Tiered maintenance margin, margin ratio and headroom (risk-formulas §4, venues.md §3)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.risk import margin as m
from monitor.risk.reasons import Reason
from monitor.risk.tiers import table_maintenance_margin, table_tier, tier_table
from tests.unit.risk.conftest import BTC_FLOORS, BTC_MMRS, btc_brackets, eth_brackets


def test_cum_recursion_reproduces_binance_btc_table() -> None:
    """cum_n = cum_{n−1} + floor_n·(mmr_n − mmr_{n−1}) gives Binance's 0/50/1,300/16,300/141,300."""
    cums = m.cum_from_brackets(np.array(BTC_FLOORS, float), np.array(BTC_MMRS, float))
    np.testing.assert_allclose([0, 50, 1_300, 16_300, 141_300], cums[:5], rtol=0, atol=1e-9)


def test_eth_table_has_faq_cum_for_10pct_tier() -> None:
    """The ETH 2M–5M tier (10 %) has cum 135,365 as in the FAQ example."""
    assert pytest.approx(eth_brackets().cums[5], abs=1e-9) == 135_365


def test_maintenance_margin_faq_example() -> None:
    """MM_BTC = 71,200.811444 and MM_ETH = 356,512.508122 at the FAQ marks (risk-formulas §5)."""
    btc, eth = btc_brackets(), eth_brackets()
    n_btc = m.notional(109.488, 31_967.27)
    n_eth = m.notional(3_683.979, 1_335.18)
    assert pytest.approx(n_btc, abs=1e-6) == 3_500_032.45776
    assert (
        pytest.approx(m.maintenance_margin(n_btc, btc.floors, btc.mmrs, btc.cums), abs=1e-6) == 71_200.811444
    )
    assert (
        pytest.approx(m.maintenance_margin(n_eth, eth.floors, eth.mmrs, eth.cums), abs=1e-6) == 356_512.508122
    )


def test_unrealized_pnl_faq_example() -> None:
    """UPnL = q·(mark − entry): BTC −56,354.56848, ETH −448,192.88514."""
    assert pytest.approx(m.unrealized_pnl(109.488, 32_481.98, 31_967.27), abs=1e-6) == -56_354.56848
    assert pytest.approx(m.unrealized_pnl(3_683.979, 1_456.84, 1_335.18), abs=1e-6) == -448_192.88514


def test_account_margin_ratio_faq_example() -> None:
    """Account margin ratio at the marks: 427,713.32 / 1,030,895.56 = 41.49 %."""
    total_mm = 71_200.811444 + 356_512.508122
    mb = m.margin_balance(1_535_443.01, -56_354.56848 - 448_192.88514)
    assert pytest.approx(mb, abs=1e-5) == 1_030_895.55638
    assert pytest.approx(m.margin_ratio(total_mm, mb), abs=5e-5) == 0.4149
    assert mb - total_mm == pytest.approx(m.headroom(total_mm, mb), abs=1e-9)
    assert 1 - total_mm / mb == pytest.approx(m.headroom_fraction(total_mm, mb), abs=1e-12)


def test_position_risk_row_checks() -> None:
    """The venues.md §3.4 positionRisk row: notional, UPnL, MM (0.4 %, cum 0) and IM at 80x."""
    btc = btc_brackets()
    n = m.notional(0.009, 67_502.68519858)
    assert pytest.approx(n, abs=1e-8) == 607.52416678
    assert pytest.approx(m.unrealized_pnl(0.009, 67_445.9, 67_502.68519858), abs=1e-8) == 0.51106678
    mm = m.maintenance_margin(n, btc.floors, btc.mmrs, btc.cums)
    assert math.floor(mm * 1e8) / 1e8 == 2.43009666  # Binance truncates to 8 dp
    assert pytest.approx(m.initial_margin(n, 80.0), abs=1e-8) == 7.59405208


def test_tier_lookup_boundaries() -> None:
    """A notional exactly at a floor belongs to that tier; NaN, negative and ≥ last cap have none."""
    b = btc_brackets()
    t = m.tier_index(np.array([0.0, 49_999.99, 50_000.0, 1e6, np.nan, -1.0, 3e8]), b.floors, b.caps)
    assert t.tolist() == [0, 0, 1, 3, -1, -1, -1]


def test_mm_is_continuous_across_tiers() -> None:
    """With cum from the recursion MM does not jump at a floor (why cum exists)."""
    b = btc_brackets()
    for f in b.floors[1:]:
        below = m.maintenance_margin(f * (1 - 1e-12), b.floors, b.mmrs, b.cums)
        at = m.maintenance_margin(float(f), b.floors, b.mmrs, b.cums)
        assert at == pytest.approx(below, rel=1e-9)


def test_margin_ratio_is_inf_past_liquidation_and_nan_for_nan() -> None:
    """Margin balance ≤ 0 reads as +inf (past liquidation), never negative; NaN stays NaN."""
    r = m.margin_ratio(np.array([10.0, 10.0, 0.0, np.nan]), np.array([-5.0, 0.0, 100.0, 1.0]))
    assert [math.inf, math.inf, 0.0] == r[:3].tolist()
    assert math.isnan(r[3])


def test_missing_tier_gives_nan() -> None:
    """No table → NaN MM; a bad price → NaN notional and UPnL."""
    assert math.isnan(m.maintenance_margin(1_000.0, np.zeros(0), np.zeros(0), np.zeros(0)))
    assert math.isnan(m.notional(1.0, 0.0))
    assert math.isnan(m.unrealized_pnl(1.0, -5.0, 10.0))


def test_inverse_notional_and_upnl_in_coin() -> None:
    """Inverse: notional = |q_usd|/mark (coin), UPnL = q_usd·(1/entry − 1/mark) (coin)."""
    assert pytest.approx(m.notional(10_000.0, 50_000.0, inverse=True)) == 0.2
    assert pytest.approx(m.unrealized_pnl(10_000.0, 40_000.0, 50_000.0, inverse=True)) == 10_000 * (
        1 / 40_000 - 1 / 50_000
    )


def test_bracket_problem_flags_bad_tables() -> None:
    """Gaps, unsorted floors and inconsistent cums are reported, consistent tables are OK."""
    good = btc_brackets()
    assert m.bracket_problem(good) == Reason.OK
    gap = m.brackets([0, 50_000], [0.004, 0.005], caps=[40_000, 1e6])
    assert m.bracket_problem(gap) == Reason.MISSING_TIER
    jump = m.brackets([0, 50_000], [0.004, 0.005], cums=[0.0, 80.0])
    assert m.bracket_problem(jump) == Reason.TIER_BOUNDARY
    assert m.bracket_problem(m.brackets([], [])) == Reason.MISSING_TIER


def test_padded_table_matches_single_table() -> None:
    """The padded 2-D lookup gives the same tier and MM as the per-symbol one."""
    btc, eth = btc_brackets(), eth_brackets()
    table = tier_table([btc, eth])
    rng = np.random.default_rng(1)
    notional = rng.uniform(0, 6e7, 500)
    sym = rng.integers(0, 2, 500)
    mm, tier = table_maintenance_margin(table, sym, notional)
    for i in range(500):
        b = (btc, eth)[sym[i]]
        assert int(m.tier_index(notional[i], b.floors, b.caps)) == tier[i]
        expected = m.maintenance_margin(notional[i], b.floors, b.mmrs, b.cums, b.caps)
        assert expected == pytest.approx(mm[i], rel=1e-12, nan_ok=True)
    assert table_tier(table, np.array([-1, 0, 1]), np.array([1.0, np.nan, 5e7])).tolist() == [-1, -1, -1]


def test_padded_lookup_exact_at_and_just_below_floors() -> None:
    """At a floor → that tier; one ulp below → the tier before (the log-key search is verified exactly)."""
    tables = [btc_brackets(), eth_brackets()]
    table = tier_table(tables)
    for s, b in enumerate(tables):
        at = b.floors.copy()
        below = np.nextafter(b.floors[1:], 0.0)
        notional = np.concatenate([at, below])
        sym = np.full(notional.size, s)
        expected = m.tier_index(notional, b.floors, b.caps)
        assert table_tier(table, sym, notional).tolist() == expected.tolist()


def test_invalid_bracket_row_is_missing_tier() -> None:
    """A table with a gap becomes an empty row: every lookup on it is −1, never a wrong rate."""
    gap = m.brackets([0, 50_000], [0.004, 0.005], caps=[40_000, 1e6])
    table = tier_table([btc_brackets(), gap])
    assert table_tier(table, np.array([0, 1, 1]), np.array([10.0, 10.0, 45_000.0])).tolist() == [0, -1, -1]
