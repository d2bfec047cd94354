"""The evaluator turns a snapshot into the right figures (worked examples of risk-formulas.md)."""

from __future__ import annotations

import math

import pytest

from monitor.config import parse_config
from monitor.evaluator import Evaluator
from monitor.records import (
    AccountSnapshot,
    Balance,
    Bracket,
    FigureKey,
    FundingInfo,
    Holding,
    LeverageTiers,
    MarkPrice,
    Position,
    Quote,
)
from monitor.store.state import StateStore

S = 1_000_000_000
T0 = 1_700_000_000 * S

CFG, _ = parse_config(
    {
        "venues": [{"name": "binance", "symbols": ["BTCUSDT", "ETHUSDT"], "spot_symbols": ["BTCUSDT"]}],
        "accounts": [{"name": "faq", "venue": "binance", "api_key_env": "K", "api_secret_env": "S"}],
        "holdings": [
            {
                "name": "custody",
                "asset": "BTC",
                "quantity": 200.0,
                "price_venue": "binance",
                "price_symbol": "BTCUSDT",
            }
        ],
    },
    env={"K": "k", "S": "s"},
)

BTC_TIERS = (
    Bracket(floor=0, cap=50_000, mmr=0.004, cum=0, max_leverage=125),
    Bracket(floor=50_000, cap=250_000, mmr=0.005, cum=50, max_leverage=100),
    Bracket(floor=250_000, cap=1_000_000, mmr=0.01, cum=1_300, max_leverage=50),
    Bracket(floor=1_000_000, cap=10_000_000, mmr=0.025, cum=16_300, max_leverage=20),
)
ETH_FLOOR = 135_365 / 0.095
ETH_TIERS = (
    Bracket(floor=0, cap=ETH_FLOOR, mmr=0.005, cum=0, max_leverage=100),
    Bracket(floor=ETH_FLOOR, cap=50_000_000, mmr=0.10, cum=135_365, max_leverage=10),
)


def faq_store() -> StateStore:
    """The Binance FAQ account of risk-formulas.md §5: cross, one-way, two longs."""
    st = StateStore(grid_step_s=60)
    t = T0
    for sym, mark in (("BTCUSDT", 31_967.27), ("ETHUSDT", 1_335.18)):
        st.put(
            MarkPrice(
                venue="binance",
                symbol=sym,
                ts_event_ns=t,
                ts_recv_ns=t,
                mark=mark,
                index=mark,
                funding_rate=0.0001,
                next_funding_ns=t + 3600 * S,
            )
        )
        st.put(FundingInfo(venue="binance", symbol=sym, ts_event_ns=t, ts_recv_ns=t, interval_s=8 * 3600.0))
    st.put(
        Quote(
            venue="binance",
            symbol="BTCUSDT",
            market="spot",
            ts_event_ns=t,
            ts_recv_ns=t,
            bid=31_999.0,
            bid_size=1,
            ask=32_001.0,
            ask_size=1,
        )
    )
    for sym, tiers in (("BTCUSDT", BTC_TIERS), ("ETHUSDT", ETH_TIERS)):
        st.put(
            LeverageTiers(
                venue="binance", account="faq", symbol=sym, ts_event_ns=t, ts_recv_ns=t, brackets=tiers
            )
        )
    st.put(
        AccountSnapshot(
            venue="binance",
            account="faq",
            ts_event_ns=t,
            ts_recv_ns=t,
            positions=(
                Position(
                    symbol="BTCUSDT",
                    side="BOTH",
                    qty=109.488,
                    entry_price=32_481.98,
                    margin_mode="cross",
                    venue_liquidation_price=26_316.89,
                ),
                Position(
                    symbol="ETHUSDT", side="BOTH", qty=3_683.979, entry_price=1_456.84, margin_mode="cross"
                ),
            ),
            balances=(Balance(asset="USDT", wallet_balance=1_535_443.01, cross_wallet_balance=1_535_443.01),),
        )
    )
    st.put(
        Holding(
            venue="config",
            ts_event_ns=t,
            ts_recv_ns=t,
            name="custody",
            asset="BTC",
            quantity=200.0,
            price_venue="binance",
            price_symbol="BTCUSDT",
        )
    )
    return st


def fig(figs, name: str, **labels: str) -> float:  # type: ignore[no-untyped-def]
    return figs.items[FigureKey(name=name, **labels)].value  # type: ignore[no-any-return]


def test_faq_liquidation_prices_and_margin_ratio() -> None:
    """Cross LPs use the other contract's MM and UPnL: ETH 1,153.26, BTC 26,316.89; ratio 41.49 %."""
    figs = Evaluator(CFG, started_ns=T0).evaluate(faq_store().snapshot(T0 + S), T0 + S)
    pos = {"venue": "binance", "account": "faq", "side": "BOTH"}
    assert fig(figs, "liquidation_price_usd", symbol="ETHUSDT", **pos) == pytest.approx(1_153.26, abs=0.005)
    assert fig(figs, "liquidation_price_usd", symbol="BTCUSDT", **pos) == pytest.approx(26_316.89, abs=0.005)
    assert fig(figs, "position_maintenance_margin_usd", symbol="BTCUSDT", **pos) == pytest.approx(
        71_200.811444
    )
    assert fig(figs, "margin_ratio", venue="binance", account="faq") == pytest.approx(0.4149, abs=5e-5)
    lp_btc = fig(figs, "liquidation_price_usd", symbol="BTCUSDT", **pos)
    assert fig(figs, "liquidation_distance_ratio", symbol="BTCUSDT", **pos) == pytest.approx(
        abs(lp_btc / 31_967.27 - 1)
    )
    assert fig(figs, "liquidation_price_divergence_ratio", symbol="BTCUSDT", **pos) < 1e-6


