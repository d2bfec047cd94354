"""Snapshots without copying history: read-only views that never change under their holder.

The refit thread fits on a snapshot for seconds while the collectors keep putting; whatever it
holds must stay exactly what it was when taken, whatever the store does afterwards.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from monitor.records import BarHistory, LeverageTiers, MarkPrice, Quote
from monitor.store.ring import RingBuffer
from monitor.store.state import StateStore

S = 1_000_000_000
T0 = 1_700_000_000 * S
STEP = 5 * S


def mark(t: int, px: float, symbol: str = "BTCUSDT") -> MarkPrice:
    return MarkPrice(venue="binance", symbol=symbol, ts_event_ns=t, ts_recv_ns=t, mark=px, index=px)


def spot(t: int, px: float) -> Quote:
    return Quote(
        venue="binance",
        symbol="BTCUSDT",
        market="spot",
        ts_event_ns=t,
        ts_recv_ns=t,
        bid=px - 1,
        bid_size=1.0,
        ask=px + 1,
        ask_size=1.0,
    )


def store_with_history(points: int = 64) -> StateStore:
    st = StateStore(grid_step_s=5.0, history_points=points)
    opens = tuple(T0 - (points - k) * STEP for k in range(points))
    for series in ("mark", "spot"):
        st.put(
            BarHistory(
                venue="binance",
                ts_event_ns=T0,
                ts_recv_ns=T0,
                symbol="BTCUSDT",
                series=series,  # type: ignore[arg-type]
                interval_s=5.0,
                opens_ns=opens,
                closes=tuple(100.0 + k for k in range(points)),
            )
        )
    st.put(mark(T0, 200.0))
    st.put(spot(T0, 200.0))
    return st


def frozen(
    grids: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]],
) -> dict[tuple[str, str], list[list[float]]]:
    return {k: [ts.tolist(), v.tolist()] for k, (ts, v) in grids.items()}


def test_a_snapshots_histories_stay_as_taken_after_later_puts() -> None:
    """Same-bucket replacements, new buckets, gaps, a wrap past capacity and slack, a backfill: the
    arrays of a snapshot taken before all of them still hold exactly their values, and are read-only."""
    st = store_with_history(64)
    snap = st.snapshot(T0)
    grids = {
        **{("mark", *k): g for k, g in snap.mark_grid.items()},
        **{("spot", *k): g for k, g in snap.spot_grid.items()},
    }
    before = frozen(grids)  # type: ignore[arg-type]
    finished = snap.mark_grid[("binance", "BTCUSDT")][1][
        :-1
    ]  # a view derived from the view, as models.finished
    finished_before = finished.tolist()
    t = T0
    st.put(mark(t + S, 201.0))  # same bucket: replaces the newest point
    st.put(spot(t + S, 201.0))
    for k in range(1, 200):  # new buckets, past capacity + slack: the ring moves its points
        t = T0 + k * STEP
        st.put(mark(t, 300.0 + k))
        st.put(spot(t, 300.0 + k))
    st.put(mark(t + 20 * STEP, 1.0))  # a gap carried forward
    opens = tuple(t + k * STEP for k in range(1, 10))
    st.put(
        BarHistory(
            venue="binance",
            ts_event_ns=t,
            ts_recv_ns=t,
            symbol="BTCUSDT",
            series="mark",
            interval_s=5.0,
            opens_ns=opens,
            closes=tuple(9.0 for _ in opens),
        )
    )
    assert frozen(grids) == before  # type: ignore[arg-type]
    assert finished.tolist() == finished_before
    for ts, v in grids.values():
        assert not ts.flags.writeable and not v.flags.writeable
        with pytest.raises(ValueError):
            v[0] = 0.0
    later = st.snapshot(t + 30 * STEP).mark_grid[("binance", "BTCUSDT")]
    assert later[1][-1] == 1.0 and later[1].size == 64  # the store itself moved on


def test_the_ring_moves_its_points_only_while_a_view_is_alive() -> None:
    """Writes go in place when nothing holds a window; a live window (or a view of it) makes the next
    write that would touch it copy the ring first, and the window keeps its values."""
    r = RingBuffer(8)
    for i in range(5):
        r.append(i, float(i))
    copies = RingBuffer.copies_on_write
    r.replace_last(4, 40.0)  # nobody holds a view: in place
    for i in range(5, 40):
        r.append(i, float(i))  # wraps past the slack several times, in place
    assert RingBuffer.copies_on_write == copies
    ts, v = r.window()
    tail = v[-3:]
    r.replace_last(39, 390.0)  # the newest point is inside a live window
    assert RingBuffer.copies_on_write == copies + 1
    assert v.tolist() == [float(i) for i in range(32, 40)] and tail.tolist() == [37.0, 38.0, 39.0]
    assert r.window()[1].tolist() == [float(i) for i in range(32, 39)] + [390.0]
    del ts, v, tail
    r.replace_last(39, 391.0)
    assert RingBuffer.copies_on_write == copies + 1  # the views are gone: in place again
    assert r.last() == (39, 391.0) and len(r) == 8


def test_replacing_the_newest_point_hands_out_the_same_window_only_when_nobody_held_it() -> None:
    """Snapshots taken and dropped tick after tick get the ring's cached window again while the
    bucket fills (no new arrays per ring per tick); one still held keeps its values."""
    r = RingBuffer(8)
    for i in range(5):
        r.append(i, float(i))
    w = r.window()
    ident = (id(w[0]), id(w[1]))
    del w
    r.replace_last(4, 40.0)  # nobody held the window: it is the ring's own again
    w = r.window()
    assert (id(w[0]), id(w[1])) == ident and w[1].tolist() == [0.0, 1.0, 2.0, 3.0, 40.0]
    held = w[1]
    del w
    r.replace_last(4, 41.0)  # a view of it is alive: that view keeps its points, a new window comes
    assert held.tolist() == [0.0, 1.0, 2.0, 3.0, 40.0]
    assert r.window()[1].tolist() == [0.0, 1.0, 2.0, 3.0, 41.0] and r.window()[1] is not held
    r.append(5, 5.0)  # the window's bounds move: a new window
    assert r.window()[1].tolist() == [0.0, 1.0, 2.0, 3.0, 41.0, 5.0]


def _bars(st: StateStore, now: int) -> tuple[int, int, int]:
    """(newest bucket, bars, revision) of BTC's mark grid, checked against the grid itself."""
    snap = st.snapshot(now)
    bars = snap.mark_grid_bars
    assert bars is not None and bars.grids is snap.mark_grid
    i = bars.index[("binance", "BTCUSDT")]
    ts = snap.mark_grid[("binance", "BTCUSDT")][0]
    assert (int(bars.newest_ns[i]), int(bars.length[i])) == (int(ts[-1]), ts.size)
    return int(bars.newest_ns[i]), int(bars.length[i]), int(bars.revision[i])


