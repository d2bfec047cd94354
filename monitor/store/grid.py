"""One market's price on a fixed grid of buckets, in a ring of fixed memory: what volatility, VaR and
the refits read as returns on one step.

Apart from the store (`state.py`, which routes records and takes snapshots) because the grid's
rules — the last value per bucket, gaps filled forward, a backfill merged without overwriting
live buckets — are the part with arithmetic, tested on its own.
"""

from __future__ import annotations

from monitor.store.grid_bars import next_revision
from monitor.store.ring import RingBuffer

__all__ = ["GridSeries"]


class GridSeries:
    """Last value per fixed bucket, gaps filled forward so returns stay on one step.

    Bars are only appended (the bucket still filling is replaced until the next one starts), except
    by `backfill`, which takes a new `revision` (monitor/store/grid_bars.py).
    """

    def __init__(self, step_ns: int, capacity: int) -> None:
        self.step_ns = step_ns
        self.ring = RingBuffer(capacity)
        self.revision = next_revision()
        self._bucket = -1
        self._filled: set[int] = set()  # buckets carried forward over a gap (a backfill may replace them)

    def add(self, ts_ns: int, value: float) -> bool:
        """Put one value; True when a bucket started (the grid's bars moved)."""
        bucket = ts_ns // self.step_ns
        if bucket < self._bucket:
            return False  # late frame from an earlier bucket: the grid only moves forward
        if bucket == self._bucket:
            self.ring.replace_last(bucket * self.step_ns, value)
            return False
        last = self.ring.last()
        if last is not None:
            missing = min(bucket - self._bucket - 1, self.ring.capacity)
            for k in range(missing):
                self.ring.append((bucket - missing + k) * self.step_ns, last[1])
                self._filled.add(bucket - missing + k)
            if missing and len(self._filled) > self.ring.capacity:
                oldest = bucket - self.ring.capacity
                self._filled = {b for b in self._filled if b > oldest}
        self.ring.append(bucket * self.step_ns, value)
        self._bucket = bucket
        return True

    def bars(self) -> tuple[int, int, int]:
        """(newest bucket's time, bars held, revision): this grid's row of `GridBars`."""
        return self._bucket * self.step_ns, len(self.ring), self.revision

    def backfill(self, opens_ns: tuple[int, ...], closes: tuple[float, ...]) -> int:
        """Merge fetched closes; live buckets win, forward-filled ones give way. Returns buckets taken."""
        ts, values = self.ring.window()
        merged = {int(t) // self.step_ns: float(v) for t, v in zip(ts, values, strict=True)}
        taken = 0
        for t, v in zip(opens_ns, closes, strict=True):
            b = t // self.step_ns
            if b not in merged or b in self._filled:
                merged[b] = v
                self._filled.discard(b)
                taken += 1
        if not taken:
            return 0
        buckets = sorted(merged)[-self.ring.capacity :]
        first, newest = buckets[0], buckets[-1]
        ring = RingBuffer(self.ring.capacity)
        value = merged[first]
        for b in range(max(first, newest - self.ring.capacity + 1), newest + 1):
            if b in merged:
                value = merged[b]
            else:
                self._filled.add(b)
            ring.append(b * self.step_ns, value)
        self.ring, self._bucket = ring, newest
        self.revision = next_revision()
        return taken
