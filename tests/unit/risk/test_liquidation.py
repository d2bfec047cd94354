"""Liquidation price: Binance's general formula with re-tiering (risk-formulas §5, venues.md §3)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from monitor.risk import margin as m
from monitor.risk.liquidation import cross_others, liquidation_price, liquidation_prices
from monitor.risk.margin import Brackets
from monitor.risk.reasons import Reason, has_value
from monitor.risk.tiers import tier_table
from tests.unit.risk.conftest import btc_brackets, eth_brackets

WB = 1_535_443.01
BTC = {"qty": 109.488, "entry": 32_481.98, "mark": 31_967.27}
ETH = {"qty": 3_683.979, "entry": 1_456.84, "mark": 1_335.18}
MM_BTC, UPNL_BTC = 71_200.811444, -56_354.56848
MM_ETH, UPNL_ETH = 356_512.508122, -448_192.88514


def test_faq_cross_liquidation_prices() -> None:
    """LP(ETH) = 1,153.26 and LP(BTC) = 26,316.89 with the other contract's MM and UPnL."""
    eth = liquidation_price(wallet=WB, brackets=eth_brackets(), other_mm=MM_BTC, other_upnl=UPNL_BTC, **ETH)
    btc = liquidation_price(wallet=WB, brackets=btc_brackets(), other_mm=MM_ETH, other_upnl=UPNL_ETH, **BTC)
    assert (eth.reason, btc.reason) == (Reason.OK, Reason.OK)
    assert round(eth.price, 2) == 1_153.26
    assert round(btc.price, 2) == 26_316.89


def test_faq_isolated_rows() -> None:
    """With TMM1 = UPNL1 = 0 (freqtrade's isolated rows, same WB): 1,114.78 and 18,778.73."""
    assert round(liquidation_price(wallet=WB, brackets=eth_brackets(), **ETH).price, 2) == 1_114.78
    assert round(liquidation_price(wallet=WB, brackets=btc_brackets(), **BTC).price, 2) == 18_778.73


def test_faq_equity_equals_total_mm_at_eth_lp() -> None:
    """At LP(ETH), BTC held at mark: WB + UPnL = total MM = 360,693.07, margin ratio 100 %."""
    eth_b = eth_brackets()
    lp = liquidation_price(wallet=WB, brackets=eth_b, other_mm=MM_BTC, other_upnl=UPNL_BTC, **ETH).price
    mm_eth = m.maintenance_margin(m.notional(ETH["qty"], lp), eth_b.floors, eth_b.mmrs, eth_b.cums)
    equity = WB + UPNL_BTC + m.unrealized_pnl(ETH["qty"], ETH["entry"], lp)
    assert round(MM_BTC + mm_eth, 2) == 360_693.07
    assert equity == pytest.approx(MM_BTC + mm_eth, rel=1e-12)
    assert pytest.approx(m.margin_ratio(MM_BTC + mm_eth, equity), rel=1e-12) == 1.0


def test_faq_vectorised_cross_matches() -> None:
    """The vectorised one-way solver with cross_others reproduces both FAQ cross LPs."""
    table = tier_table([btc_brackets(), eth_brackets()])
    q = np.array([BTC["qty"], ETH["qty"]])
    entry = np.array([BTC["entry"], ETH["entry"]])
    mark = np.array([BTC["mark"], ETH["mark"]])
    sym = np.array([0, 1])
    mm = np.array([MM_BTC, MM_ETH])
    upnl = m.unrealized_pnl(q, entry, mark)
    om, ou = cross_others(np.array([0, 0]), mm, upnl)
    res = liquidation_prices(q, entry, mark, np.full(2, WB), table, sym, other_mm=om, other_upnl=ou)
    assert np.round(res.price, 2).tolist() == [26_316.89, 1_153.26]
    assert res.reason.tolist() == [0, 0]


