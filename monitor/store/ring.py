"""Fixed-capacity time series on numpy: memory is set at start and never grows.

A daemon that runs for months cannot keep appending to lists; a ring of (ts, value) pairs with
O(1) append keeps the last `capacity` points.

`window()` hands out read-only *views*, not copies: the store snapshots every ring on every tick
(600 symbols: copying the windows alone took 40 ms a tick), and most of the history does not change
between two ticks. A view must still never change under its holder (the refit thread fits on a
snapshot for seconds while the collectors keep writing), so the points live in one linear buffer
with some slack after them: an append writes past the end of every view handed out, and a write
that would land inside a view still alive (replacing the newest point, or moving the window back to
the start of the buffer) first moves the points to a new buffer — copy on write, decided by whether
anything besides the ring still references the buffer (every numpy view keeps its base array
alive). After a tick the snapshot is gone, so the next writes go in place again.
"""

from __future__ import annotations

import sys

import numpy as np
import numpy.typing as npt

__all__ = ["RingBuffer"]


def _slack(capacity: int) -> int:
    """Free slots after the window: an append moves the points back only once per this many appends."""
    return max(8, capacity // 8)


class RingBuffer:
    __slots__ = ("_end", "_ro_ts", "_ro_values", "_start", "_ts", "_values", "_view", "capacity", "version")

    copies_on_write = 0  # buffers moved because a view was still alive (all rings; a bench reads it)

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        size = capacity + _slack(capacity)
        self._adopt(np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.float64))
        self._start = 0  # the window is [_start, _end) of the buffer, oldest first
        self._end = 0
        self._view: tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]] | None = None  # the last window()
        self.version = 0  # moves on every write: equal versions, equal windows

    def __len__(self) -> int:
        return self._end - self._start

    def _adopt(self, ts: npt.NDArray[np.int64], values: npt.NDArray[np.float64]) -> None:
        """Write into these buffers; windows are sliced from read-only aliases of them.

        A slice of a read-only array is read-only already: setting `flags.writeable` on every
        window cost more than the slicing itself (~1,500 windows a tick at 600 symbols).
        """
        self._ts, self._values = ts, values
        self._ro_ts, self._ro_values = ts.view(), values.view()
        self._ro_ts.flags.writeable = False
        self._ro_values.flags.writeable = False

    def _shared(self, keep_view: bool = False) -> bool:
        """True while a view handed out (or one derived from it) is alive somewhere.

        A buffer is referenced by the ring's attribute, by its read-only alias and by getrefcount's
        argument; any more references are windows (numpy points every view, and every view of a
        view, at the array that owns the memory). The ring's own cached window does not count:
        with `keep_view` it is kept when nobody else holds it (its bounds must not move), so a
        write that only replaces the newest point hands out the same window again, not a new one.
        """
        view, self._view = self._view, None
        own = 0
        if keep_view and view is not None and sys.getrefcount(view) == 2:  # this frame's name, the argument
            own = int(
                sys.getrefcount(view[0]) == 2 and sys.getrefcount(view[1]) == 2
            )  # the tuple's, the argument
        shared = sys.getrefcount(self._ts) > 3 + own or sys.getrefcount(self._values) > 3 + own
        if own and not shared:
            self._view = view
        return shared

    def _move(self, keep: int, shared: bool) -> None:
        """The newest `keep` points to the start of the buffer; a new buffer when views are alive."""
        lo = self._end - keep
        if shared:
            ts, values = np.empty_like(self._ts), np.empty_like(self._values)
            ts[:keep] = self._ts[lo : self._end]
            values[:keep] = self._values[lo : self._end]
            self._adopt(ts, values)
            RingBuffer.copies_on_write += 1
        else:
            self._ts[:keep] = self._ts[lo : self._end]  # numpy copies overlapping ranges correctly
            self._values[:keep] = self._values[lo : self._end]
        self._start, self._end = 0, keep

    def append(self, ts_ns: int, value: float) -> None:
        self.version += 1
        if self._end == self._ts.size:  # out of slack: the newest capacity − 1 points go to the front
            self._move(min(len(self), self.capacity - 1), self._shared())
        else:
            self._view = None
        self._ts[self._end] = ts_ns
        self._values[self._end] = value
        self._end += 1
        if self._end - self._start > self.capacity:
            self._start += 1

    def replace_last(self, ts_ns: int, value: float) -> None:
        """Overwrite the newest point (a grid bucket that is still filling)."""
        if self._end == self._start:
            self.append(ts_ns, value)
            return
        self.version += 1
        if self._shared(keep_view=True):  # the newest point is inside a live view: leave that view as it is
            self._move(len(self), shared=True)
        self._ts[self._end - 1] = ts_ns
        self._values[self._end - 1] = value

    def last(self) -> tuple[int, float] | None:
        if self._end == self._start:
            return None
        return int(self._ts[self._end - 1]), float(self._values[self._end - 1])

    def window(self, n: int | None = None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The newest `n` points (all by default), oldest first, as read-only views that never change.

        Cheap: no copy, and the same two arrays again while the ring has not been written, or only
        its newest point replaced while no one else held them (equal arrays never mean equal points).
        """
        if n is None:
            if self._view is None:
                self._view = (self._ro_ts[self._start : self._end], self._ro_values[self._start : self._end])
            return self._view
        k = max(0, min(n, len(self)))
        return self._ro_ts[self._end - k : self._end], self._ro_values[self._end - k : self._end]

    @property
    def nbytes(self) -> int:
        return int(self._ts.nbytes + self._values.nbytes)
