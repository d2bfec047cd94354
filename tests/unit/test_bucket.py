"""The one pacing arithmetic (monitor/bucket.py): bursts, the steady rate, refusals and give-backs."""

from __future__ import annotations

from monitor.bucket import Gcra

S = 10**9


def test_a_full_burst_then_one_per_interval() -> None:
    b = Gcra(rate_per_s=2.0, burst=3)
    assert [b.try_take(0) for _ in range(3)] == [0, 0, 0]
    assert b.try_take(0) == S // 2  # the fourth waits one interval after the first
    assert b.try_take(S // 2 - 1) == 1
    assert b.try_take(S // 2) == 0
    assert b.try_take(S // 2) == S // 2


def test_no_more_than_burst_plus_rate_over_any_window() -> None:
    """Over 10 s of asking every millisecond, 4/s with burst 5 passes 5 + 40 (the limit, not fewer)."""
    b = Gcra(rate_per_s=4.0, burst=5)
    passed = sum(b.try_take(t * 10**6) == 0 for t in range(10_000))
    assert passed == 5 + 40 - 1  # the slot due at exactly 10 s falls outside [0, 10 s)


def test_idle_time_refills_only_up_to_the_burst() -> None:
    b = Gcra(rate_per_s=1.0, burst=2)
    assert b.try_take(0) == 0 and b.try_take(0) == 0
    later = 3600 * S
    assert [b.try_take(later) for _ in range(3)] == [0, 0, S]


def test_reservations_queue_one_interval_apart_and_the_last_can_be_given_back() -> None:
    b = Gcra(rate_per_s=10.0)
    waits = [b.reserve(0) for _ in range(3)]
    assert [w for w, _, _ in waits] == [0, S // 10, 2 * S // 10]
    b.give_back(*waits[1][1:])  # not the last: stays spent
    assert b.reserve(0)[0] == 3 * S // 10
    last = b.reserve(0)
    b.give_back(*last[1:])
    assert b.reserve(0)[0] == last[0]


def test_a_fractional_burst_is_honoured() -> None:
    """20/min with the chat default burst of 5 (per_minute / 4), and 6/min with burst 1.5."""
    b = Gcra(rate_per_s=0.1, burst=1.5)
    assert b.try_take(0) == 0
    assert b.try_take(0) == 5 * S  # half an interval of slack
