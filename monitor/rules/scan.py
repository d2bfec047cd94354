"""Which rows of a rule's figure column the engine must look at this tick, found over whole arrays.

Most figures are fine most of the time: a row that is not NaN, does not cross the rule's lowest
threshold and has no alert state can neither start, change nor end anything (the engine's own
reasoning, `monitor/rules/engine.py`). So per rule the column is compared with the lowest
threshold at once (numpy's comparisons are IEEE's, as Python's: NaN compares False, ±inf is a
value), and only the rows that cross it or are NaN go on to the per-row logic, with the rows that
hold state. The rows a rule's `match` covers depend only on the column's keys, so they are found
once per book shape.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from monitor.figure_columns import FigureColumn
from monitor.records import FigureKey
from monitor.rules.model import Rule

Inert = Callable[[FigureColumn], list[int]]

__all__ = ["Scan", "Scanner"]

_SMALL = 32  # rows up to which a column is scanned in Python: numpy's per-call cost is the most of it
_UFUNCS: dict[str, Callable[..., npt.NDArray[np.bool_]]] = {
    "<": np.less,
    "<=": np.less_equal,
    ">": np.greater,
    ">=": np.greater_equal,
}


class Scan:
    """One rule over one column: rows to visit (ascending) and, per visited row, whether it breaches."""

    __slots__ = ("crossed", "entered", "fresh", "rows", "values")

    def __init__(
        self, rows: list[int], values: list[float], fresh: list[bool], crossed: list[bool], entered: list[int]
    ) -> None:
        """`crossed`: the lowest threshold is; `entered`: `rule.entered(value)` (a config may give a
        higher level a threshold the lowest's does not cover, so the two are kept apart)."""
        self.rows, self.values, self.fresh = rows, values, fresh
        self.crossed, self.entered = crossed, entered


class Scanner:
    """Per rule, the match mask of the last column shape it saw; per column, this tick's inert rows."""

    def __init__(self) -> None:
        self._masks: dict[str, tuple[tuple[FigureKey, ...], npt.NDArray[np.bool_] | None]] = {}
        self._inert: dict[str, list[int]] = {}  # figure name → rows to leave out, this tick

    def _mask(self, rule: Rule, col: FigureColumn) -> npt.NDArray[np.bool_] | None:
        """Rows `rule.match` covers (None: every row, a rule without `match`)."""
        if not rule.match:
            return None
        keys = col.keys
        hit = self._masks.get(rule.name)
        if hit is not None and (hit[0] is keys or hit[0] == keys):
            return hit[1]
        mask = np.fromiter(map(rule.matches, keys), np.bool_, len(keys))
        self._masks[rule.name] = (keys, mask)
        return mask

    def tick(self) -> None:
        """A new tick: the rows `inert` gave for the last one no longer hold."""
        self._inert.clear()

    def scan(self, rule: Rule, col: FigureColumn, also: list[int], inert: Inert) -> Scan:
        """Rows of `col` that cross the lowest threshold or are NaN where `rule` matches, plus `also`
        (the rows holding state), less the rows `inert(col)` names (asked once per column a tick)."""
        skip = self._inert.get(col.name)
        if skip is None:
            skip = self._inert[col.name] = inert(col)
        if len(col) <= _SMALL:
            return self._scan_small(rule, col, also, skip)
        values = col.values
        compare = _UFUNCS[rule.op]
        crossed = compare(values, rule.levels[0].threshold)
        hot = crossed | np.isnan(values)
        mask = self._mask(rule, col)
        if mask is not None:
            hot &= mask
        if skip:
            hot[skip] = False
        if also:
            hot[also] = True
        rows = np.flatnonzero(hot)
        v = values[rows]
        entered = np.full(rows.size, -1, np.intp)
        for i, lv in enumerate(rule.levels):  # the most severe level crossed wins, as `Rule.entered`
            entered[compare(v, lv.threshold)] = i
        fresh = col.fresh[rows].tolist()
        return Scan(rows.tolist(), v.tolist(), fresh, crossed[rows].tolist(), entered.tolist())

    def rows(self, rule: Rule, col: FigureColumn, rows: list[int]) -> Scan:
        """`rows` (ascending) of `col` as `scan` would give them, with no scan of the rest."""
        if not rows:
            return Scan([], [], [], [], [])
        values = col.values[rows]
        compare = _UFUNCS[rule.op]
        entered = np.full(len(rows), -1, np.intp)
        for i, lv in enumerate(rule.levels):  # the most severe level crossed wins, as `Rule.entered`
            entered[compare(values, lv.threshold)] = i
        crossed = compare(values, rule.levels[0].threshold)
        fresh = col.fresh[rows].tolist()
        return Scan(rows, values.tolist(), fresh, crossed.tolist(), entered.tolist())

    def _scan_small(self, rule: Rule, col: FigureColumn, also: list[int], skip: list[int]) -> Scan:
        """`scan` in Python, row by row: the same comparisons (IEEE's, as numpy's) on a few rows."""
        values = col.values.tolist()
        compare = rule.compare
        lowest = rule.levels[0].threshold
        rows = [i for i, v in enumerate(values) if v != v or compare(v, lowest)]
        mask = self._mask(rule, col)
        if mask is not None and rows:
            rows = [i for i in rows if mask[i]]
        if skip and rows:
            rows = [i for i in rows if i not in skip]
        if also:
            rows = sorted({*rows, *also})
        v = [values[i] for i in rows]
        fresh = col.fresh.tolist()
        entered = []
        for x in v:  # the most severe level crossed wins, as `Rule.entered`
            hit = -1
            for i, lv in enumerate(rule.levels):
                if compare(x, lv.threshold):
                    hit = i
            entered.append(hit)
        return Scan(rows, v, [fresh[i] for i in rows], [compare(x, lowest) for x in v], entered)
