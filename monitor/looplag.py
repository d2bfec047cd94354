"""Event-loop lag: how much later than asked a short sleep on the daemon's loop wakes.

Why a figure of its own: every collector, the evaluation tick and the /metrics handler share one
asyncio loop, so whatever holds it (a desk-scale tick, a GC pause, a blocking call slipped into a
coroutine) delays every frame queued behind it: a mark that crosses a liquidation threshold is
only seen once the loop is free. Tick durations and CPU share hint at this; the lag measures it
directly, as Node's `eventLoopUtilization` and uvloop-based services do. The probe sleeps
`interval_s` and records how late it woke. A scrape reads the last probe and the largest lag of
the last `window_s`: a two-second stall between two 15 s scrapes must not vanish because the probe
just before the scrape was on time.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.clock import NS_PER_S

__all__ = ["LoopLag", "LoopLagMetrics", "probe_loop"]

PROBE_S = 0.25  # short enough to catch a stall of a few hundred ms, cheap (4 wake-ups a second)
WINDOW_S = 60.0  # the max covers a scrape interval several times over


class LoopLag:
    """The probe's recent samples: (monotonic ns of the wake-up, seconds late)."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self._window_ns = round(window_s * NS_PER_S)
        self._samples: deque[tuple[int, float]] = deque()
        self.last_s = math.nan  # NaN until the first probe: not measured is not "no lag"

    def record(self, at_ns: int, late_s: float) -> None:
        self.last_s = late_s
        self._samples.append((at_ns, late_s))
        while self._samples and self._samples[0][0] < at_ns - self._window_ns:
            self._samples.popleft()

    @property
    def max_s(self) -> float:
        """The largest lag within the window before the last sample; NaN before any."""
        return max((s for _, s in self._samples), default=math.nan)


async def probe_loop(lag: LoopLag, interval_s: float = PROBE_S) -> None:
    """Sleep `interval_s` forever, recording how late each wake-up was.

    On the loop's own clock, never the daemon's: the lag is the real loop's, and a daemon on a
    ManualClock (whose sleep moves time) must not see its time pushed on by a probe.
    """
    want_ns = round(interval_s * NS_PER_S)
    while True:
        t0 = time.monotonic_ns()
        await asyncio.sleep(interval_s)
        t1 = time.monotonic_ns()
        lag.record(t1, max(0, t1 - t0 - want_ns) / NS_PER_S)


class LoopLagMetrics(Collector):
    """`perpmon_event_loop_lag_seconds` (last probe) and `perpmon_event_loop_lag_max_seconds` (window)."""

    def __init__(self, lag: LoopLag) -> None:
        self._lag = lag

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "perpmon_event_loop_lag_seconds",
            f"How late the last {PROBE_S:g} s sleep on the daemon's event loop woke (NaN before the first).",
            value=self._lag.last_s,
        )
        yield GaugeMetricFamily(
            "perpmon_event_loop_lag_max_seconds",
            f"The largest event-loop lag of the last {WINDOW_S:g} s: a stall between two scrapes.",
            value=self._lag.max_s,
        )
