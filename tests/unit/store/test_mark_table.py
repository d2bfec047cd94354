"""The store's mark columns (monitor/store/marks.py) say what the records say, in the records' order."""

from __future__ import annotations

import math

import numpy as np

from monitor.records import MarkPrice
from monitor.store.marks import MarkTable, mark_column, mark_keys
from monitor.store.state import StateStore


def mark(venue: str, sym: str, px: float, t: int = 1) -> MarkPrice:
    return MarkPrice(
        venue=venue,
        symbol=sym,
        ts_event_ns=t,
        ts_recv_ns=t,
        mark=px,
        index=px * 0.999,
        funding_rate=px * 1e-6,
        next_funding_ns=int(px) * 1000 if px == px else 0,
    )


def test_columns_follow_the_records_in_their_order() -> None:
    st = StateStore()
    rng = np.random.default_rng(5)
    for step in range(300):
        st.put(
            mark(str(rng.choice(["a", "b"])), f"S{int(rng.integers(40))}", float(rng.uniform(1, 1e4)), step)
        )
        if step % 37 == 0:
            snap = st.snapshot(step)
            table = snap.marks
            assert isinstance(table, MarkTable)
            recs = list(table.values())
            assert list(table) == [(m.venue, m.symbol) for m in recs] == list(table.keys())
            assert table.mark.tolist() == [m.mark for m in recs]
            assert table.index_price.tolist() == [m.index for m in recs]
            assert table.funding_rate.tolist() == [m.funding_rate for m in recs]
            assert table.next_funding_ns.tolist() == [m.next_funding_ns for m in recs]
            assert mark_column(table, mark_keys(table)) is table.mark
            assert mark_column(dict(table), tuple(table)).tolist() == table.mark.tolist()
            assert not table.mark.flags.writeable


def test_marks_at_gathers_and_is_nan_where_unheard() -> None:
    st = StateStore()
    for i, px in enumerate((10.0, math.nan, 30.0)):
        st.put(mark("a", f"S{i}", px))
    t1 = st.snapshot(1).marks
    assert isinstance(t1, MarkTable)
    keys = (("a", "S2"), ("a", "S9"), ("a", "S1"), ("a", "S0"))
    got = t1.marks_at(keys)
    assert got[0] == 30.0 and math.isnan(got[1]) and math.isnan(got[2]) and got[3] == 10.0
    st.put(mark("a", "S9", 90.0))  # a market added: a new layout, the key list looked up again
    t2 = st.snapshot(2).marks
    assert isinstance(t2, MarkTable) and t2.index is not t1.index and mark_keys(t2) is not mark_keys(t1)
    assert t2.marks_at(keys)[1] == 90.0
    st.put(mark("a", "S0", 11.0))  # a moved mark: the same layout, new numbers
    t3 = st.snapshot(3).marks
    assert isinstance(t3, MarkTable) and t3.index is t2.index and mark_keys(t3) is mark_keys(t2)
    assert t3.marks_at(keys)[3] == 11.0 and t2.marks_at(keys)[3] == 10.0
