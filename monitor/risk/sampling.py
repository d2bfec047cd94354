"""The sampling step of a price series and the gaps in it, so returns are never chained across a gap.

Why: a VaR backtest labelled "days" on hourly data misstates every horizon, and a return taken
across a ten-hour exchange outage is one outsized "hourly" move that no model forecast. The step is
the median spacing of the timestamps (robust to the gaps themselves); a spacing above 1.5 steps is a
gap, and the series is split there into segments whose returns are each a whole number of one step.
"""

from __future__ import annotations

import itertools
import math

import msgspec
import numpy as np

from monitor.risk._num import FloatArray, as_float

__all__ = ["Sampling", "detect_sampling", "segment_returns", "step_name"]

_NAMED = ((60.0, "minute"), (3600.0, "hour"), (86400.0, "day"), (604800.0, "week"))
GAP_FACTOR = 1.5  # a spacing this many steps or more is a gap (a late bar still counts as one step)


class Sampling(msgspec.Struct, frozen=True, kw_only=True):
    """Step in seconds, its name, and the price index ranges [start, stop) of the gap-free segments."""

    step_s: float
    name: str
    segments: tuple[tuple[int, int], ...]
    gaps: int  # spacings of GAP_FACTOR steps or more
    missing_steps: int  # steps the gaps leave out, in all


def step_name(step_s: float) -> str:
    """'1 day', '1 hour', '5 minutes', '90 seconds': the unit a person expects for a sampling step."""
    if not (math.isfinite(step_s) and step_s > 0):
        return "unknown step"
    for unit_s, unit in reversed(_NAMED):
        n = step_s / unit_s
        if n >= 1 and abs(n - round(n)) < 1e-6:
            k = round(n)
            return f"{k} {unit}" + ("s" if k != 1 else "")
    return f"{step_s:g} seconds"


def detect_sampling(times_s: FloatArray) -> Sampling:
    """The step and segments of strictly increasing timestamps (seconds); one segment without times."""
    t = as_float(times_s).ravel()
    unknown = Sampling(
        step_s=math.nan, name=step_name(math.nan), segments=((0, t.size),), gaps=0, missing_steps=0
    )
    if t.size < 2:
        return unknown
    d = np.diff(t)
    step = float(np.median(d))
    if not (math.isfinite(step) and step > 0):
        return unknown
    cut = np.flatnonzero(d >= GAP_FACTOR * step) + 1  # a new segment starts after each gap
    bounds = [0, *cut.tolist(), int(t.size)]
    segments = tuple(itertools.pairwise(bounds))
    missing = int(np.sum(np.round(d[d >= GAP_FACTOR * step] / step) - 1))
    return Sampling(
        step_s=step, name=step_name(step), segments=segments, gaps=int(cut.size), missing_steps=missing
    )


def segment_returns(prices: FloatArray, sampling: Sampling) -> list[FloatArray]:
    """Log returns within each segment (a segment of one price has none): never across a gap."""
    p = as_float(prices).ravel()
    return [np.diff(np.log(p[a:b])) for a, b in sampling.segments]
