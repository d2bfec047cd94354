"""StateStore: latest values, grid sampling, and positions that disappear are remembered."""

from __future__ import annotations

from monitor.records import AccountSnapshot, Balance, FeedState, FeedStatus, MarkPrice, Position
from monitor.store.state import StateStore

S = 1_000_000_000


def mark(ts_s: float, price: float) -> MarkPrice:
    t = int(ts_s * S)
    return MarkPrice(venue="v", symbol="BTCUSDT", ts_event_ns=t, ts_recv_ns=t, mark=price, index=price)


def account(ts_s: float, *positions: Position) -> AccountSnapshot:
    t = int(ts_s * S)
    return AccountSnapshot(
        venue="v",
        account="a",
        ts_event_ns=t,
        ts_recv_ns=t,
        positions=positions,
        balances=(Balance(asset="USDT", wallet_balance=100.0),),
    )


LONG = Position(symbol="BTCUSDT", side="BOTH", qty=1.0, entry_price=100.0, margin_mode="cross")


def test_grid_keeps_last_value_per_bucket_and_fills_gaps() -> None:
    """Grid points carry the last value of each bucket; silent buckets repeat the previous value."""
    st = StateStore(grid_step_s=10, history_points=16)
    for t, p in [(1, 100.0), (5, 101.0), (12, 102.0), (45, 110.0)]:
        st.put(mark(t, p))
    ts, v = st.snapshot(50 * S).mark_grid[("v", "BTCUSDT")]
    assert (ts // S).tolist() == [0, 10, 20, 30, 40]
    assert v.tolist() == [101.0, 102.0, 102.0, 102.0, 110.0]


def test_late_frame_does_not_rewrite_the_grid() -> None:
    """A frame older than the current bucket leaves the grid alone (but is the latest mark)."""
    st = StateStore(grid_step_s=10, history_points=16)
    st.put(mark(25, 100.0))
    st.put(mark(3, 50.0))
    _, v = st.snapshot(30 * S).mark_grid[("v", "BTCUSDT")]
    assert v.tolist() == [100.0]


def test_vanished_position_is_reported_and_cleared_on_reopen() -> None:
    """A position missing from a complete snapshot becomes 'gone'; reopening clears it."""
    st = StateStore()
    st.put(account(1, LONG))
    st.put(account(2))
    gone = st.snapshot(3 * S).gone
    assert list(gone) == [("v", "a", "BTCUSDT", "BOTH")]
    assert gone[("v", "a", "BTCUSDT", "BOTH")].gone_at_ns == 2 * S
    st.put(account(4, LONG))
    assert not st.snapshot(5 * S).gone


def test_feed_view_tracks_messages_and_status() -> None:
    """Messages mark a stream up with its receive time; a status record changes only the state."""
    st = StateStore()
    st.put(mark(1, 100.0))
    st.put(
        FeedStatus(
            venue="v", ts_event_ns=2 * S, ts_recv_ns=2 * S, stream="mark:BTCUSDT", state=FeedState.STALE
        )
    )
    fv = st.snapshot(3 * S).feeds[("v", "mark:BTCUSDT")]
    assert (fv.state, fv.last_recv_ns, fv.messages) == (FeedState.STALE, 1 * S, 1)


def test_snapshot_is_immutable() -> None:
    """The evaluator cannot change the store through a snapshot."""
    st = StateStore()
    st.put(mark(1, 100.0))
    snap = st.snapshot(2 * S)
    try:
        snap.marks[("v", "X")] = mark(1, 1.0)  # type: ignore[index]
    except TypeError:
        pass
    else:
        raise AssertionError("snapshot mapping was writable")


def test_forget_drops_one_account_and_nothing_else() -> None:
    """A reload that stops watching an account removes its book, feed and gone legs; others stay."""
    st = StateStore()
    for acct in ("a", "b"):
        for t, legs in ((1, (LONG,)), (2, ())):  # the leg vanishes: a gone record
            snap = account(t, *legs)
            st.put(
                AccountSnapshot(**{**{f: getattr(snap, f) for f in snap.__struct_fields__}, "account": acct})
            )
        st.put(
            FeedStatus(venue="v", stream=f"account:{acct}", ts_event_ns=3, ts_recv_ns=3, state=FeedState.DOWN)
        )
    st.put(mark(3, 100.0))
    before = st.snapshot(4 * S)
    assert set(before.accounts) == {("v", "a"), ("v", "b")} and len(before.gone) == 2
    st.forget("v", "a")
    st.forget("v", "nobody")  # unknown: nothing to do, no error
    got = st.snapshot(4 * S)
    assert list(got.accounts) == [("v", "b")]
    assert [k[:2] for k in got.gone] == [("v", "b")]
    assert set(got.feeds) == {("v", "account:b"), ("v", "mark:BTCUSDT")}
    assert list(got.marks) == [("v", "BTCUSDT")]