def test_a_grid_revision_changes_only_when_a_backfill_rewrites_bars() -> None:
    """The grid columns follow every bucket; the revision moves only when held bars may change."""
    st = store_with_history(64)
    first = _bars(st, T0)[2]
    st.put(mark(T0 + STEP, 201.0))  # a new bucket: appended, same revision
    st.put(mark(T0 + STEP + S, 202.0))
    assert _bars(st, T0 + STEP + S) == (T0 + STEP, 64, first)
    st.put(mark(T0 + 5 * STEP, 205.0))  # a gap, carried forward: still only appended
    assert _bars(st, T0 + 5 * STEP) == (T0 + 5 * STEP, 64, first)
    st.put(
        BarHistory(
            venue="binance", ts_event_ns=T0, ts_recv_ns=T0, symbol="BTCUSDT", series="mark", interval_s=5.0,
            opens_ns=(T0 + 2 * STEP,), closes=(150.0,),
        )
    )  # fmt: skip
    assert _bars(st, T0 + 5 * STEP)[2] != first  # a carried bucket rewritten


def test_unchanged_history_and_records_are_handed_out_again_not_copied() -> None:
    """A second snapshot with no put between shares the first one's arrays and mappings; a mark put
    renews the marks and that ring only, leaving the first snapshot's values as they were."""
    st = store_with_history(64)
    st.put(mark(T0, 50.0, symbol="ETHUSDT"))
    st.put(
        LeverageTiers(
            venue="binance", account="a", symbol="BTCUSDT", ts_event_ns=T0, ts_recv_ns=T0, brackets=()
        )
    )
    a = st.snapshot(T0)
    b = st.snapshot(T0 + S)
    btc, eth = ("binance", "BTCUSDT"), ("binance", "ETHUSDT")
    assert b.mark_grid[btc][1] is a.mark_grid[btc][1]  # the same view: nothing was copied
    assert b.marks is a.marks and b.tiers is a.tiers and b.feeds is a.feeds
    st.put(mark(T0 + 2 * S, 60.0, symbol="ETHUSDT"))
    c = st.snapshot(T0 + 2 * S)
    assert c.mark_grid[btc][1] is a.mark_grid[btc][1]  # BTC's ring was not written
    assert c.mark_grid[eth][1] is not a.mark_grid[eth][1]
    assert np.shares_memory(c.mark_grid[btc][1], a.mark_grid[btc][1])
    assert c.tiers is a.tiers and c.marks is not a.marks
    assert a.marks[eth].mark == 50.0 and c.marks[eth].mark == 60.0
    assert a.mark_grid[eth][1][-1] == 50.0 and c.mark_grid[eth][1][-1] == 60.0
    assert (
        a.feeds[("binance", "mark:ETHUSDT")].messages == 1
        and c.feeds[("binance", "mark:ETHUSDT")].messages == 2
    )


