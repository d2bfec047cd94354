"""The simulated Bybit's margin model (MM on the mark since 2025-09-02): tiers, positionMM, liqPrice."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from monitor.clock import ManualClock
from monitor.config import SimAccountConfig, SimPositionConfig
from monitor.errors import ConfigError
from monitor.risk._num import FloatArray
from monitor.risk.bybit_liquidation import (
    bybit_cross_liquidation_price,
    bybit_isolated_liquidation_price,
    bybit_isolated_lp_closed,
)
from monitor.sim.bybit.accounts import BybitAccountEngine
from monitor.sim.bybit.margin import classic_isolated_liq_price, maint_margin, round_liq_price
from monitor.sim.bybit.market import BybitMarket
from monitor.sim.bybit.symbols import BYBIT_SYMBOLS, bybit_spec, tier_for_value
from monitor.sim.bybit.symbols import build_tiers as build
from monitor.sim.bybit.views import BybitLiquidation
from monitor.sim.market import Market
from monitor.sim.replay import PricePath

NOW = 1_700_000_000_000
MARKS = {"BTCUSDT": 10_000.0, "ETHUSDT": 2_000.0, "SOLUSDT": 100.0}


def _engine(*positions: SimPositionConfig, wallet: float = 1_000.0) -> BybitAccountEngine:
    cfg = SimAccountConfig(
        name="c", api_key_env="K", api_secret_env="S", wallet_usdt=wallet, positions=positions, venue="bybit"
    )
    return BybitAccountEngine([cfg], first_mark=MARKS.__getitem__, marks=MARKS, now_ms=NOW)


def _iso(
    qty: float, entry: float, lev: float, extra: float = 0.0, symbol: str = "BTCUSDT"
) -> SimPositionConfig:
    return SimPositionConfig(
        symbol=symbol, qty=qty, entry_price=entry, leverage=lev, margin_mode="isolated", isolated_wallet=extra
    )


def _risk_tiers(symbol: str) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The sim's risk limits as perpmon's tier arrays (floors = the previous riskLimitValue)."""
    tiers = bybit_spec(symbol).tiers  # type: ignore[union-attr]
    floors = np.array([0.0, *(t.limit for t in tiers[:-1])])
    return floors, np.array([t.mmr for t in tiers]), np.array([t.deduction for t in tiers])


def test_documented_example_long_1_btc_at_10000_50x_now_9849_3() -> None:
    """Long 1 BTC @ 10,000, 50x, MMR 0.5 %: (10,000 − 200)/0.995 = 9,849.246 → 9,849.3 (2024: 9,850)."""
    eng = _engine(_iso(1.0, 10_000.0, 50.0))
    v = eng.position("c", "BTCUSDT")
    assert v is not None
    assert (v.mmr, v.im, v.mm, v.mm_mp, v.balance) == (0.005, 200.0, 50.0, 50.0, 200.0)
    assert v.liq_price == round_liq_price(9_800.0 / 0.995, 1.0, "0.10") == 9_849.3
    assert classic_isolated_liq_price(True, 10_000.0, 50.0, 0.005, 0.0, 1.0) == 9_850.0
    assert v.bust_price == 9_800.0
    assert eng.margin_mode("c") == "ISOLATED_MARGIN"


def test_isolated_position_mm_moves_with_the_mark_and_its_im_does_not() -> None:
    """positionMM == positionMMByMp (mark), isolated positionIM stays on the entry value."""
    eng = _engine(_iso(1.0, 10_000.0, 50.0))
    eng.marks["BTCUSDT"] = 12_000.0
    v = eng.position("c", "BTCUSDT")
    assert v is not None
    assert (v.mm, v.mm_mp, v.im, v.im_mp, v.value) == (60.0, 60.0, 200.0, 240.0, 10_000.0)


@pytest.mark.parametrize(
    ("qty", "entry", "lev", "extra"),
    [
        (1.0, 10_000.0, 50.0, 0.0),
        (-1.0, 10_000.0, 50.0, 0.0),
        (0.37, 41_234.5, 20.0, 150.0),
        (-2.5, 38_000.0, 10.0, 800.0),
    ],
)
def test_isolated_liq_price_is_the_mark_valued_closed_form_to_the_tick(
    qty: float, entry: float, lev: float, extra: float
) -> None:
    """(EP ∓ IM/size ∓ extra/size)/(1 ∓ MMR), and perpmon's tiered solver lands on it too."""
    v = _engine(_iso(qty, entry, lev, extra)).position("c", "BTCUSDT")
    assert v is not None
    expected = float(bybit_isolated_lp_closed(qty, entry, lev, v.mmr, 0.0, extra))
    assert v.liq_price == round_liq_price(expected, qty, "0.10")
    assert abs(v.liq_price - expected) < 0.1
    ours = float(bybit_isolated_liquidation_price(qty, entry, v.balance, *_risk_tiers("BTCUSDT")))
    assert math.isclose(ours, expected, rel_tol=1e-12)
    # the 2024 entry-valued form is a different price: the gap the model change closes
    old = classic_isolated_liq_price(qty > 0, entry, lev, v.mmr, extra, abs(qty))
    assert abs(old - expected) > 0.1


