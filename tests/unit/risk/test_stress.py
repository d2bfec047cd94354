"""Stress scenarios (risk-formulas §11) and top-ups (§6)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.risk.stress import Scenario, StressBook, run_scenario, standard_scenarios
from monitor.risk.tiers import tier_table
from monitor.risk.topup import topup_cross, topup_isolated
from tests.unit.risk.conftest import btc_brackets

TABLE = tier_table([btc_brackets()])


def _book(wallet: float, *, isolated: bool = False, usdt: float = 1.0) -> StressBook:
    """Long 10 BTC in custody, short 10 BTCUSDT perp on venue 0 (cross by default), all at 60,000."""
    one = np.ones(1)
    return StressBook(
        perp_venue=np.array([0]),
        perp_q=-10 * one,
        perp_entry=60_000 * one,
        perp_mark=60_000 * one,
        perp_sym=np.array([0]),
        perp_isolated=np.array([isolated]),
        perp_isolated_wallet=(wallet if isolated else 0.0) * one,
        perp_funding_cap=0.003 * one,
        perp_funding_interval_h=8.0 * one,
        spot_venue=np.array([-1]),
        spot_q=10 * one,
        spot_price=60_000 * one,
        venue_wallet=np.array([0.0 if isolated else wallet, 50_000.0]),
        venue_usdt_share=np.array([usdt, 1.0]),
        table=TABLE,
    )


def test_margin_call_trap_price_up_30pct() -> None:
    """+30 %: perp −180,000 on the venue, spot +180,000 in custody; the venue alone must survive."""
    res = run_scenario(_book(200_000.0), Scenario(name="up30", price_shock=0.30))
    assert res.perp_pnl[0] == pytest.approx(-180_000.0)
    assert res.custody_spot_pnl == pytest.approx(180_000.0)
    assert res.total_spot_pnl + res.total_perp_pnl == pytest.approx(0.0)
    mm = 780_000 * 0.01 - 1_300  # tier 250k–1M at the shocked notional
    assert res.margin_ratio_after[0] == pytest.approx(mm / 20_000)
    assert not res.liquidated[0] and res.topup[0] == 0.0
    thin = run_scenario(_book(150_000.0), Scenario(name="up30", price_shock=0.30))
    assert math.isinf(thin.margin_ratio_after[0]) and thin.liquidated[0]
    assert thin.topup[0] == pytest.approx(mm + 30_000)
    # the top-up brings the ratio to exactly 100 %
    fixed = run_scenario(_book(150_000.0 + thin.topup[0]), Scenario(name="up30", price_shock=0.30))
    assert fixed.margin_ratio_after[0] == pytest.approx(1.0, rel=1e-12)


def test_funding_depeg_outage_basis() -> None:
    """Funding at cap 7 d costs 21·0.3 %·600,000; depeg −10 % cuts the USDT wallet; outage freezes a venue."""
    book = _book(200_000.0)
    fund = run_scenario(book, Scenario(name="f7", funding_days=7.0))
    assert fund.total_funding_pnl == pytest.approx(-21 * 0.003 * 600_000)
    depeg = run_scenario(book, Scenario(name="d", depeg=-0.10))
    assert depeg.equity_after[0] == pytest.approx(180_000.0)
    assert depeg.equity_after[1] == pytest.approx(45_000.0)
    out = run_scenario(book, Scenario(name="o", frozen_venue=1))
    assert out.frozen.tolist() == [False, True]
    assert out.total_equity_after - out.usable_equity_after == pytest.approx(50_000.0)
    basis = run_scenario(book, Scenario(name="b", basis_shock=0.02))
    assert basis.total_perp_pnl == pytest.approx(-10 * 60_000 * 0.02)
    assert basis.total_spot_pnl == 0.0


def test_isolated_position_and_topup_agree() -> None:
    """An isolated short's stress top-up equals topup_isolated and the §6 closed form."""
    res = run_scenario(_book(20_000.0, isolated=True), Scenario(name="up20", price_shock=0.20))
    q, ep, wb, lp_target = 10.0, 60_000.0, 20_000.0, 72_000.0
    needed = lp_target * q * (1 + 0.01) - 1_300 - q * ep  # tier 250k–1M at 720,000 notional
    assert res.isolated_topup[0] == pytest.approx(needed - wb)
    assert res.liquidated[0]
    closed = topup_isolated(
        np.array([-q]), np.array([ep]), np.array([ep]), np.array([wb]), TABLE, np.array([0]), 0.20
    )
    assert closed[0] == pytest.approx(needed - wb)


def test_topup_cross_and_bad_inputs() -> None:
    """Cross top-up per account; a missing tier makes the account NaN, not a partial sum."""
    acct, sym = np.array([0, 0]), np.array([0, 0])
    q, e = np.array([-10.0, 1.0]), np.array([60_000.0, 60_000.0])
    shocked = np.full(2, 78_000.0)
    need = topup_cross(acct, q, e, shocked, np.array([150_000.0]), TABLE, sym)
    mm = (780_000 * 0.01 - 1_300) + (78_000 * 0.005 - 50)  # tiers 2 and 1
    upnl = -10 * 18_000 + 18_000
    assert need[0] == pytest.approx(mm - upnl - 150_000)
    bad = topup_cross(acct, q, e, shocked, np.array([150_000.0]), TABLE, np.array([0, -1]))
    assert math.isnan(bad[0])
    assert math.isnan(
        topup_isolated(
            np.array([1.0]), np.array([-1.0]), np.array([1.0]), np.array([1.0]), TABLE, np.array([0]), 0.1
        )[0]
    )


def test_standard_catalogue() -> None:
    """Every §11 family is present, and every scenario runs on a real book without error."""
    scs = standard_scenarios(2)
    names = [s.name for s in scs]
    for expected in (
        "price_-50%",
        "price_+5%",
        "basis_perp_+5%",
        "funding_cap_30d",
        "outage_venue1",
        "usdt_depeg_-10%",
        "hist_2020-03-12_1d",
        "combined_+30%_basis_perp_+2%_funding_7d",
    ):
        assert expected in names
    for sc in scs:
        res = run_scenario(_book(200_000.0), sc)
        assert np.isfinite(res.total_equity_after)
