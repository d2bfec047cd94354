"""Advice figures with worked numbers: top-up for a shock, cost to close, hedge and sizing."""

from __future__ import annotations

import math

import pytest

from monitor.evaluator import Evaluator
from monitor.records import Bracket, FundingInfo, MarkPrice, Quote
from monitor.store.state import StateStore
from tests.unit.evaluation.world import T0, P, config, put_book, reason, value, with_evaluation

FLAT = (Bracket(floor=0, cap=1e9, mmr=0.01, cum=0, max_leverage=50),)  # MM = 1 % of notional


def _market(st: StateStore, mark: float = 100.0, rate: float = 0.0001) -> None:
    st.put(
        MarkPrice(
            venue="binance",
            symbol="BTCUSDT",
            ts_event_ns=T0,
            ts_recv_ns=T0,
            mark=mark,
            index=mark,
            funding_rate=rate,
            next_funding_ns=T0 + 3600 * 10**9,
        )
    )
    st.put(FundingInfo(venue="binance", symbol="BTCUSDT", ts_event_ns=T0, ts_recv_ns=T0, interval_s=28_800.0))
    st.put(
        Quote(
            venue="binance",
            symbol="BTCUSDT",
            market="spot",
            ts_event_ns=T0,
            ts_recv_ns=T0,
            bid=99.5,
            bid_size=1.0,
            ask=100.5,
            ask_size=1.0,
        )
    )


def _perp_book(st: StateStore, bid: float, bid_size: float, ask: float, ask_size: float) -> None:
    st.put(
        Quote(
            venue="binance",
            symbol="BTCUSDT",
            market="perp",
            ts_event_ns=T0,
            ts_recv_ns=T0,
            bid=bid,
            bid_size=bid_size,
            ask=ask,
            ask_size=ask_size,
        )
    )


def _eval(st: StateStore, shock: float = 0.2):  # type: ignore[no-untyped-def]
    return Evaluator(with_evaluation(config(), shock=shock), started_ns=T0).evaluate(st.snapshot(T0), T0)


def test_isolated_topup_worked_example() -> None:
    """Long 1 @ 100, isolated wallet 10, MM 1 %: at −20 % MM 0.8, loss 20 → top-up 0.8 + 20 − 10 = 10.8."""
    st = StateStore()
    _market(st)
    put_book(st, T0, qty=1.0, entry=100.0, mode="isolated", iso_wallet=10.0, tiers=FLAT)
    assert value(_eval(st), "position_topup_for_shock_usd", **P) == pytest.approx(10.8)
    assert value(_eval(st, shock=0.05), "position_topup_for_shock_usd", **P) == 0.0  # 0.95 + 5 < 10


def test_cross_topup_takes_the_worse_direction() -> None:
    """Short 1 @ 100 on a 10 wallet: +20 % needs 1.2 + 20 − 10 = 11.2; −20 % needs nothing."""
    st = StateStore()
    _market(st)
    put_book(st, T0, qty=-1.0, entry=100.0, wallet=10.0, tiers=FLAT)
    assert value(_eval(st), "topup_for_shock_usd", venue="binance", account="a") == pytest.approx(11.2)


def test_missing_tiers_flag_the_topup() -> None:
    st = StateStore()
    _market(st)
    put_book(st, T0, qty=-1.0, entry=100.0, wallet=10.0, tiers=None)
    figs = _eval(st)
    lab = {"venue": "binance", "account": "a"}
    assert math.isnan(value(figs, "topup_for_shock_usd", **lab))
    assert reason(figs, "topup_for_shock_usd", **lab) == "missing_tier: BTCUSDT"  # names the leg


def test_cost_to_close_against_top_of_book() -> None:
    """Long 2 into a bid of 99 × 5 (mid 100): 100 bps, cost 2; long 10 is beyond the top level."""
    st = StateStore()
    _market(st)
    _perp_book(st, 99.0, 5.0, 101.0, 5.0)
    put_book(st, T0, qty=2.0, entry=100.0, tiers=FLAT)
    figs = _eval(st)
    assert value(figs, "close_slippage_bps", **P) == pytest.approx(100.0)
    assert value(figs, "close_cost_usd", **P) == pytest.approx(2.0)
    assert value(figs, "close_visible_fill_ratio", **P) == 1.0
    put_book(st, T0, qty=10.0, entry=100.0, tiers=FLAT)
    figs = _eval(st)
    assert math.isnan(value(figs, "close_cost_usd", **P))
    assert reason(figs, "close_cost_usd", **P) == "insufficient_depth"
    assert value(figs, "close_visible_fill_ratio", **P) == pytest.approx(0.5)