@pytest.mark.parametrize("qty", [1.0, -1.0, 0.37, -2.5])
def test_liq_price_is_where_balance_plus_upnl_meets_position_mm(qty: float) -> None:
    v = _engine(_iso(qty, 40_000.0, 25.0, 100.0)).position("c", "BTCUSDT")
    assert v is not None
    at_lp = v.balance + qty * (v.liq_price - v.avg_price)
    mm_at_lp, _tier = maint_margin(abs(qty) * v.liq_price, bybit_spec("BTCUSDT").tiers)  # type: ignore[union-attr]
    assert abs(at_lp - mm_at_lp) <= abs(qty) * 0.1  # within one tick of the exact crossing
    # rounding went towards the mark: taken over at the reported price, it still holds at least its MM
    assert at_lp >= mm_at_lp - 1e-9


def test_rounding_is_towards_the_mark() -> None:
    assert round_liq_price(9_850.04, 1.0, "0.10") == 9_850.1
    assert round_liq_price(9_850.06, -1.0, "0.10") == 9_850.0
    assert round_liq_price(-5.0, 1.0, "0.10") == 0.0


def test_tier_deduction_keeps_mm_continuous_and_higher_tiers_apply() -> None:
    tiers = bybit_spec("BTCUSDT").tiers  # type: ignore[union-attr]
    for lo, hi in itertools.pairwise(tiers):
        at_cap = lo.limit * lo.mmr - lo.deduction
        next_formula = lo.limit * hi.mmr - hi.deduction
        assert math.isclose(at_cap, next_formula, rel_tol=1e-12)
    assert tier_for_value(tiers, 2_000_000.0).id == 1
    assert tier_for_value(tiers, 2_000_000.01).id == 2
    assert tier_for_value(tiers, 1e12).id == tiers[-1].id
    assert build([100.0, 200.0], [0.01, 0.02], [0.02, 0.04])[1].deduction == 1.0
    assert all(s.tiers[0].max_leverage >= 50 for s in BYBIT_SYMBOLS)


def test_position_mm_uses_the_tier_of_the_mark_value() -> None:
    """300 BTC @ 10,000 = 3M at entry (tier 2), 1.8M at a 6,000 mark: tier 1, MM = 9,000 (2024: 20,000)."""
    eng = _engine(_iso(300.0, 10_000.0, 20.0), wallet=0.0)
    eng.marks["BTCUSDT"] = 6_000.0
    v = eng.position("c", "BTCUSDT")
    assert v is not None
    assert (v.risk_id, v.mm, v.mm_mp, v.value) == (1, 9_000.0, 9_000.0, 3_000_000.0)


def test_isolated_liq_price_takes_the_tier_at_the_lp() -> None:
    """Long 205 @ 10,000 (2.05M at entry: tier 2), 25×: tier 2's root (10,000 − 400 − 10,000/205)/0.99
    = 9,647.70 is worth 1.978M, in tier 1, so inconsistent; tier 1's (10,000 − 400)/0.995 = 9,648.24 is
    the LP (value 1.978M, tier 1), and the margin test ties there."""
    v = _engine(_iso(205.0, 10_000.0, 25.0), wallet=0.0).position("c", "BTCUSDT")
    assert v is not None
    ours = float(bybit_isolated_liquidation_price(205.0, 10_000.0, v.balance, *_risk_tiers("BTCUSDT")))
    assert math.isclose(ours, 9_600.0 / 0.995, rel_tol=1e-12)
    assert v.liq_price == round_liq_price(ours, 205.0, "0.10") == 9_648.3
    mm_at_lp, _tier = maint_margin(205.0 * ours, bybit_spec("BTCUSDT").tiers)  # type: ignore[union-attr]
    assert math.isclose(v.balance + 205.0 * (ours - 10_000.0), mm_at_lp, rel_tol=1e-9)


