"""Per-stream liveness: only an advancing sequence is life; each stream goes stale on its own."""

from __future__ import annotations

import math

from monitor.collectors.liveness import Liveness, progress, same_value
from monitor.records import MarkPrice, Quote

S = 1_000_000_000


def test_repeats_and_late_frames_are_not_progress() -> None:
    """Equal or older sequence numbers are refused; a newer one is taken."""
    live = Liveness({"mark:X": 1.0}, 0)
    assert live.observe("mark:X", 10, 1) is True
    assert live.observe("mark:X", 10, 2) is False
    assert live.observe("mark:X", 9, 3) is False
    assert live.observe("mark:X", 11, 4) is True


def test_one_silent_stream_is_stale_while_the_other_flows() -> None:
    """Each stream has its own limit; a stale stream is reported once until it advances."""
    live = Liveness({"mark:X": 1.0, "book:spot:X": 5.0}, 0)
    live.observe("book:spot:X", 1, int(0.5 * S))
    assert live.overdue(int(0.9 * S)) == []
    assert live.overdue(int(1.1 * S)) == ["mark:X"]
    assert live.overdue(int(1.2 * S)) == []  # reported once
    assert live.stale == {"mark:X"}
    assert live.next_deadline_ns() == int(5.5 * S)
    live.observe("mark:X", 1, int(1.3 * S))
    assert live.stale == frozenset()


def test_repeated_frames_do_not_postpone_staleness() -> None:
    """A stream that keeps sending its last frame goes stale at its limit anyway."""
    live = Liveness({"mark:X": 1.0}, 0)
    live.observe("mark:X", 7, 0)
    for t in range(1, 20):
        live.observe("mark:X", 7, t * S // 10)
    assert live.overdue(int(1.05 * S)) == ["mark:X"]


def test_restart_gives_live_streams_a_full_window_and_lets_stale_ones_rebase() -> None:
    """After a reconnect, silence counts from the connect; a stale stream may restart its counter once."""
    live = Liveness({"a": 1.0, "b": 1.0}, 0)
    live.observe("a", 100, 0)
    live.observe("b", 100, int(0.9 * S))
    assert live.overdue(int(1.5 * S)) == ["a"]
    live.restart(int(1.6 * S))
    assert live.next_deadline_ns() == int(2.6 * S)
    assert live.observe("a", 100, int(1.7 * S)) is False  # the very frame it last saw: still a repeat
    assert live.observe("a", 5, int(1.8 * S)) is True  # a new connection's lower counter is accepted once
    assert live.observe("a", 5, int(1.9 * S)) is False


def test_all_stale_has_no_deadline() -> None:
    """With every stream stale there is nothing left to time."""
    live = Liveness({"a": 1.0}, 0)
    live.overdue(2 * S)
    assert math.isinf(live.next_deadline_ns())


def test_progress_keys_of_market_records() -> None:
    """Marks progress by event time; books by update id, or receive time when the venue sends none."""
    m = MarkPrice(venue="v", symbol="X", ts_event_ns=5, ts_recv_ns=9, mark=1.0, index=1.0)
    spot = Quote(
        venue="v",
        symbol="X",
        market="spot",
        ts_event_ns=9,
        ts_recv_ns=9,
        bid=1,
        bid_size=1,
        ask=2,
        ask_size=1,
    )
    assert progress(m) == ("mark:X", 5)
    assert progress(spot) == ("book:spot:X", 9)
    assert progress(Quote(**{**{f: getattr(spot, f) for f in spot.__struct_fields__}, "update_id": 42})) == (
        "book:spot:X",
        42,
    )


def test_a_confirmation_restarts_the_silence_but_not_the_sequence() -> None:
    """A quiet stream confirmed at 0.9 s is not overdue at 1.5 s; its next frame must still advance."""
    live = Liveness({"mark:X": 1.0}, now_ns=0)
    assert live.observe("mark:X", 100, 0)
    assert live.confirm("mark:X", int(0.9 * S))
    assert live.overdue(int(1.5 * S)) == []
    assert not live.observe("mark:X", 100, int(1.6 * S))  # the same frame again is still a repeat
    assert live.overdue(int(2.0 * S)) == ["mark:X"]
    assert not live.confirm("mark:X", int(2.1 * S))  # a stale stream is not revived so


def test_same_value_ignores_stamps_and_ids_only() -> None:
    def mark(t: int, px: float) -> MarkPrice:
        return MarkPrice(venue="v", symbol="X", ts_event_ns=t, ts_recv_ns=t, mark=px, index=9.0)

    assert same_value(mark(1, 10.0), mark(5, 10.0))  # funding_rate NaN on both sides is the same
    assert not same_value(mark(1, 10.0), mark(5, 10.1))
    top = Quote(
        venue="v",
        symbol="X",
        market="perp",
        ts_event_ns=1,
        ts_recv_ns=1,
        bid=1,
        bid_size=1,
        ask=2,
        ask_size=1,
    )
    assert not same_value(mark(1, 10.0), top)
