"""Leverage brackets: the cum recursion and the tier lookup at mark notional."""

from __future__ import annotations

import itertools

import pytest

from monitor.sim.brackets import BRACKETS, build_brackets, max_notional_for_leverage, tier_for


def test_btc_cum_follows_the_faq_recursion() -> None:
    """cum_n = cum_{n-1} + floor_n × (mmr_n − mmr_{n−1}) gives 0 / 50 / 1,300 / 16,300 for BTCUSDT."""
    assert [b.cum for b in BRACKETS["BTCUSDT"][:4]] == [0.0, 50.0, 1300.0, 16300.0]


def test_btc_table_floors_caps_mmr_leverage() -> None:
    """The BTCUSDT table has the venue's floors, each cap the next floor, and the last cap 500M."""
    table = BRACKETS["BTCUSDT"]
    assert [b.floor for b in table] == [0, 50e3, 250e3, 1e6, 10e6, 20e6, 50e6, 100e6, 200e6, 300e6]
    assert [b.cap for b in table] == [50e3, 250e3, 1e6, 10e6, 20e6, 50e6, 100e6, 200e6, 300e6, 500e6]
    assert [b.mmr for b in table] == [0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15, 0.25, 0.50]
    assert [b.max_leverage for b in table] == [125, 100, 50, 20, 10, 5, 4, 3, 2, 1]


def test_eth_table_contains_the_faq_example_tier() -> None:
    """Binance's liquidation example uses ETHUSDT mmr 10 % with cum 135,365 at ~4.9M notional."""
    tier = tier_for(BRACKETS["ETHUSDT"], 4_918_775.08)
    assert (tier.mmr, tier.cum) == (0.10, 135_365.0)


def test_maintenance_margin_is_continuous_across_every_tier_boundary() -> None:
    """At each floor, the MM of the tier below equals the MM of the tier above (what cum is for)."""
    for table in BRACKETS.values():
        for lower, upper in itertools.pairwise(table):
            n = upper.floor
            assert n * lower.mmr - lower.cum == pytest.approx(n * upper.mmr - upper.cum, rel=1e-12)


@pytest.mark.parametrize(
    ("notional", "bracket"),
    [(0.0, 1), (49_999.99, 1), (50_000.0, 2), (3_500_032.46, 4), (-3_500_032.46, 4), (9e9, 10)],
)
def test_tier_lookup_uses_floor_inclusive_cap_exclusive(notional: float, bracket: int) -> None:
    """floor ≤ |notional| < cap; past the last cap the last tier applies."""
    assert tier_for(BRACKETS["BTCUSDT"], notional).bracket == bracket


def test_max_notional_for_leverage() -> None:
    """20x is allowed up to the 10M cap of the 2.5 % tier."""
    assert max_notional_for_leverage(BRACKETS["BTCUSDT"], 20) == 10e6


def test_a_table_must_start_at_zero() -> None:
    with pytest.raises(ValueError, match="starting at 0"):
        build_brackets([10, 20], [0.01, 0.02], [10, 5], 100)