def test_cross_liq_price_is_where_equity_meets_total_mm() -> None:
    eng = _engine(
        SimPositionConfig(symbol="BTCUSDT", qty=1.0, entry_price=10_000.0, leverage=20.0),
        SimPositionConfig(symbol="ETHUSDT", qty=-5.0, entry_price=2_100.0, leverage=20.0),
        wallet=2_000.0,
    )
    views = {v.symbol: v for v in eng.positions("c")}
    w = eng.wallet("c")
    assert w.margin_mode == "REGULAR_MARGIN"
    total_mm = sum(v.mm for v in views.values())
    assert w.maint_margin == total_mm
    btc = views["BTCUSDT"]
    # equity with BTC at its LP (ETH held) equals ΣMM with BTC's MM at the LP, to within a tick × size
    equity_at_lp = w.equity + btc.qty * (btc.liq_price - btc.mark)
    mm_at_lp = total_mm - btc.mm + btc.size * btc.liq_price * btc.mmr
    assert abs(equity_at_lp - mm_at_lp) <= 0.1
    exact = float(
        bybit_cross_liquidation_price(btc.qty, btc.mark, w.equity, total_mm, *_risk_tiers("BTCUSDT"))
    )
    assert btc.liq_price == round_liq_price(exact, btc.qty, "0.10")
    assert w.mm_rate == pytest.approx(total_mm / w.equity)


def test_isolated_position_is_taken_over_at_its_liq_price_not_a_tick_before() -> None:
    eng = _engine(_iso(1.0, 10_000.0, 50.0), wallet=500.0)
    assert eng.on_marks({"BTCUSDT": 9_849.31}, NOW + 1) == []
    done = eng.on_marks({"BTCUSDT": 9_849.3}, NOW + 2)
    assert [(d.symbol, d.price, d.liq_price, d.loss) for d in done] == [("BTCUSDT", 9_849.3, 9_849.3, 200.0)]
    assert eng.positions("c") == []
    w = eng.wallet("c")
    assert (w.wallet, w.equity, w.realised) == (500.0, 500.0, 0.0)  # the free wallet is untouched


def test_cross_account_liquidates_when_equity_meets_total_mm() -> None:
    eng = _engine(
        SimPositionConfig(symbol="BTCUSDT", qty=1.0, entry_price=10_000.0, leverage=20.0), wallet=600.0
    )
    lp = eng.position("c", "BTCUSDT").liq_price  # type: ignore[union-attr]
    # (600 − 10,000)/(0.005 − 1) = 9,447.236 → 9,447.3 (2024: mark − (600 − 50) = 9,450)
    assert lp == round_liq_price(9_400.0 / 0.995, 1.0, "0.10") == 9_447.3
    assert eng.on_marks({"BTCUSDT": lp + 0.1}, NOW + 1) == []
    done = eng.on_marks({"BTCUSDT": lp}, NOW + 2)
    assert len(done) == 1
    assert eng.wallet("c").wallet == pytest.approx(600.0 - (10_000.0 - lp))


def test_funding_is_paid_from_the_isolated_balance_and_moves_the_liq_price() -> None:
    eng = _engine(_iso(1.0, 10_000.0, 50.0))
    paid = eng.settle_funding("BTCUSDT", 0.001, 10_000.0, NOW + 1)
    assert paid == {"c": -10.0}
    v = eng.position("c", "BTCUSDT")
    assert v is not None
    assert (v.balance, v.realised, v.liq_price) == (
        190.0,
        -10.0,
        round_liq_price(9_810.0 / 0.995, 1.0, "0.10"),
    )
    assert v.liq_price == 9_859.3


def test_config_refusals() -> None:
    with pytest.raises(ConfigError, match="all cross or all isolated"):
        _engine(_iso(1.0, 10_000.0, 10.0), SimPositionConfig(symbol="ETHUSDT", qty=1.0, leverage=10.0))
    with pytest.raises(ConfigError, match="risk tier"):
        _engine(SimPositionConfig(symbol="BTCUSDT", qty=1.0, entry_price=10_000.0, leverage=125.0))
    with pytest.raises(ConfigError, match="does not list"):
        _engine(SimPositionConfig(symbol="DOGEUSDT", qty=1.0, leverage=5.0))


def test_set_position_pushes_position_and_wallet() -> None:
    eng = _engine(wallet=10_000.0)
    seen: list[tuple[str, str]] = []
    eng.subscribe(lambda name, topic, _rows: seen.append((name, topic)))
    eng.set_position("c", "SOLUSDT", 50.0, leverage=5.0, now_ms=NOW + 5)
    v = eng.position("c", "SOLUSDT")
    assert v is not None and (v.size, v.avg_price, v.im) == (50.0, 100.0, 1_000.0)
    assert seen == [("c", "position"), ("c", "wallet")]
    eng.set_position("c", "SOLUSDT", 0.0, now_ms=NOW + 6)
    assert eng.positions("c") == []


