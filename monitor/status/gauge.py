"""Where a leg stands on its distance-to-liquidation bar: the thresholds, the state, the length.

Why here and not in a renderer: the page's bar and the terminal's must say the same thing, and
the order of the positions depends on the state (a leg past liquidation tops the list). The
thresholds are the levels of the rules the daemon runs on `liquidation_distance_ratio`, the ones
that cover the leg (a rule's `match` may give one account its own levels), so the bar's marks
move when config does. Nothing unknown draws as a short or empty bar: NaN is a full grey bar
that says why, past liquidation a full red one.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import msgspec

from monitor.records import FigureKey, Severity
from monitor.rules.model import Rule
from monitor.status.model import CLEAR, NONE, NOT_LIQUIDATABLE, PAST, UNKNOWN, UNRATED, Gauge, Threshold

__all__ = ["DISTANCE_FIGURE", "bar_scale", "distance_rules", "gauge", "levels_for"]

DISTANCE_FIGURE = "liquidation_distance_ratio"
_NEAR_OPS = ("<", "<=")  # a distance rule fires as the leg comes near; a ">" rule marks nothing here
_RANK = {s.label: int(s) for s in Severity}


def distance_rules(rules: Sequence[Rule]) -> tuple[Rule, ...]:
    """The rules that mark the bars: on the distance, firing as a leg comes near."""
    return tuple(r for r in rules if r.figure == DISTANCE_FIGURE and r.op in _NEAR_OPS)


def levels_for(rules: Sequence[Rule], key: FigureKey) -> tuple[Threshold, ...]:
    """The levels of every "comes near" rule on the distance whose `match` covers the leg at `key`."""
    at = msgspec.structs.replace(key, name=DISTANCE_FIGURE)
    out = [
        Threshold(rule=r.name, severity=lv.severity.label, op=r.op, value=lv.threshold)
        for r in rules
        if r.figure == DISTANCE_FIGURE and r.op in _NEAR_OPS and r.matches(at)
        for lv in r.levels
    ]
    return tuple(sorted(out, key=lambda t: -t.value))  # the outermost mark first


def bar_scale(levels: Iterable[Threshold], distances: Iterable[float]) -> float:
    """The distance drawn at full length, one for the page so the bars compare across rows:
    twice the outermost threshold (the marks sit in the bar's first half, where a leg that
    matters is); without thresholds, the farthest finite distance shown."""
    top = max((t.value for t in levels if t.value > 0 and math.isfinite(t.value)), default=0.0)
    if top > 0:
        return 2.0 * top
    far = max((d for d in distances if 0 < d < math.inf), default=0.0)
    return far if far > 0 else 1.0


def _state(distance: float, note: str, margin_ratio: float, levels: Sequence[Threshold]) -> str:
    if distance <= 0 or margin_ratio >= 1:  # at 100 % the venue liquidates; NaN compares False
        return PAST
    if note == NOT_LIQUIDATABLE:
        return NONE
    if distance != distance:
        return UNKNOWN
    if not levels:
        return UNRATED
    inside = [t for t in levels if t.inside(distance)]
    return max(inside, key=lambda t: _RANK.get(t.severity, -1)).severity if inside else CLEAR


def gauge(
    distance: float, note: str, margin_ratio: float, levels: tuple[Threshold, ...], scale: float
) -> Gauge:
    """The bar of one leg at the page's `scale`."""
    state = _state(distance, note, margin_ratio, levels)
    if state in (PAST, UNKNOWN, NONE) or not math.isfinite(distance):
        fill = 1.0
    else:
        fill = min(1.0, max(0.0, distance / scale))
    return Gauge(state=state, fill=fill, scale=scale, levels=levels)
