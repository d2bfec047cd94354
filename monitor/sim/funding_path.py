"""The running funding estimate as a function of the replayed moment, not of how long the replay ran.

A venue's funding estimate at any instant is the premium index averaged over the part of the
funding interval elapsed so far (flat on Binance, minute weights growing through the interval on
Bybit), pushed through its formula. The simulator replays one real day: at every point of the
replayed path, the estimate here is the one the venue would have shown at that moment of that day,
on that day's clock (the interval holding the moment; the hours of it before the replay's first bar
at the calm level). A bounce plays the same moments backwards and shows the same estimates; a
restart shows them again.

Why not accumulate in replay time as the replay runs (the earlier design): the replay runs on past
its last bar (a bounce plays the crash backwards, then forwards again), so an 8-hour interval of
replay time can hold the crash twice and begin at its low; the estimate right after such a boundary
is a few replayed minutes of the crash's deepest discount: 2021-05-19 at 60× sat at the −0.3 % cap
(−328.5 % a year) from six minutes after start, where the real day's lowest settlement was
−0.0897 % (−98 %). Why not average over the wall-clock interval instead: at 60× a wall interval
holds fifty passes over the crash, so its average converges to the path's mean premium (−31 bps
on the default's path: −282 % a year, every interval), a market far more extreme than the real one.

Pure functions over the premium grid of `premium.py` (numpy in, numpy out); `market.py` and
`bybit/market.py` look the estimate up at the current path time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from monitor.sim.premium import IMPACT_CALM, IMPACT_CRASH

__all__ = ["RunningAverage", "impact_premium_series", "running_average"]

Array = npt.NDArray[np.float64]


def impact_premium_series(last: Array, index: Array, crash: npt.NDArray[np.bool_]) -> Array:
    """`premium.impact_premium` over a grid: the venue's premium index at every point."""
    h = np.where(crash, IMPACT_CRASH, IMPACT_CALM)
    bid, ask = last * (1 - h), last * (1 + h)
    out: Array = (np.maximum(0.0, bid - index) - np.maximum(0.0, index - ask)) / index
    return out


@dataclass(frozen=True, slots=True)
class RunningAverage:
    """Per grid point: the interval's start on the event clock, and the premium average since then."""

    event_s: Array  # the grid's times on the replayed day's clock (seconds)
    start: Array
    avg: Array
    interval_s: float
    settlements: tuple[tuple[float, float], ...]  # (boundary on the event clock, the interval's average)

    def at(self, x: float) -> tuple[float, float]:
        """(average, seconds until the interval ends) at fractional grid position `x`."""
        n = len(self.avg)
        i = min(max(int(x), 0), n - 1)
        j = min(i + 1, n - 1)
        f = min(max(x - i, 0.0), 1.0)
        event = float(self.event_s[i] + (self.event_s[j] - self.event_s[i]) * f)
        if self.start[j] == self.start[i]:
            avg = float(self.avg[i] + (self.avg[j] - self.avg[i]) * f)
            return avg, float(self.start[i]) + self.interval_s - event
        k = j if event >= self.start[j] else i  # a boundary between the points: no smearing over it
        return float(self.avg[k]), float(self.start[k]) + self.interval_s - event

    def crossed(self, e0: float, e1: float) -> list[tuple[float, float]]:
        """The settlements whose boundary lies in (e0, e1] on the event clock."""
        return [s for s in self.settlements if e0 < s[0] <= e1]


def running_average(
    event_s: Array, premium: Array, interval_s: float, lead_level: float, *, linear: bool
) -> RunningAverage:
    """The premium averaged from each point's interval start to the point.

    Point j's premium holds over (event_s[j-1], event_s[j]] (the first point's over nothing); the
    part of the first interval before the path begins holds `lead_level`. Flat weights count each
    second once; linear ones count a second τ into the interval τ times (Bybit's minute i weighs i).
    """
    e = np.asarray(event_s, dtype=np.float64)
    start = np.floor(e / interval_s) * interval_s
    prev = np.concatenate([e[:1], e[:-1]])
    a = np.maximum(prev, start) - start
    b = e - start
    w = (b * b - a * a) / 2 if linear else b - a
    new = np.concatenate([[True], start[1:] != start[:-1]])
    idx = np.arange(len(e))
    first = np.maximum.accumulate(np.where(new, idx, 0))
    cs = np.concatenate([[0.0], np.cumsum(premium * w)])
    cw = np.concatenate([[0.0], np.cumsum(w)])
    s = cs[idx + 1] - cs[first]
    wt = cw[idx + 1] - cw[first]
    lead = float(e[0] - start[0])
    lead_w = lead * lead / 2 if linear else lead
    in_first = start == start[0]
    s = s + np.where(in_first, lead_level * lead_w, 0.0)
    wt = wt + np.where(in_first, lead_w, 0.0)
    avg = np.where(wt > 0, s / np.where(wt > 0, wt, 1.0), premium)
    settled: list[tuple[float, float]] = []
    for k in np.flatnonzero(new[1:]).tolist():  # k: the last point of its interval
        # the next point's segment up to the boundary still belongs to this interval
        boundary = float(start[k + 1])
        lo, hi = float(e[k] - start[k]), boundary - float(start[k])
        part = (hi * hi - lo * lo) / 2 if linear else hi - lo
        settled.append((boundary, float((s[k] + premium[k + 1] * part) / (wt[k] + part))))
    return RunningAverage(e, start, np.asarray(avg, dtype=np.float64), interval_s, tuple(settled))
