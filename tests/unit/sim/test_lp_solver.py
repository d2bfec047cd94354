"""The venue's numerical liquidation price against Binance's own worked example (risk-formulas §5)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.sim.binance.lp_solver import bisect_root, liquidation_price
from monitor.sim.binance.margin import account_risk, maint_margin
from monitor.sim.book import Position
from monitor.sim.brackets import BRACKETS, Bracket, tier_for

WB = 1_535_443.01
MARKS = {"BTCUSDT": 31_967.27, "ETHUSDT": 1_335.18}
# fixed single-tier tables: the example states mmr and cum; these make them hold at any price
FIXED = {
    "BTCUSDT": (Bracket(1, 0.0, 1e15, 0.025, 16_300.0, 20),),
    "ETHUSDT": (Bracket(1, 0.0, 1e15, 0.10, 135_365.0, 10),),
}


def _pos(
    symbol: str, qty: float, entry: float, mode: str = "cross", iw: float = 0.0, side: str = "BOTH"
) -> Position:
    return Position(symbol, side, qty, entry, mode, iw, 10.0, 0)  # type: ignore[arg-type]


BTC = _pos("BTCUSDT", 109.488, 32_481.98)
ETH = _pos("ETHUSDT", 3_683.979, 1_456.84)


@pytest.mark.parametrize("brackets", [FIXED, BRACKETS], ids=["fixed-tiers", "venue-tables"])
def test_cross_worked_example(brackets: dict[str, tuple[Bracket, ...]]) -> None:
    """LP(ETH) = 1,153.26 and LP(BTC) = 26,316.89, with the fixed tiers and with the shipped tables."""
    assert liquidation_price(ETH, [BTC, ETH], WB, MARKS, brackets) == pytest.approx(1_153.26, abs=0.005)
    assert liquidation_price(BTC, [BTC, ETH], WB, MARKS, brackets) == pytest.approx(26_316.89, abs=0.005)


def test_worked_example_without_the_other_contract() -> None:
    """TMM1 = UPNL1 = 0 (each position alone on the wallet): 1,114.78 and 18,778.73."""
    assert liquidation_price(ETH, [ETH], WB, MARKS, FIXED) == pytest.approx(1_114.78, abs=0.005)
    assert liquidation_price(BTC, [BTC], WB, MARKS, FIXED) == pytest.approx(18_778.73, abs=0.005)


def test_account_ratio_of_the_example() -> None:
    """Margin ratio at the marks is 41.49 %; at LP(ETH) equity equals total MM (360,693.07)."""
    assert account_risk(WB, [BTC, ETH], MARKS, FIXED).cross_margin_ratio == pytest.approx(0.4149, abs=5e-5)
    lp = liquidation_price(ETH, [BTC, ETH], WB, MARKS, FIXED)
    at_lp = account_risk(WB, [BTC, ETH], {**MARKS, "ETHUSDT": lp}, FIXED)
    assert at_lp.cross_maint_margin == pytest.approx(360_693.07, abs=0.01)
    assert at_lp.cross_margin_ratio == pytest.approx(1.0, rel=1e-12)


def test_isolated_short_matches_the_one_way_special_case() -> None:
    """Short isolated: LP = (WB + cum + Q·EP) / (Q·(1 + mmr))."""
    short = _pos("BTCUSDT", -2.0, 40_000.0, "isolated", iw=3_000.0)
    lp = liquidation_price(short, [short], 0.0, {"BTCUSDT": 40_000.0}, BRACKETS)
    tier = tier_for(BRACKETS["BTCUSDT"], 2 * lp)
    assert lp == pytest.approx((3_000 + tier.cum + 2 * 40_000) / (2 * (1 + tier.mmr)), rel=1e-12)


def test_tier_is_rechosen_at_the_liquidation_price() -> None:
    """A long whose notional falls into a lower tier by the LP is solved with that tier's mmr/cum."""
    long = _pos("BTCUSDT", 30.0, 40_000.0, "isolated", iw=300_000.0)  # 1.2M notional at entry: 2.5 % tier
    lp = liquidation_price(long, [long], 0.0, {"BTCUSDT": 40_000.0}, BRACKETS)
    tier = tier_for(BRACKETS["BTCUSDT"], 30 * lp)
    assert tier.mmr == 0.01  # below 1M notional at the LP
    assert lp == pytest.approx((30 * 40_000 - 300_000 - tier.cum) / (30 * (1 - tier.mmr)), rel=1e-12)


def test_no_positive_price_liquidates_an_overcollateralised_long() -> None:
    """A long whose wallet covers its whole entry notional reports 0 ("--" at the venue)."""
    long = _pos("BTCUSDT", 1.0, 40_000.0)
    assert liquidation_price(long, [long], 50_000.0, {"BTCUSDT": 40_000.0}, BRACKETS) == 0.0


def test_hedge_legs_share_one_cross_liquidation_price() -> None:
    long = _pos("BTCUSDT", 3.0, 40_000.0, side="LONG")
    short = _pos("BTCUSDT", -1.0, 40_000.0, side="SHORT")
    marks = {"BTCUSDT": 40_000.0}
    lp = liquidation_price(long, [long, short], 8_000.0, marks, BRACKETS)
    assert lp == liquidation_price(short, [long, short], 8_000.0, marks, BRACKETS)
    assert account_risk(
        8_000.0, [long, short], {"BTCUSDT": lp}, BRACKETS
    ).cross_margin_ratio == pytest.approx(1.0)


def test_bisection_reaches_machine_precision() -> None:
    root = bisect_root(lambda x: x * x - 2.0, 0.0, 2.0)
    assert abs(root - 2**0.5) <= 2.3e-16


@given(
    qty=st.floats(0.001, 500.0),
    entry=st.floats(1_000.0, 100_000.0),
    leverage=st.floats(1.0, 100.0),
    short=st.booleans(),
)
def test_isolated_equity_equals_maintenance_margin_at_the_lp(
    qty: float, entry: float, leverage: float, short: bool
) -> None:
    """Property: at the solved LP, isolated wallet + UPnL − MM is zero to rounding."""
    q = -qty if short else qty
    pos = _pos("BTCUSDT", q, entry, "isolated", iw=qty * entry / leverage)
    lp = liquidation_price(pos, [pos], 0.0, {"BTCUSDT": entry}, BRACKETS)
    if lp == 0.0:
        assert not short
        return
    residual = pos.isolated_wallet + q * (lp - entry) - maint_margin(q, lp, BRACKETS["BTCUSDT"])
    assert abs(residual) <= 1e-9 * qty * entry