def test_a_thread_holding_a_snapshot_never_sees_it_change() -> None:
    """As monitor/refit.py: a worker thread reads a snapshot while the loop keeps putting marks."""
    st = store_with_history(256)
    snap = st.snapshot(T0)
    ts, v = snap.mark_grid[("binance", "BTCUSDT")]
    want_ts, want_v = ts.copy(), v.copy()
    stop = threading.Event()
    seen: list[bool] = []

    def reader() -> None:
        while not stop.is_set():
            seen.append(bool(np.array_equal(ts, want_ts) and np.array_equal(v, want_v)))

    th = threading.Thread(target=reader)
    th.start()
    try:
        for k in range(5_000):
            st.put(mark(T0 + k * S, 100.0 + k % 97))  # five per bucket: replacements and appends
            if k % 50 == 0:
                st.snapshot(T0 + k * S)  # the loop's own ticks, dropped at once
    finally:
        stop.set()
        th.join()
    assert seen and all(seen)
    assert np.array_equal(ts, want_ts) and np.array_equal(v, want_v)


def test_every_kind_of_record_put_after_a_snapshot_is_in_the_next_one() -> None:
    """A snapshot reuses the last one's fields only where nothing was put: each record kind, put
    between two snapshots, shows in the second and not in the first (and forget() shows too)."""
    from monitor.records import (
        AccountSnapshot,
        Balance,
        BookLevels,
        FeedState,
        FeedStatus,
        Fill,
        FundingInfo,
        Holding,
        MarginCall,
        Position,
        SettledFunding,
    )

    st = store_with_history(16)
    t = T0 + S
    leg = Position(symbol="BTCUSDT", side="BOTH", qty=1.0, entry_price=100.0, margin_mode="cross")
    usdt = (Balance(asset="USDT", wallet_balance=1.0),)
    acct = AccountSnapshot(
        venue="binance", account="a", ts_event_ns=t, ts_recv_ns=t, positions=(leg,), balances=usdt
    )
    puts = {
        "tiers": LeverageTiers(
            venue="binance", account="a", symbol="BTCUSDT", ts_event_ns=t, ts_recv_ns=t, brackets=()
        ),
        "funding": FundingInfo(
            venue="binance", symbol="BTCUSDT", ts_event_ns=t, ts_recv_ns=t, interval_s=3600.0
        ),
        "accounts": acct,
        "holdings": Holding(
            venue="config", ts_event_ns=t, ts_recv_ns=t, name="c", asset="BTC", quantity=1.0,
            price_venue="binance", price_symbol="BTCUSDT",
        ),
        "margin_calls": MarginCall(venue="binance", account="a", ts_event_ns=t, ts_recv_ns=t,
                                   cross_wallet=1.0, positions=()),
        "books": BookLevels(venue="binance", symbol="BTCUSDT", market="perp", ts_event_ns=t,
                            ts_recv_ns=t, bid_px=(1.0,), bid_qty=(1.0,), ask_px=(2.0,), ask_qty=(1.0,)),
        "quotes": Quote(venue="binance", symbol="ETHUSDT", market="perp", ts_event_ns=t, ts_recv_ns=t,
                        bid=1.0, bid_size=1.0, ask=2.0, ask_size=1.0),
        "funding_settled": SettledFunding(venue="binance", ts_event_ns=t, ts_recv_ns=t, symbol="BTCUSDT",
                                          times_ns=(T0,), rates=(1e-4,)),
    }  # fmt: skip
    for field_name, record in puts.items():
        before = st.snapshot(t)
        st.put(record)
        after = st.snapshot(t)
        assert len(getattr(after, field_name)) == len(getattr(before, field_name)) + 1, field_name
    before = st.snapshot(t)
    st.put(
        FeedStatus(venue="binance", stream="mark:BTCUSDT", ts_event_ns=t, ts_recv_ns=t, state=FeedState.DOWN)
    )
    after = st.snapshot(t)
    assert before.feeds[("binance", "mark:BTCUSDT")].state == FeedState.UP
    assert after.feeds[("binance", "mark:BTCUSDT")].state == FeedState.DOWN
    st.put(Fill(venue="binance", account="a", symbol="BTCUSDT", side="BOTH", kind="liquidation", qty=1.0,
                price=90.0, order_side="SELL", ts_event_ns=t, ts_recv_ns=t))  # fmt: skip
    before = st.snapshot(t + S)
    st.put(AccountSnapshot(venue="binance", account="a", ts_event_ns=t + S, ts_recv_ns=t + S, positions=(),
                           balances=usdt))  # fmt: skip
    after = st.snapshot(t + S)
    assert not before.gone and after.gone[("binance", "a", "BTCUSDT", "BOTH")].reason == "liquidated"
    st.forget("binance", "a")
    gone = st.snapshot(t + 2 * S)
    assert ("binance", "a") not in gone.accounts and ("binance", "a") not in gone.margin_calls
    assert ("binance", "a") in after.accounts  # the earlier snapshot keeps what it had