def test_position_risk_row() -> None:
    """venues.md §3.4: long 0.009 @ 67,445.9, WB 25.72470371 → Binance's LP 64,846.98753790."""
    res = liquidation_price(
        wallet=25.72470371, brackets=btc_brackets(), qty=0.009, entry=67_445.9, mark=67_502.68519858
    )
    assert pytest.approx(res.price, abs=1e-6) == 64_846.98753790
    snap = liquidation_price(
        wallet=25.72610060, brackets=btc_brackets(), qty=0.009, entry=67_445.9, mark=67_502.68519858
    )
    assert round(snap.price, 2) == 64_846.83


def test_isolated_special_cases() -> None:
    """Isolated one-way: long (Q·EP − WB − cum)/(Q(1 − mmr)), short (WB + cum + Q·EP)/(Q(1 + mmr))."""
    b = btc_brackets()
    long_ = liquidation_price(wallet=500.0, brackets=b, qty=0.1, entry=60_000.0, mark=60_000.0)
    short = liquidation_price(wallet=500.0, brackets=b, qty=-0.1, entry=60_000.0, mark=60_000.0)
    assert pytest.approx(long_.price, rel=1e-12) == (0.1 * 60_000 - 500) / (0.1 * (1 - 0.004))
    assert pytest.approx(short.price, rel=1e-12) == (500 + 0.1 * 60_000) / (0.1 * (1 + 0.004))


def test_retiering_changes_the_answer() -> None:
    """A short whose LP lands in a higher tier is solved with that tier, not the tier at mark."""
    b = btc_brackets()
    q, ep, wb = -20.0, 45_000.0, 700_000.0  # 900k notional at mark (tier 2), LP notional > 1M
    res = liquidation_price(wallet=wb, brackets=b, qty=q, entry=ep, mark=ep)
    naive = (wb + b.cums[2] + 20 * ep) / (20 * (1 + b.mmrs[2]))
    assert 20 * naive >= 1e6  # the mark-tier answer is inconsistent
    assert res.tiers[0] == 3
    assert (wb + b.cums[3] + 20 * ep) / (20 * (1 + b.mmrs[3])) == pytest.approx(res.price, rel=1e-12)


def test_not_liquidatable_and_bad_inputs() -> None:
    """Over-collateralised long → NaN NOT_LIQUIDATABLE; NaN, ≤ 0 prices, no position → NaN + reason."""
    b = btc_brackets()
    assert (
        liquidation_price(wallet=1e6, brackets=b, qty=1.0, entry=50_000.0, mark=50_000.0).reason
        == Reason.NOT_LIQUIDATABLE
    )
    assert (
        liquidation_price(wallet=math.nan, brackets=b, qty=1.0, entry=1.0, mark=1.0).reason
        == Reason.NAN_INPUT
    )
    assert (
        liquidation_price(wallet=1.0, brackets=b, qty=1.0, entry=1.0, mark=0.0).reason
        == Reason.NON_POSITIVE_PRICE
    )
    assert liquidation_price(wallet=1.0, brackets=b, mark=1.0).reason == Reason.NO_POSITION
    empty = m.brackets([], [])
    assert (
        liquidation_price(wallet=1.0, brackets=empty, qty=1.0, entry=1.0, mark=1.0).reason
        == Reason.MISSING_TIER
    )
    under = liquidation_price(wallet=-1e6, brackets=b, qty=-1.0, entry=50_000.0, mark=50_000.0)
    assert (under.reason, math.isnan(under.price)) == (Reason.ALWAYS_LIQUIDATABLE, True)