def test_market_driven_through_the_liq_price_takes_the_position_over_on_that_tick() -> None:
    """A straight fall (1 USD per replay second) through dave-style 9,849.3: the first Bybit mark at or
    below the reported liqPrice liquidates, every earlier one does not; the socket hears it."""
    clock = ManualClock()
    path = PricePath([0.0, 400.0], [10_100.0, 9_700.0])
    base = Market(replay="crash-2021-05-19", speed=1.0, loop=False, seed=3, clock=clock, path=path)
    bybit = BybitMarket(base, seed=3, speed=1.0, clock=clock)
    cfg = SimAccountConfig(
        name="d",
        api_key_env="K",
        api_secret_env="S",
        wallet_usdt=100.0,
        venue="bybit",
        positions=(_iso(1.0, 10_000.0, 50.0),),
    )
    eng = BybitAccountEngine([cfg], first_mark=bybit.first_mark, marks=bybit.marks(), now_ms=NOW)
    pushed: list[str] = []
    eng.subscribe(lambda _n, topic, _rows: pushed.append(topic))
    marks_seen: list[float] = []
    done: list[BybitLiquidation] = []
    while not done:
        clock.advance(1.0)
        for marks in bybit.advance(base.advance()):
            done += eng.on_marks(marks, NOW)
            if not done:
                marks_seen.append(marks["BTCUSDT"])
        assert base.replay_s < 400.0, "never liquidated"
    assert all(m > 9_849.3 for m in marks_seen)
    assert done[0].price <= 9_849.3 and done[0].liq_price == 9_849.3
    assert done[0].price > 9_849.3 - 1.0 * (1 + 20 / 1e4)  # within one replay second of the crossing
    assert pushed == ["execution", "position", "wallet"]
    assert done[0].exec_price == 9_800.0  # taken over at the bankruptcy price: the 200 balance is gone


def test_hedge_mode_legs_and_flat_rows() -> None:
    eng = _engine(
        SimPositionConfig(symbol="BTCUSDT", qty=0.5, entry_price=10_000.0, leverage=10.0, side="LONG"),
        SimPositionConfig(symbol="BTCUSDT", qty=-0.2, entry_price=10_200.0, leverage=10.0, side="SHORT"),
        wallet=5_000.0,
    )
    legs = {v.position_idx: v for v in eng.positions("c")}
    assert (legs[1].side, legs[1].size, legs[2].side, legs[2].size) == ("Buy", 0.5, "Sell", 0.2)
    flat = eng.flat("c", "ETHUSDT", "LONG")
    assert (flat.position_idx, flat.side, flat.size, flat.liq_price, flat.value) == (1, "", 0.0, 0.0, 0.0)


def test_cross_liquidation_triggers_at_the_published_liq_price_of_a_short() -> None:
    """Short 2 BTC @ 10,000 cross: the published (floored) liqPrice is the trigger, a hair before the
    exact crossing, never after it."""
    eng = _engine(
        SimPositionConfig(symbol="BTCUSDT", qty=-2.0, entry_price=10_000.0, leverage=20.0), wallet=777.0
    )
    lp = eng.position("c", "BTCUSDT").liq_price  # type: ignore[union-attr]
    exact = (777.0 + 2.0 * 10_000.0) / (2.0 * 0.005 + 2.0)  # 10,336.816 (2024: 10,338.5)
    assert lp == round_liq_price(exact, -2.0, "0.10") == 10_336.8
    assert eng.on_marks({"BTCUSDT": lp - 0.1}, NOW + 1) == []
    (done,) = eng.on_marks({"BTCUSDT": lp}, NOW + 2)
    assert (done.side, done.price, done.liq_price) == ("Sell", lp, lp)


def test_config_errors_name_the_account_by_its_place_in_simulator_accounts() -> None:
    binance = SimAccountConfig(name="b", api_key_env="K", api_secret_env="S", wallet_usdt=1.0)
    bad = SimAccountConfig(
        name="y",
        api_key_env="K",
        api_secret_env="S",
        wallet_usdt=1.0,
        venue="bybit",
        positions=(SimPositionConfig(symbol="BTCUSDT", qty=1.0, leverage=101.0),),
    )
    with pytest.raises(ConfigError, match=r"simulator\.accounts\[1\]\.positions\[0\]\.leverage"):
        BybitAccountEngine([binance, bad], first_mark=MARKS.__getitem__, marks=MARKS, now_ms=NOW)
    assert BybitAccountEngine([binance], first_mark=MARKS.__getitem__, marks=MARKS, now_ms=NOW).accounts == {}
