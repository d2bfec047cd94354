"""Fetched history in the store: fills the grid under live data and never makes a silent feed fresh."""

from __future__ import annotations

import math

import numpy as np

from monitor.records import BarHistory, FeedState, MarkPrice, SettledFunding
from monitor.store.state import StateStore

S = 1_000_000_000
STEP = 60 * S


def mark(t_ns: int, price: float, next_funding_ns: int = 0, rate: float = math.nan) -> MarkPrice:
    return MarkPrice(
        venue="binance",
        symbol="BTCUSDT",
        ts_event_ns=t_ns,
        ts_recv_ns=t_ns,
        mark=price,
        index=price,
        funding_rate=rate,
        next_funding_ns=next_funding_ns,
    )


def bars(opens: list[int], closes: list[float], series: str = "mark", interval_s: float = 60.0) -> BarHistory:
    return BarHistory(
        venue="binance",
        ts_event_ns=opens[-1] if opens else 0,
        ts_recv_ns=0,
        symbol="BTCUSDT",
        series=series,  # type: ignore[arg-type]
        interval_s=interval_s,
        opens_ns=tuple(opens),
        closes=tuple(closes),
    )


def grid(store: StateStore, kind: str = "mark") -> dict[int, float]:
    snap = store.snapshot(0)
    g = (snap.mark_grid if kind == "mark" else snap.spot_grid)[("binance", "BTCUSDT")]
    return {int(t) // STEP: float(v) for t, v in zip(*g, strict=True)}


def test_backfill_fills_before_live_and_live_buckets_win() -> None:
    store = StateStore(grid_step_s=60.0, history_points=64)
    store.put(mark(100 * STEP + 5 * S, 105.0))  # live, bucket 100
    store.put(bars([b * STEP for b in range(90, 101)], [float(b) for b in range(90, 101)]))
    g = grid(store)
    assert sorted(g) == list(range(90, 101))
    assert [g[b] for b in range(90, 100)] == [float(b) for b in range(90, 100)]
    assert g[100] == 105.0  # the live bucket keeps the live price, not the fetched close
    assert store.backfilled_bars == 10
    store.put(mark(101 * STEP + 1 * S, 106.0))  # live carries on after the history
    assert grid(store)[101] == 106.0


def test_gap_filled_forward_is_replaced_by_fetched_closes() -> None:
    store = StateStore(grid_step_s=60.0, history_points=64)
    store.put(mark(10 * STEP, 10.0))
    store.put(mark(15 * STEP, 15.0))  # buckets 11..14 carried forward at 10.0 (a reconnect gap)
    assert [grid(store)[b] for b in range(11, 15)] == [10.0] * 4
    store.put(bars([b * STEP for b in range(9, 16)], [b + 0.5 for b in range(9, 16)]))
    g = grid(store)
    assert [g[b] for b in range(11, 15)] == [11.5, 12.5, 13.5, 14.5]
    assert g[10] == 10.0 and g[15] == 15.0 and g[9] == 9.5


def test_backfill_never_marks_a_stream_fresh() -> None:
    store = StateStore(grid_step_s=60.0, history_points=64)
    store.put(mark(10 * STEP, 10.0))
    before = store.snapshot(0).feeds[("binance", "mark:BTCUSDT")]
    store.put(bars([b * STEP for b in range(10, 40)], [float(b) for b in range(10, 40)]))
    after = store.snapshot(0).feeds[("binance", "mark:BTCUSDT")]
    assert after == before  # same last receive time, event time, message count
    store.put(bars([b * STEP for b in range(0, 5)], [1.0] * 5, series="spot"))
    snap = store.snapshot(0)
    assert ("binance", "book:spot:BTCUSDT") not in snap.feeds  # a spot feed never heard stays unheard
    assert ("binance", "BTCUSDT") in snap.spot_grid
    assert snap.marks[("binance", "BTCUSDT")].mark == 10.0  # history is not the current mark
    assert before.state == FeedState.UP and before.messages == 1


def test_bars_off_the_grid_step_are_refused_and_counted() -> None:
    store = StateStore(grid_step_s=5.0, history_points=64)
    store.put(bars([0, STEP], [1.0, 2.0]))  # 1 m closes are not 5 s buckets
    store.put(bars([0, STEP], [1.0]))
    assert store.dropped_history == {"interval_not_grid_step": 2}
    assert ("binance", "BTCUSDT") not in store.snapshot(0).mark_grid


def test_backfill_respects_the_ring_capacity() -> None:
    store = StateStore(grid_step_s=60.0, history_points=16)
    store.put(bars([b * STEP for b in range(100)], [float(b) for b in range(100)]))
    g = grid(store)
    assert sorted(g) == list(range(84, 100))
    assert store.history_bytes == (16 + 8) * 16  # the ring's points, and its fixed slack (at least 8)


def test_venue_settlements_preferred_and_later_estimates_flagged() -> None:
    store = StateStore(grid_step_s=60.0, history_points=16)
    h8 = 8 * 3600 * S
    store.put(mark(h8 - S, 100.0, next_funding_ns=h8, rate=0.0003))
    store.put(mark(h8 + S, 100.0, next_funding_ns=2 * h8, rate=0.0001))  # estimate kept for h8
    snap = store.snapshot(0)
    assert snap.funding_settled_estimated[("binance", "BTCUSDT")] is True
    store.put(
        SettledFunding(
            venue="binance",
            ts_event_ns=h8,
            ts_recv_ns=0,
            symbol="BTCUSDT",
            times_ns=(0, h8),
            rates=(0.0002, 0.00025),
        )
    )
    snap = store.snapshot(0)
    ts, rates = snap.funding_settled[("binance", "BTCUSDT")]
    assert list(ts) == [0, h8] and list(rates) == [0.0002, 0.00025]  # the venue's rate, not 0.0003
    assert snap.funding_settled_estimated[("binance", "BTCUSDT")] is False
    store.put(mark(2 * h8 + S, 100.0, next_funding_ns=3 * h8, rate=0.0001))  # a settlement not fetched yet
    snap = store.snapshot(0)
    ts, rates = snap.funding_settled[("binance", "BTCUSDT")]
    assert list(ts) == [0, h8, 2 * h8] and rates[-1] == 0.0001
    assert snap.funding_settled_estimated[("binance", "BTCUSDT")] is True
    assert not np.asarray(ts).flags.writeable