def test_vectorised_reasons() -> None:
    """The vectorised solver flags each bad element and still prices the good ones."""
    table = tier_table([btc_brackets()])
    q = np.array([1.0, np.nan, 0.0, 1.0, 1.0, 1.0])
    e = np.array([50_000.0, 1.0, 1.0, -1.0, 50_000.0, 50_000.0])
    p = np.full(6, 50_000.0)
    w = np.array([5_000.0, 1.0, 1.0, 1.0, 1e6, 5_000.0])
    sym = np.array([0, 0, 0, 0, 0, -1])
    res = liquidation_prices(q, e, p, w, table, sym)
    expected = [
        Reason.OK,
        Reason.NAN_INPUT,
        Reason.NO_POSITION,
        Reason.NON_POSITIVE_PRICE,
        Reason.NOT_LIQUIDATABLE,
        Reason.MISSING_TIER,
    ]
    assert [int(x) for x in expected] == res.reason.tolist()
    assert np.isfinite(res.price[0]) and np.all(np.isnan(res.price[1:]))


def test_inconsistent_cum_oscillation_is_resolved() -> None:
    """A cum that makes MM jump at a floor: the solver reports the tier boundary, not a cycle."""
    b = m.brackets([0, 50_000], [0.004, 0.10], caps=[50_000, 1e7], cums=[0.0, 10_000.0])  # should be 4,800
    # long 1 @ 60,000, WB 8,000: tier 1 gives 46,667 (tier 0), tier 0 gives 52,209 (tier 1): a cycle.
    # Equity − MM jumps from +3,000 to −2,200 at the 50,000 floor: liquidation is at the floor.
    res = liquidation_price(wallet=8_000.0, brackets=b, qty=1.0, entry=60_000.0, mark=60_000.0)
    assert res.reason == Reason.TIER_BOUNDARY
    assert res.price == 50_000.0
    table = tier_table([b])
    vec = liquidation_prices(
        np.array([1.0]), np.array([60_000.0]), np.array([60_000.0]), np.array([8_000.0]), table, np.array([0])
    )
    assert (50_000.0, int(Reason.TIER_BOUNDARY)) == (vec.price[0], vec.reason[0])


# ---------- properties ----------


def _equity_minus_mm(
    b: Brackets, q: float, entry: float, price: float, wallet: float, om: float, ou: float
) -> tuple[float, float]:
    mm = m.maintenance_margin(m.notional(q, price), b.floors, b.mmrs, b.cums) + om
    equity = wallet + ou + m.unrealized_pnl(q, entry, price)
    return equity, mm


positions = st.fixed_dictionaries(
    {
        "q": st.floats(0.01, 2_000.0) | st.floats(-2_000.0, -0.01),
        "entry": st.floats(1_000.0, 150_000.0),
        "move": st.floats(-0.3, 0.3),
        "lev": st.floats(1.0, 100.0),
        "cross": st.booleans(),
        "om": st.floats(0.0, 2e6),
        "ou": st.floats(-2e6, 2e6),
    }
)


@settings(max_examples=300, deadline=None)
@given(positions)
def test_margin_ratio_is_100pct_at_lp(pos: dict[str, float]) -> None:
    """At the LP (re-tiered), equity = Σ MM: margin ratio exactly 100 %, cross or isolated, long or short."""
    b = btc_brackets()
    q, entry = pos["q"], pos["entry"]
    mark = entry * math.exp(pos["move"])
    wallet = abs(q) * entry / pos["lev"]
    om, ou = (pos["om"], pos["ou"]) if pos["cross"] else (0.0, 0.0)
    if pos["cross"]:
        wallet += pos["om"] * 2
    assume(abs(q) * mark < 2.9e8)
    res = liquidation_price(
        wallet=wallet, brackets=b, qty=q, entry=entry, mark=mark, other_mm=om, other_upnl=ou
    )
    if not has_value(res.reason):
        return
    equity, mm = _equity_minus_mm(b, q, entry, res.price, wallet, om, ou)
    scale = max(abs(wallet), abs(q) * res.price, om, abs(ou), 1.0)
    assert abs(equity - mm) <= 1e-9 * scale
    vec = liquidation_prices(
        np.array([q]),
        np.array([entry]),
        np.array([mark]),
        np.array([wallet]),
        tier_table([b]),
        np.array([0]),
        other_mm=om,
        other_upnl=ou,
    )
    assert res.price == pytest.approx(vec.price[0], rel=1e-12)
    assert int(res.reason) == vec.reason[0]


