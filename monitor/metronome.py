"""The evaluation loop's schedule: ticks start on a fixed grid, not `interval_s` after the last ended.

Sleeping `interval_s` after each tick stretches the cadence by the tick's own duration (a 0.7 s
tick at desk scale turns a 1 s cadence into 1.7 s) and makes it drift with load, so how old a
figure can be at evaluation depends on how busy the machine is. A grid anchored on the monotonic
clock keeps the promise "evaluated at least every interval_s" whenever a tick fits in its slot.

A tick that overruns its slot does not cause a burst of catch-up ticks: the slots it overran are
skipped (and counted, so a scrape shows the loop could not keep up) and the next tick starts on
the next slot of the same grid. A config reload that changes the interval re-anchors the grid at
the reload, so the new cadence starts at once.
"""

from __future__ import annotations

from monitor.clock import NS_PER_S

__all__ = ["Metronome", "next_slot_ns"]


def next_slot_ns(anchor_ns: int, interval_ns: int, now_ns: int) -> tuple[int, int]:
    """(start of the first slot strictly after `now_ns`, slots skipped since the one after `anchor`).

    Slots are `anchor + k·interval` for k ≥ 1. The skipped count is the number of slots that began
    at or before `now_ns` beyond the one the caller just used (the slot at `anchor` itself).
    """
    if interval_ns <= 0:
        raise ValueError("interval must be positive")
    k = (now_ns - anchor_ns) // interval_ns + 1
    return anchor_ns + k * interval_ns, max(0, k - 1)


class Metronome:
    """Tells the evaluation loop how long to sleep until its next slot; counts the slots it skipped."""

    def __init__(self, interval_s: float, start_ns: int) -> None:
        self.skipped = 0
        self._interval_ns = round(interval_s * NS_PER_S)
        self._slot_ns = start_ns  # the slot the current tick belongs to

    def delay_s(self, interval_s: float, now_ns: int) -> float:
        """Seconds from `now_ns` (monotonic) to the next slot, after a tick of the current slot ended."""
        return (self.next_ns(interval_s, now_ns) - now_ns) / NS_PER_S

    def next_ns(self, interval_s: float, now_ns: int) -> int:
        """The next slot (monotonic ns), after a tick of the current slot ended at `now_ns`.

        Frame-driven ticks between slots (monitor/frames.py) do not move the grid: only the ticks
        of its slots call this.
        """
        interval_ns = round(interval_s * NS_PER_S)
        if interval_ns != self._interval_ns:  # a reload changed the cadence: re-anchor here
            self._interval_ns, self._slot_ns = interval_ns, now_ns
        nxt, skipped = next_slot_ns(self._slot_ns, self._interval_ns, now_ns)
        self.skipped += skipped
        self._slot_ns = nxt
        return nxt
