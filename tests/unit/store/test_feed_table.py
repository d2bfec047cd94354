"""The store's streams as columns: the snapshot's mapping answers as the dict of FeedViews did."""

from __future__ import annotations

import numpy as np

from monitor.evaluation.feeds import feed_figures, fresh_column, stale_streams
from monitor.evaluation.sink import FigureSink
from monitor.records import FeedState, FeedStatus, MarkPrice, Quote
from monitor.store.feeds import FeedTable, FeedView
from monitor.store.state import StateStore

S = 1_000_000_000


def _mark(t: int, symbol: str, event: int | None = None) -> MarkPrice:
    return MarkPrice(venue="v", symbol=symbol, ts_event_ns=event or t, ts_recv_ns=t, mark=1.0, index=1.0)


def test_the_table_is_the_mapping_of_views_the_store_heard() -> None:
    st = StateStore()
    st.put(_mark(5 * S, "A"))
    st.put(_mark(6 * S, "A", event=2 * S))  # an older event does not move the newest event back
    st.put(_mark(7 * S, "B"))
    st.put(
        FeedStatus(
            venue="v", stream="mark:B", ts_event_ns=0, ts_recv_ns=0, state=FeedState.DOWN, reason="gone"
        )
    )
    st.put(Quote(venue="v", symbol="A", market="perp", ts_event_ns=8 * S, ts_recv_ns=8 * S, bid=1, bid_size=1,
                 ask=2, ask_size=1))  # fmt: skip
    feeds = st.snapshot(9 * S).feeds
    assert isinstance(feeds, FeedTable)
    assert list(feeds) == [("v", "mark:A"), ("v", "mark:B"), ("v", "book:perp:A")] and len(feeds) == 3
    assert feeds[("v", "mark:A")] == FeedView("v", "mark:A", FeedState.UP, "", 6 * S, 5 * S, 2)
    assert feeds[("v", "mark:B")] == FeedView("v", "mark:B", FeedState.DOWN, "gone", 7 * S, 7 * S, 1)
    assert ("v", "mark:C") not in feeds and feeds.get(("v", "mark:C")) is None
    assert dict(feeds) == {k: feeds[k] for k in feeds} and "mark:A" in repr(feeds)
    assert FeedTable.of(dict(feeds)).up.tolist() == feeds.up.tolist() == [True, False, True]


def test_a_table_never_changes_after_it_was_handed_out() -> None:
    st = StateStore()
    st.put(_mark(5 * S, "A"))
    before = st.snapshot(5 * S).feeds
    st.put(_mark(6 * S, "A"))
    st.put(_mark(6 * S, "B"))
    st.put(
        FeedStatus(venue="v", stream="mark:A", ts_event_ns=0, ts_recv_ns=0, state=FeedState.STALE, reason="x")
    )
    assert dict(before) == {("v", "mark:A"): FeedView("v", "mark:A", FeedState.UP, "", 5 * S, 5 * S, 1)}
    after = st.snapshot(6 * S).feeds
    assert after[("v", "mark:A")] == FeedView("v", "mark:A", FeedState.STALE, "x", 6 * S, 6 * S, 2)
    assert not before.recv_ns.flags.writeable


def test_forgetting_an_account_drops_its_stream_and_keeps_the_others_rows() -> None:
    st = StateStore()
    st.put(_mark(5 * S, "A"))
    st._heard("v", "account:a1", 6 * S, 6 * S)
    st.put(_mark(7 * S, "B"))
    st.forget("v", "a1")
    feeds = st.snapshot(8 * S).feeds
    assert list(feeds) == [("v", "mark:A"), ("v", "mark:B")]
    assert feeds[("v", "mark:B")].last_recv_ns == 7 * S and feeds[("v", "mark:A")].last_recv_ns == 5 * S


def test_the_feed_stage_lists_the_streams_that_are_not_fresh() -> None:
    st = StateStore()
    st.put(_mark(5 * S, "A"))
    st.put(_mark(1 * S, "B"))
    expected = {("v", "mark:A"): 10.0, ("v", "mark:B"): 3.0, ("v", "mark:C"): 10.0}
    fresh = feed_figures(st.snapshot(9 * S), expected, 0, FigureSink(9 * S))
    assert fresh == {("v", "mark:A"): True, ("v", "mark:B"): False, ("v", "mark:C"): False}
    assert stale_streams(fresh) == [("v", "mark:B"), ("v", "mark:C")]
    assert stale_streams({**fresh, ("v", "x"): False}) == [("v", "mark:B"), ("v", "mark:C"), ("v", "x")]
    assert np.array_equal(st.snapshot(9 * S).feeds.messages, [1, 1])
    asked = (("v", "mark:C"), ("v", "nope"), ("v", "mark:A"), ("v", "mark:B"))
    want = [False, False, True, False]
    assert fresh_column(fresh, asked).tolist() == want  # from the stage's columns
    assert fresh_column(dict(fresh), asked).tolist() == want  # from any dict