@settings(max_examples=200, deadline=None)
@given(positions, st.floats(1.0, 3.0))
def test_lp_moves_away_from_mark_as_wallet_grows(pos: dict[str, float], factor: float) -> None:
    """More wallet never brings the LP closer: a long's LP falls, a short's rises."""
    b = btc_brackets()
    q, entry = pos["q"], pos["entry"]
    mark = entry * math.exp(pos["move"])
    w1 = abs(q) * entry / pos["lev"]
    lp1 = liquidation_price(wallet=w1, brackets=b, qty=q, entry=entry, mark=mark)
    lp2 = liquidation_price(wallet=w1 * factor, brackets=b, qty=q, entry=entry, mark=mark)
    assume(has_value(lp1.reason) and has_value(lp2.reason))
    if q > 0:
        assert lp2.price <= lp1.price * (1 + 1e-12)
    else:
        assert lp2.price >= lp1.price * (1 - 1e-12)


@settings(max_examples=200, deadline=None)
@given(positions, st.floats(0.0, 1.5))
def test_hedge_mode_legs_consistent(pos: dict[str, float], short_frac: float) -> None:
    """A lone LONG/SHORT leg equals the one-way position; with both legs, equity = Σ MM at the LP."""
    b = btc_brackets()
    size, entry = abs(pos["q"]), pos["entry"]
    mark = entry * math.exp(pos["move"])
    wallet = size * entry / pos["lev"]
    one_long = liquidation_price(wallet=wallet, brackets=b, qty=size, entry=entry, mark=mark)
    leg_long = liquidation_price(wallet=wallet, brackets=b, long_qty=size, long_entry=entry, mark=mark)
    one_short = liquidation_price(wallet=wallet, brackets=b, qty=-size, entry=entry, mark=mark)
    leg_short = liquidation_price(wallet=wallet, brackets=b, short_qty=size, short_entry=entry, mark=mark)
    for a, c in ((one_long, leg_long), (one_short, leg_short)):
        assert a.reason == c.reason
        assert a.price == pytest.approx(c.price, rel=1e-12, nan_ok=True)
    s = size * short_frac
    assume(size * mark < 2.9e8 and s * mark < 2.9e8)
    both = liquidation_price(
        wallet=wallet,
        brackets=b,
        long_qty=size,
        long_entry=entry,
        short_qty=s,
        short_entry=entry * 1.01,
        mark=mark,
    )
    if not has_value(both.reason):
        return
    lp = both.price
    mm = sum(m.maintenance_margin(x * lp, b.floors, b.mmrs, b.cums) for x in (size, s) if x > 0)
    equity = wallet + size * (lp - entry) - s * (lp - entry * 1.01)
    assert abs(equity - mm) <= 1e-9 * max(wallet, size * lp, 1.0)


def test_cross_others_by_contract_and_with_nan() -> None:
    """Hedge legs of one contract do not count each other; a NaN spreads to the others, not to its own."""
    account = np.array([0, 0, 0, 1, 1, -1])
    group = np.array([0, 0, 1, 2, 3, 4])  # legs 0 and 1: LONG and SHORT of one symbol
    mm = np.array([1.0, 2.0, 4.0, np.nan, 8.0, 16.0])
    upnl = np.array([10.0, 20.0, np.inf, 5.0, 6.0, 7.0])
    om, ou = cross_others(account, mm, upnl, group)
    assert om.tolist()[:3] == [4.0, 4.0, 3.0] and ou.tolist()[:3] == [np.inf, np.inf, 30.0]
    assert math.isnan(om[4]) and om[3] == 8.0 and ou[3] == 6.0 and ou[4] == 5.0
    assert om[5] == 0.0 and ou[5] == 0.0  # isolated