def test_book_delta_hedge_ratio_and_basis() -> None:
    """Holdings plus perps give net delta and hedge ratio; basis is spot mid minus mark."""
    figs = Evaluator(CFG, started_ns=T0).evaluate(faq_store().snapshot(T0 + S), T0 + S)
    assert fig(figs, "net_delta", asset="BTC") == pytest.approx(200.0 + 109.488)
    assert fig(figs, "hedge_ratio", asset="BTC") == pytest.approx(-109.488 / 200.0)
    assert fig(figs, "basis_usd", venue="binance", symbol="BTCUSDT") == pytest.approx(32_000.0 - 31_967.27)
    assert fig(figs, "funding_rate_annualized_ratio", venue="binance", symbol="BTCUSDT") == pytest.approx(
        0.1095
    )


def test_silent_feeds_are_stale_and_figures_flagged() -> None:
    """After the staleness window with no messages, feeds are stale and figures not fresh."""
    later = T0 + 60 * S
    figs = Evaluator(CFG, started_ns=T0).evaluate(faq_store().snapshot(later), later)
    assert fig(figs, "feed_stale", venue="binance", stream="mark:BTCUSDT") == 1.0
    key = FigureKey(name="margin_ratio", venue="binance", account="faq")
    assert figs.items[key].fresh is False
    assert fig(figs, "feed_last_message_age_seconds", venue="binance", stream="account:faq") == 60.0


def test_vanished_position_becomes_a_figure() -> None:
    """A position gone from the account appears as position_disappeared = 1."""
    st = faq_store()
    st.put(
        AccountSnapshot(
            venue="binance",
            account="faq",
            ts_event_ns=T0 + S,
            ts_recv_ns=T0 + S,
            positions=(),
            balances=(Balance(asset="USDT", wallet_balance=1.0),),
        )
    )
    figs = Evaluator(CFG, started_ns=T0).evaluate(st.snapshot(T0 + 2 * S), T0 + 2 * S)
    assert (
        fig(figs, "position_disappeared", venue="binance", account="faq", symbol="ETHUSDT", side="BOTH")
        == 1.0
    )


def test_an_emptied_account_has_no_headroom_figure_and_no_margin_used() -> None:
    """After the last position closes (a liquidation took the wallet), headroom leaves; ratio is 0."""
    st = faq_store()
    before = Evaluator(CFG, started_ns=T0).evaluate(st.snapshot(T0 + S), T0 + S)
    headroom = FigureKey(name="margin_headroom_usd", venue="binance", account="faq")
    assert before.items[headroom].value == pytest.approx(
        fig(before, "margin_balance_usd", venue="binance", account="faq")
        - fig(before, "maintenance_margin_usd", venue="binance", account="faq")
    )
    st.put(
        AccountSnapshot(
            venue="binance",
            account="faq",
            ts_event_ns=T0 + S,
            ts_recv_ns=T0 + S,
            positions=(),
            balances=(Balance(asset="USDT", wallet_balance=0.0, cross_wallet_balance=0.0),),
        )
    )
    after = Evaluator(CFG, started_ns=T0).evaluate(st.snapshot(T0 + 2 * S), T0 + 2 * S)
    assert headroom not in after.items
    assert FigureKey(name="margin_headroom_ratio", venue="binance", account="faq") not in after.items
    assert fig(after, "margin_ratio", venue="binance", account="faq") == 0.0


def test_missing_tiers_give_flagged_nan_not_an_exception() -> None:
    """Without brackets, MM and LP are NaN with a reason; the tick still completes."""
    st = StateStore()
    st.put(
        MarkPrice(venue="binance", symbol="BTCUSDT", ts_event_ns=T0, ts_recv_ns=T0, mark=100.0, index=100.0)
    )
    st.put(
        AccountSnapshot(
            venue="binance",
            account="faq",
            ts_event_ns=T0,
            ts_recv_ns=T0,
            positions=(
                Position(symbol="BTCUSDT", side="BOTH", qty=1.0, entry_price=90.0, margin_mode="cross"),
            ),
            balances=(Balance(asset="USDT", wallet_balance=10.0),),
        )
    )
    figs = Evaluator(CFG, started_ns=T0).evaluate(st.snapshot(T0), T0)
    f = figs.items[
        FigureKey(name="liquidation_price_usd", venue="binance", account="faq", symbol="BTCUSDT", side="BOTH")
    ]
    assert math.isnan(f.value) and f.reason == "missing_tier"
