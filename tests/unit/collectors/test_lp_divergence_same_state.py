"""perpmon's LP against the venue's only on the same state: its snapshot's legs, wallet and marks.

Uses the Binance FAQ account (two cross longs) of `tests/unit/test_evaluator.py`: BTC's LP is
26,316.89 with ETH at 1,335.18. A cross LP moves with the *other* legs' marks, so comparing the
venue's REST LP with one computed on live marks would alert on lag, not on a model error.
"""

from __future__ import annotations

import math

import pytest

from monitor.collectors.account_book import AccountBook, AccountUpdate, BalanceChange
from monitor.evaluator import Evaluator
from monitor.records import AccountSnapshot, Balance, FigureKey, MarkPrice, Position
from monitor.store.state import StateStore
from tests.unit.test_evaluator import CFG, T0, faq_store

POS = {"venue": "binance", "account": "faq", "side": "BOTH"}


def rest_snapshot(venue_lp_btc: float) -> AccountSnapshot:
    """The FAQ account as REST reports it: the venue's marks and LP on each row."""
    btc = Position(
        symbol="BTCUSDT",
        side="BOTH",
        qty=109.488,
        entry_price=32_481.98,
        margin_mode="cross",
        venue_mark_price=31_967.27,
        venue_liquidation_price=venue_lp_btc,
    )
    eth = Position(
        symbol="ETHUSDT",
        side="BOTH",
        qty=3_683.979,
        entry_price=1_456.84,
        margin_mode="cross",
        venue_mark_price=1_335.18,
    )
    bal = (Balance(asset="USDT", wallet_balance=1_535_443.01, cross_wallet_balance=1_535_443.01),)
    return AccountSnapshot(
        venue="binance", account="faq", ts_event_ns=T0, ts_recv_ns=T0, positions=(btc, eth), balances=bal
    )


def divergence(st: StateStore, eth_live_mark: float) -> float | None:
    st.put(
        MarkPrice(
            venue="binance", symbol="ETHUSDT", ts_event_ns=T0, ts_recv_ns=T0, mark=eth_live_mark, index=1.0
        )
    )
    figs = Evaluator(CFG, started_ns=T0).evaluate(st.snapshot(T0), T0)
    key = FigureKey(name="liquidation_price_divergence_ratio", symbol="BTCUSDT", **POS)
    return figs.items[key].value if key in figs.items else None


def test_live_marks_moving_do_not_make_a_divergence() -> None:
    """ETH's live mark 5 % away from the snapshot's: our live LP moves, the same-state comparison does not."""
    st = faq_store()
    st.put(rest_snapshot(26_316.89))
    assert divergence(st, 1_335.18 * 1.05) == pytest.approx(0.0, abs=1e-6)
    live_lp = (
        Evaluator(CFG, started_ns=T0)
        .evaluate(st.snapshot(T0), T0)
        .items[FigureKey(name="liquidation_price_usd", symbol="BTCUSDT", **POS)]
    )
    assert abs(live_lp.value / 26_316.89 - 1) > 0.002  # what a naive comparison would have alerted on


def test_a_real_model_or_data_error_is_still_seen() -> None:
    """The venue's LP 1 % off at the same state: a 1 % divergence."""
    st = faq_store()
    st.put(rest_snapshot(26_316.89 * 1.01))
    value = divergence(st, 1_335.18)
    assert value == pytest.approx(1 - 1 / 1.01, rel=1e-4)


def test_after_a_delta_the_venue_lp_describes_another_state_and_is_not_compared() -> None:
    """A funding fee changes the cross wallet: the venue's LP is dropped until the next snapshot."""
    book = AccountBook("binance", "faq")
    epoch = book.stream_connected()
    book.reset(rest_snapshot(26_316.89), requested_ms=T0 // 1_000_000, epoch=epoch)
    upd = AccountUpdate(
        T0 // 1_000_000 + 1, "FUNDING_FEE", (BalanceChange("USDT", 1_535_000.0, 1_535_000.0),), ()
    )
    snap = book.apply(upd, T0)
    assert snap is not None and math.isnan(snap.positions[0].venue_liquidation_price)
    st = faq_store()
    st.put(snap)
    assert divergence(st, 1_335.18) is None