def test_no_perp_book_is_flagged() -> None:
    st = StateStore()
    _market(st)
    put_book(st, T0, qty=2.0, entry=100.0, tiers=FLAT)
    assert reason(_eval(st), "close_cost_usd", **P) == "no_perp_book"


def _with_ewma_history(st: StateStore) -> None:
    """A zig-zag mark on the 60 s grid, so EWMA volatility exists (GARCH is not fitted here)."""
    for k in range(40):
        t = T0 - (40 - k) * 60 * 10**9
        m = 100.0 * (1.01 if k % 2 else 0.99)
        st.put(
            MarkPrice(
                venue="binance",
                symbol="BTCUSDT",
                ts_event_ns=t,
                ts_recv_ns=t,
                mark=m,
                index=m,
                funding_rate=0.0001,
                next_funding_ns=T0 + 3600 * 10**9,
            )
        )


def test_vol_targeted_hedge_and_sizing_with_ewma_fallback() -> None:
    """Recommended HR = 1 − min(1, 20 % / σ); sizing: capital·target/σ capped at half-Kelly of the carry."""
    st = StateStore(grid_step_s=60.0)
    _with_ewma_history(st)
    _market(st, rate=0.0003)
    put_book(st, T0, qty=-8.0, entry=100.0, wallet=5_000.0, tiers=FLAT, holdings=10.0)
    figs = _eval(st)
    sigma = value(figs, "volatility_annualized_ratio", venue="binance", symbol="BTCUSDT")
    assert sigma > 0.2
    rec = 1 - 0.2 / sigma
    assert value(figs, "recommended_hedge_ratio", asset="BTC") == pytest.approx(rec)
    assert reason(figs, "recommended_hedge_ratio", asset="BTC") == "ewma_fallback"
    assert value(figs, "hedge_deviation_ratio", asset="BTC") == pytest.approx(abs(0.8 - rec))
    capital = 5_000.0 + (-8.0) * (100.0 - 100.0)
    tv = capital * 0.2 / sigma
    mu = 0.0003 * 3 * 365  # a short receives positive funding
    kelly = 0.5 * mu / sigma**2 * capital
    assert value(figs, "sizing_target_vol_notional_usd", **P) == pytest.approx(tv)
    assert value(figs, "sizing_half_kelly_notional_usd", **P) == pytest.approx(kelly)
    assert value(figs, "sizing_recommended_notional_usd", **P) == pytest.approx(min(tv, kelly))


def test_long_paying_funding_gets_no_kelly_size() -> None:
    """Positive funding is a cost to a long: no edge, half-Kelly notional 0."""
    st = StateStore(grid_step_s=60.0)
    _with_ewma_history(st)
    _market(st, rate=0.0003)
    put_book(st, T0, qty=1.0, entry=100.0, tiers=FLAT, holdings=0.0)
    figs = _eval(st)
    assert value(figs, "sizing_half_kelly_notional_usd", **P) == 0.0
    assert value(figs, "sizing_recommended_notional_usd", **P) == 0.0
    assert reason(figs, "hedge_deviation_ratio", asset="BTC") == "no_holdings"


def test_no_volatility_flags_hedge_and_sizing() -> None:
    st = StateStore()
    _market(st)
    put_book(st, T0, qty=-1.0, entry=100.0, tiers=FLAT)
    figs = _eval(st)
    assert math.isnan(value(figs, "recommended_hedge_ratio", asset="BTC"))
    assert reason(figs, "recommended_hedge_ratio", asset="BTC") == "not_fitted_yet"
    assert math.isnan(value(figs, "sizing_target_vol_notional_usd", **P))
    assert reason(figs, "sizing_target_vol_notional_usd", **P) == "not_fitted_yet"
