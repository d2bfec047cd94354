"""Fixed-capacity time series on numpy: memory is set at start and never grows.

A daemon that runs for months cannot keep appending to lists; a ring of (ts, value) pairs with
O(1) append keeps the last `capacity` points and hands out ordered, read-only copies.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["RingBuffer"]


class RingBuffer:
    __slots__ = ("_count", "_head", "_ts", "_values", "capacity")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._ts = np.zeros(capacity, dtype=np.int64)
        self._values = np.zeros(capacity, dtype=np.float64)
        self._head = 0  # next write position
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def append(self, ts_ns: int, value: float) -> None:
        self._ts[self._head] = ts_ns
        self._values[self._head] = value
        self._head = (self._head + 1) % self.capacity
        if self._count < self.capacity:
            self._count += 1

    def replace_last(self, ts_ns: int, value: float) -> None:
        """Overwrite the newest point (a grid bucket that is still filling)."""
        if self._count == 0:
            self.append(ts_ns, value)
            return
        i = (self._head - 1) % self.capacity
        self._ts[i] = ts_ns
        self._values[i] = value

    def last(self) -> tuple[int, float] | None:
        if self._count == 0:
            return None
        i = (self._head - 1) % self.capacity
        return int(self._ts[i]), float(self._values[i])

    def window(self, n: int | None = None) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
        """The newest `n` points (all by default), oldest first, as read-only copies."""
        k = self._count if n is None else max(0, min(n, self._count))
        start = (self._head - k) % self.capacity
        idx = (start + np.arange(k)) % self.capacity
        ts, values = self._ts[idx], self._values[idx]
        ts.flags.writeable = False
        values.flags.writeable = False
        return ts, values

    @property
    def nbytes(self) -> int:
        return int(self._ts.nbytes + self._values.nbytes)
