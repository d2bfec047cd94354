"""The frame signal says what moved, from the store's own hook; the gate spaces frame ticks."""

from __future__ import annotations

from monitor.clock import NS_PER_S, ManualClock
from monitor.frames import FrameGate, FrameSignal
from monitor.records import (
    AccountSnapshot,
    Balance,
    BookLevels,
    FundingInfo,
    Holding,
    MarkPrice,
    Position,
    Quote,
)
from monitor.store.state import StateStore

MS = 1_000_000


def _account(now: int) -> AccountSnapshot:
    pos = Position(
        symbol="BTCUSDT", side="BOTH", qty=2.0, entry_price=30_000.0, leverage=20.0, margin_mode="cross"
    )
    bal = Balance(asset="USDT", wallet_balance=6_000.0)
    return AccountSnapshot(
        venue="binance", account="degen", ts_event_ns=now, ts_recv_ns=now, positions=(pos,), balances=(bal,)
    )


def test_the_store_tells_the_signal_which_market_and_account_moved() -> None:
    clock = ManualClock()
    store, signal = StateStore(), FrameSignal(clock.monotonic_ns)
    store.on_put = signal.note
    now = clock.now_ns()
    clock.advance(0.25)
    store.put(
        MarkPrice(venue="binance", symbol="BTCUSDT", ts_event_ns=now, ts_recv_ns=now, mark=1.0, index=1.0)
    )
    clock.advance(0.001)
    store.put(_account(now))
    store.put(
        MarkPrice(venue="binance", symbol="BTCUSDT", ts_event_ns=now, ts_recv_ns=now, mark=2.0, index=2.0)
    )
    moved = signal.take()
    assert moved.markets == {("binance", "BTCUSDT")} and moved.accounts == {("binance", "degen")}
    assert moved.frames == 3 and moved.first_ns == round(0.25 * NS_PER_S)  # the first frame's arrival
    assert not signal.pending and signal.take().frames == 0 and signal.total == 3


def test_records_that_move_no_evaluated_input_at_once_do_not_signal() -> None:
    """Funding info and holdings change slowly, book tops and depth move only the book's figures: the
    grid's full tick picks them up; a frame tick redoes the account stage, which reads none of them."""
    clock = ManualClock()
    store, signal = StateStore(), FrameSignal(clock.monotonic_ns)
    store.on_put = signal.note
    now = clock.now_ns()
    store.put(
        FundingInfo(venue="binance", symbol="BTCUSDT", ts_event_ns=now, ts_recv_ns=now, interval_s=28_800.0)
    )
    store.put(Holding(venue="config", name="custody", asset="BTC", quantity=50.0, price_venue="binance",
                      price_symbol="BTCUSDT", ts_event_ns=now, ts_recv_ns=now))  # fmt: skip
    store.put(Quote(venue="binance", symbol="BTCUSDT", market="perp", ts_event_ns=now, ts_recv_ns=now,
                    bid=1.0, bid_size=1.0, ask=2.0, ask_size=1.0))  # fmt: skip
    store.put(BookLevels(venue="binance", symbol="BTCUSDT", market="perp", ts_event_ns=now, ts_recv_ns=now,
                         bid_px=(1.0,), bid_qty=(1.0,), ask_px=(2.0,), ask_qty=(1.0,)))  # fmt: skip
    assert not signal.pending and signal.total == 0


def test_a_frame_tick_waits_for_the_burst_and_for_the_share() -> None:
    gate = FrameGate()
    assert gate.ready_ns(first_ns=5 * MS, coalesce_ms=2.0, cpu_share=0.5) == 7 * MS  # no tick yet
    gate.ran(start_ns=10 * MS, end_ns=30 * MS)  # a 20 ms tick
    # half a core: no sooner than 40 ms after it started, however settled the burst
    assert gate.ready_ns(first_ns=31 * MS, coalesce_ms=2.0, cpu_share=0.5) == 50 * MS
    assert gate.ready_ns(first_ns=60 * MS, coalesce_ms=2.0, cpu_share=0.5) == 62 * MS
    assert gate.ready_ns(first_ns=31 * MS, coalesce_ms=0.0, cpu_share=1.0) == 31 * MS  # a whole core
