"""The store's book arrays (monitor/store/books.py) say what the records say, after any sequence of puts."""

from __future__ import annotations

import math

import numpy as np

from monitor.records import BookLevels
from monitor.store.books import BookLog, BookTable
from monitor.store.state import StateStore


def levels(sym: str, nb: int, na: int, mid: float, ragged: bool = False) -> BookLevels:
    return BookLevels(
        venue="binance",
        symbol=sym,
        market="perp",
        ts_event_ns=int(mid * 1e9),
        ts_recv_ns=int(mid * 1e9) + 7,
        update_id=int(mid),
        bid_px=tuple(mid - k - 1 for k in range(nb)),
        bid_qty=tuple(float(k + 1) for k in range(nb + (1 if ragged else 0))),
        ask_px=tuple(mid + k + 1 for k in range(na)),
        ask_qty=tuple(float(k + 2) for k in range(na)),
    )


def rows_match(table: BookTable, last: dict[tuple[str, str, str], BookLevels] | None = None) -> None:
    """The table gives back the last record put per market (`last`); only odd books have no row."""
    if last is not None:
        assert dict(table.items()) == last and len(table) == len(last)
        assert all(key in table for key in last) and ("x", "y", "z") not in table
    for key, rec in table.items():
        at = table.layout.at.get(key)
        nb, na = len(rec.bid_px), len(rec.ask_px)
        rowable = nb and na and len(rec.bid_qty) == nb and len(rec.ask_qty) == na
        assert (at is not None) == bool(rowable), key
        if at is not None:
            assert table.layout.shapes[at[0]] == (nb, na)
            want = np.array(rec.bid_px + rec.bid_qty + rec.ask_px + rec.ask_qty)
            assert np.array_equal(table.arrays[at[0]][at[1]], want, equal_nan=True)
    assert set(table.layout.at) <= set(table)


def test_rows_follow_puts_shape_changes_and_odd_books() -> None:
    log = BookLog()
    last: dict[tuple[str, str, str], BookLevels] = {}
    rng = np.random.default_rng(3)
    for step in range(400):
        sym = f"S{int(rng.integers(30))}"
        nb, na = int(rng.integers(0, 4)), int(rng.integers(0, 4))
        rec = levels(sym, nb, na, 100.0 + step, ragged=step % 17 == 5)
        log.put(rec)
        last[("binance", sym, "perp")] = rec
        if step % 50 == 49:
            log.forget(("binance", sym, "perp"))
            del last[("binance", sym, "perp")]
        if step % 7 == 0:
            rows_match(log.table(), last)
    rows_match(log.table(), last)


def test_a_flapping_depth_does_not_grow_the_arrays() -> None:
    log = BookLog()
    for step in range(2_000):
        log.put(levels("A", 2 + step % 2, 2, 100.0))
    assert all(b.shape[0] <= 64 for b in log._bufs)
    rows_match(log.table())


def test_a_snapshot_keeps_its_copy_and_the_layout_its_identity() -> None:
    st = StateStore()
    st.put(levels("A", 2, 2, 100.0))
    st.put(levels("B", 2, 2, 50.0))
    first = st.snapshot(1)
    books = first.books
    assert isinstance(books, BookTable) and books[("binance", "A", "perp")].bid_px == (99.0, 98.0)
    st.put(levels("A", 2, 2, 200.0))  # same shape: written in place in the store, not in the snapshot
    second = st.snapshot(2)
    assert second.books.layout is books.layout  # type: ignore[attr-defined]
    s, row = books.layout.at[("binance", "A", "perp")]
    assert books.arrays[s][row][0] == 99.0 and second.books.arrays[s][row][0] == 199.0  # type: ignore[attr-defined]
    assert not books.arrays[s].flags.writeable
    st.put(levels("A", 3, 2, 200.0))  # a new depth: a new layout
    third = st.snapshot(3)
    assert third.books.layout is not books.layout  # type: ignore[attr-defined]
    rows_match(third.books)  # type: ignore[arg-type]
    st.put(levels("A", 0, 2, 200.0))  # an empty side: read from the record, no row
    fourth = st.snapshot(4)
    assert ("binance", "A", "perp") not in fourth.books.layout.at  # type: ignore[attr-defined]
    assert fourth.books.get(("binance", "A", "perp")) is not None
    assert fourth.books.get(("x", "y", "z")) is None
    assert not math.isnan(fourth.books.arrays[0][0][0])  # type: ignore[attr-defined]
