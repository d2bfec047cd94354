"""RingBuffer keeps the newest points in order, in fixed memory."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.store.ring import RingBuffer


def test_window_is_ordered_oldest_first_after_wrap() -> None:
    """After more appends than capacity, the window holds the newest points, oldest first."""
    r = RingBuffer(4)
    for i in range(7):
        r.append(i, float(i) * 10)
    ts, v = r.window()
    assert ts.tolist() == [3, 4, 5, 6]
    assert v.tolist() == [30.0, 40.0, 50.0, 60.0]
    assert len(r) == 4


def test_window_is_read_only_copy() -> None:
    """A window cannot be written through, and later appends do not change it."""
    r = RingBuffer(3)
    r.append(1, 1.0)
    _, v = r.window()
    with pytest.raises(ValueError):
        v[0] = 2.0
    r.append(2, 2.0)
    assert v.tolist() == [1.0]


def test_memory_does_not_grow() -> None:
    """Memory is fixed at construction."""
    r = RingBuffer(1000)
    before = r.nbytes
    for i in range(10_000):
        r.append(i, 1.0)
    assert r.nbytes == before == (1000 + 125) * 16  # the points, and a fixed slack of capacity // 8


def test_partial_window_and_replace_last() -> None:
    """window(n) gives the newest n; replace_last overwrites only the newest point."""
    r = RingBuffer(5)
    for i in range(3):
        r.append(i, float(i))
    r.replace_last(9, 9.0)
    ts, v = r.window(2)
    assert ts.tolist() == [1, 9]
    assert np.array_equal(v, [1.0, 9.0])
    assert r.last() == (9, 9.0)
