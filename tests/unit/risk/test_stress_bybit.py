"""Stress on Bybit's margin model: maintenance margin valued at entry, worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.risk.bybit_liquidation import bybit_isolated_liquidation_price_2024, bybit_position_mm
from monitor.risk.margin import brackets
from monitor.risk.stress import Scenario, StressBook, run_scenario
from monitor.risk.tiers import tier_table
from tests.unit.risk.conftest import btc_brackets

# Bybit-like BTCUSDT risk limits: 0.5 % up to 2M of position value, then 1 % with mmDeduction
# 2M × (1 % − 0.5 %) = 10,000 (the deduction recursion).
BYBIT = brackets(
    np.array([0.0, 2e6, 1e7]),
    np.array([0.005, 0.01, 0.015]),
    caps=np.array([2e6, 1e7, 2e7]),
    cums=np.array([0.0, 10_000.0, 60_000.0]),
)
TABLE = tier_table([BYBIT])


def _one(q: float, entry: float, *, wallet: float, isolated: float | None, bybit: bool = True) -> StressBook:
    """One perp on venue 0 at mark = entry; `isolated` = its position balance (None: cross)."""
    one = np.ones(1)
    return StressBook(
        perp_venue=np.array([0]),
        perp_q=q * one,
        perp_entry=entry * one,
        perp_mark=entry * one,
        perp_sym=np.array([0]),
        perp_isolated=np.array([isolated is not None]),
        perp_isolated_wallet=(isolated or 0.0) * one,
        perp_funding_cap=0.005 * one,
        perp_funding_interval_h=8.0 * one,
        spot_venue=np.zeros(0, dtype=np.intp),
        spot_q=np.zeros(0),
        spot_price=np.zeros(0),
        venue_wallet=np.array([wallet]),
        venue_usdt_share=np.array([1.0]),
        table=TABLE,
        perp_entry_valued=np.array([bybit]),
    )


def _shock(book: StressBook, s: float) -> tuple[bool, float]:
    res = run_scenario(book, Scenario(name="s", price_shock=s))
    return bool(res.liquidated[0]), float(res.isolated_topup[0] + res.topup[0])


def test_isolated_long_50x_worked_example() -> None:
    """Long 1 BTC @ 10,000, 50×, MMR 0.5 %: balance 200, MM 50 at entry, LP 9,850.

    −1 %: 200 − 100 = 100 > 50, alive. −1.6 %: 200 − 160 = 40 < 50, liquidated.
    −2 %: 200 − 200 = 0; the top-up that brings equity back to MM is 50 − 0 = 50 (Binance's model,
    MM at the shocked 9,800, would say 49).
    """
    book = _one(1.0, 10_000.0, wallet=0.0, isolated=10_000.0 / 50)
    assert _shock(book, -0.01) == (False, 0.0)
    assert _shock(book, -0.016) == (True, pytest.approx(10.0))
    assert _shock(book, -0.02) == (True, pytest.approx(50.0))
    assert _shock(book._replace(perp_entry_valued=np.array([False])), -0.02)[1] == pytest.approx(49.0)
    # the top-up brings equity to MM exactly: with it the position sits on its LP, a cent more survives
    topped = book._replace(perp_isolated_wallet=np.array([200.0 + 50.0]))
    res = run_scenario(topped, Scenario(name="s", price_shock=-0.02))
    assert res.equity_after[0] == pytest.approx(50.0)  # = MM
    assert _shock(book._replace(perp_isolated_wallet=np.array([250.01])), -0.02) == (False, 0.0)


def test_isolated_liquidation_at_bybits_own_lp() -> None:
    """A shock to a hair above the entry-valued LP survives, a hair below liquidates (9,850 here).

    The stress engine's `perp_entry_valued` mode is Bybit's pre-2025-09-02 model, so its LP is the
    2024 one; the live figures use the mark-valued model (`risk.bybit_liquidation`).
    """
    book = _one(1.0, 10_000.0, wallet=0.0, isolated=200.0)
    mm = float(bybit_position_mm(1.0, 10_000.0, BYBIT.floors, BYBIT.mmrs, BYBIT.cums))
    lp = float(bybit_isolated_liquidation_price_2024(1.0, 10_000.0, 200.0, mm))
    assert (mm, lp) == (pytest.approx(50.0), pytest.approx(9_850.0))
    assert not _shock(book, lp / 10_000.0 * (1 + 1e-9) - 1)[0]
    assert _shock(book, lp / 10_000.0 * (1 - 1e-9) - 1)[0]


def test_cross_short_keeps_its_entry_tier() -> None:
    """Short 250 BTC @ 10,000 cross: value 2.5M → tier 2, MM = 25,000 − 10,000 = 15,000, whatever the mark.

    +20 %: UPnL −500,000 on a 517,000 wallet leaves 17,000. Bybit: ratio 15/17, alive. Binance's
    model re-tiers at the 3M shocked notional (MM 20,000): liquidated, top-up 3,000.
    """
    book = _one(-250.0, 10_000.0, wallet=517_000.0, isolated=None)
    res = run_scenario(book, Scenario(name="up20", price_shock=0.20))
    assert res.equity_after[0] == pytest.approx(17_000.0)
    assert res.margin_ratio_after[0] == pytest.approx(15_000.0 / 17_000.0)
    assert not res.liquidated[0] and res.topup[0] == 0.0
    mark_valued = run_scenario(book._replace(perp_entry_valued=None), Scenario(name="up20", price_shock=0.20))
    assert mark_valued.margin_ratio_after[0] == pytest.approx(20_000.0 / 17_000.0)
    assert mark_valued.liquidated[0] and mark_valued.topup[0] == pytest.approx(3_000.0)
    # −10 %: the short gains 250,000; MM stays 15,000 (Binance's would fall to 2.25M·0.01 − 10,000)
    down = run_scenario(book, Scenario(name="dn10", price_shock=-0.10))
    assert down.margin_ratio_after[0] == pytest.approx(15_000.0 / 767_000.0)


def _two_venues(flags: np.ndarray | None) -> StressBook:
    """Binance short 30 (venue 0, Binance tiers) and Bybit short 20 (venue 1, Bybit tiers), 50 in custody."""
    return StressBook(
        perp_venue=np.array([0, 1]),
        perp_q=np.array([-30.0, -20.0]),
        perp_entry=np.array([40_000.0, 40_010.0]),
        perp_mark=np.array([40_000.0, 40_010.0]),
        perp_sym=np.array([0, 1]),
        perp_isolated=np.array([False, False]),
        perp_isolated_wallet=np.zeros(2),
        perp_funding_cap=np.array([0.003, 0.005]),
        perp_funding_interval_h=np.array([8.0, 8.0]),
        spot_venue=np.array([-1]),
        spot_q=np.array([50.0]),
        spot_price=np.array([40_020.0]),
        venue_wallet=np.array([240_000.0, 160_000.0]),
        venue_usdt_share=np.array([1.0, 1.0]),
        table=tier_table([btc_brackets(), BYBIT]),
        perp_entry_valued=flags,
    )


@pytest.mark.parametrize("shock", [-0.5, -0.2, 0.05, 0.2, 0.3, 0.5])
def test_mixed_book_binance_legs_unchanged(shock: float) -> None:
    """The flag touches only Bybit's legs: Binance's venue is identical to an all-Binance run."""
    sc = Scenario(name="s", price_shock=shock, funding_days=7.0)
    mixed = run_scenario(_two_venues(np.array([False, True])), sc)
    plain = run_scenario(_two_venues(None), sc)
    for field in ("equity_after", "margin_ratio_after", "topup", "perp_pnl", "funding_pnl"):
        assert getattr(mixed, field)[0] == getattr(plain, field)[0]
    assert mixed.liquidated[0] == plain.liquidated[0]
    # Bybit's venue: MM at the 800,200 entry value (tier 1: 0.5 %), not at the shocked mark
    m = 40_010.0 * (1 + shock)
    equity = 160_000.0 - 20.0 * (m - 40_010.0) - 21 * 0.005 * 20.0 * m
    assert mixed.equity_after[1] == pytest.approx(equity)
    ratio = 0.005 * 800_200.0 / equity if equity > 0 else math.inf
    assert mixed.margin_ratio_after[1] == pytest.approx(ratio)
    assert mixed.topup[1] == pytest.approx(max(0.005 * 800_200.0 - equity, 0.0))


def test_outage_other_venue_holds() -> None:
    """Binance frozen and BTC +20 %: the Bybit short alone (−160,040 UPnL on 160,000) is what is left."""
    res = run_scenario(
        _two_venues(np.array([False, True])), Scenario(name="o", frozen_venue=0, price_shock=0.2)
    )
    assert res.frozen.tolist() == [True, False]
    bybit_equity = 160_000.0 - 20.0 * 40_010.0 * 0.2
    assert res.equity_after[1] == pytest.approx(bybit_equity)
    assert bybit_equity < 0.005 * 800_200.0  # under its entry-valued MM: Bybit does not hold
    assert res.liquidated[1] and res.topup[1] == pytest.approx(0.005 * 800_200.0 - bybit_equity)
    calm = run_scenario(
        _two_venues(np.array([False, True])), Scenario(name="o", frozen_venue=0, price_shock=0.1)
    )
    assert not calm.liquidated[1]  # +10 %: 160,000 − 80,020 covers the 4,001 MM
