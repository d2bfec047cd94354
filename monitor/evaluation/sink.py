"""Collects one tick's figures as columns; keeps the unit from the catalogue so names and units never drift.

Stages hand figures in row by row (`add`), a column at a time (`add_many`, `FigureRows`) or as
arrays with keys they keep themselves (`add_array`). Whatever the way in, the sink keeps per name
the parts in call order and joins them into one `FigureColumn` when the tick's `Figures` is made:
no `Figure` struct is built, and with a `ShapeCache` carried between ticks no `FigureKey` either,
while the labels are the same as last tick's. What comes out equals the dict a row-by-row fill
made before: the same keys, values, units, freshness and reasons (a NaN without a reason says
"not_available"; ±inf is a value), a repeated key keeping its first place and its last figure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import numpy as np
import numpy.typing as npt

from monitor.evaluation.join import Part, Rows, join_parts
from monitor.figure_columns import FigureColumn, FigureItems, ShapeCache, items_from_columns
from monitor.figures import CATALOG
from monitor.records import Figure, FigureKey, Figures

__all__ = ["FigureRows", "FigureSink", "ShapeCache"]  # ShapeCache: what the evaluator keeps for its sinks


class FigureSink:
    def __init__(self, now_ns: int, shapes: ShapeCache | None = None) -> None:
        """`shapes`: the evaluator's cache, carried between ticks; None keeps nothing (tests, tools)."""
        self.now_ns = now_ns
        self._shapes = shapes if shapes is not None else ShapeCache()
        self._parts: dict[str, list[Rows | Part]] = {}
        self._columns: dict[str, FigureColumn] | None = None  # the join, until the next add
        self._open: dict[str, Rows] = {}  # per name, the run of `add` rows a next `add` extends

    # ---------------------------------------------------------------- in
    def add(
        self,
        name: str,
        value: float,
        labels: Mapping[str, str] | None = None,
        /,
        *,
        fresh: bool = True,
        reason: str = "",
        **more: str,
    ) -> None:
        """Record one figure; labels come as a mapping, as keywords, or both."""
        rows = self._open.get(name)
        if rows is None:
            parts = self._parts.get(name)
            if parts is None:
                _ = CATALOG[name]  # a KeyError here is a programming error: every name is catalogued
                parts = self._parts[name] = []
            rows = self._open[name] = Rows()
            parts.append(rows)
        self._columns = None
        rows.labels.append({**labels, **more} if labels else more)  # our own dict: a caller may reuse its
        rows.values.append(float(value))
        rows.fresh.append(fresh)
        rows.reasons.append(reason)

    def add_many(
        self,
        name: str,
        labels: Iterable[Mapping[str, str]],
        values: Iterable[float],
        fresh: Iterable[bool],
        reasons: Iterable[str],
    ) -> None:
        """One figure per row of the columns, the same entries `add` would make row by row.

        Why: a desk-sized tick adds tens of thousands of figures; here the keys are built only when
        the labels differ from last tick's at this call, and no struct is built per figure.
        """
        labs = labels if isinstance(labels, list) else list(labels)
        keys = self._shapes.keys_of(name, self._slot(name), labs)
        self.add_array(name, keys, values, fresh, reasons)

    def add_array(
        self,
        name: str,
        keys: tuple[FigureKey, ...],
        values: Iterable[float] | npt.NDArray[np.float64],
        fresh: Iterable[bool] | npt.NDArray[np.bool_] | bool,
        reasons: Iterable[str] | str,
    ) -> None:
        """A column whose keys the caller keeps (the same tuple while its shape holds): the fast way in.

        `fresh` and `reasons` may be one value for every row. Every key must be named `name`.
        """
        parts = self._parts.get(name)
        if parts is None:
            _ = CATALOG[name]  # every name is catalogued
            parts = self._parts[name] = []
        n = len(keys)
        # our own copies (a caller may reuse its arrays), one call each
        v = values.astype(np.float64) if isinstance(values, np.ndarray) else np.fromiter(values, np.float64)
        ok: npt.NDArray[np.bool_] | bool
        if isinstance(fresh, bool | np.bool_):
            ok = bool(fresh)  # one value for every row, expanded by the join
        elif isinstance(fresh, np.ndarray):
            ok = fresh.astype(np.bool_)
        else:
            ok = np.array(fresh if isinstance(fresh, list) else list(fresh), np.bool_)
        why = [reasons] * n if isinstance(reasons, str) else list(reasons)
        if v.shape != (n,) or (not isinstance(ok, bool) and ok.shape != (n,)) or len(why) != n:
            m = n if isinstance(ok, bool) else ok.size  # as zip(strict=True) was
            raise ValueError(f"{name}: {n} keys, {v.size} values, {m} fresh, {len(why)} reasons")
        self._columns = None
        self._open.pop(name, None)
        parts.append(Part(keys, v, ok, why, self.now_ns))

    def merge(self, columns: Mapping[str, FigureColumn]) -> None:
        """Another sink's columns, with their own times (the stress table, computed on its own cadence)."""
        for name, col in columns.items():
            ts = col.ts_rows if col.ts_rows is not None else col.ts_ns
            self._columns = None
            self._open.pop(name, None)
            self._parts.setdefault(name, []).append(Part(col.keys, col.values, col.fresh, col.reasons, ts))

    def _slot(self, name: str) -> int:
        parts = self._parts.get(name)
        return len(parts) if parts else 0

    # ---------------------------------------------------------------- amend
    def get(self, key: FigureKey) -> Figure | None:
        """The figure recorded for `key` so far, or None."""
        col = self.columns().get(key.name)
        return None if col is None else col.get(key)

    def amend(self, key: FigureKey, *, fresh: bool, reason: str) -> None:
        """Change one recorded figure's freshness and reason (its value stays); a missing key is an error."""
        col = self.columns()[key.name]
        row = col.shape.index[key]
        ok, why = col.fresh.copy(), list(col.reasons)  # a published column is never changed
        ok[row], why[row] = fresh, reason
        ts = col.ts_rows if col.ts_rows is not None else col.ts_ns
        self._parts[key.name] = [Part(col.keys, col.values, ok, why, ts)]
        self._columns = None

    def amend_stale(self, keys: Iterable[FigureKey], reason: str) -> None:
        """Each recorded figure of `keys` that has a value turns not fresh, `reason` before its own.

        One join for the whole batch: `amend` re-joins every column on the next read, and the model
        stage marks up to (markets × 8 + positions) keys when the refits fall behind — at 600 ×
        1,000 that was ~5,800 joins, a 1.4 s tick, the moment the desk most needs it quick.
        Keys not recorded, or recorded as NaN, are left alone (nothing to call stale).
        """
        by_name: dict[str, list[FigureKey]] = {}
        for key in keys:
            by_name.setdefault(key.name, []).append(key)
        if not by_name:
            return
        cols = self.columns()
        for name, wanted in by_name.items():
            col = cols.get(name)
            if col is None:
                continue
            ok, why, changed = col.fresh.copy(), list(col.reasons), False
            for key in wanted:
                row = col.shape.index.get(key)
                if row is None or math.isnan(col.values[row]):
                    continue
                ok[row], why[row], changed = False, f"{reason}, {why[row]}" if why[row] else reason, True
            if changed:  # a published column is never changed: new arrays, one part
                ts = col.ts_rows if col.ts_rows is not None else col.ts_ns
                self._parts[name] = [Part(col.keys, col.values, ok, why, ts)]
                self._columns = None

    # ---------------------------------------------------------------- out
    def columns(self) -> dict[str, FigureColumn]:
        """Every name's column, in the order names were first added."""
        if self._columns is None:
            self._open.clear()  # joined rows are parts now: a later `add` starts a new run
            self._columns = join_parts(self._parts, self._shapes, self.now_ns)
        return self._columns

    def figures(self, taken_at_ns: int | None = None) -> Figures:
        at = self.now_ns if taken_at_ns is None else taken_at_ns
        return Figures(taken_at_ns=at, items=FigureItems(self.columns()))

    @property
    def items(self) -> Mapping[FigureKey, Figure]:
        """The dict form, read-only (change a figure with `amend`); built on each call: for tests, tools."""
        return MappingProxyType(items_from_columns(self.columns()))


class FigureRows:
    """Figures gathered per name by a stage that walks legs or markets, then added as columns.

    `add` takes what `FigureSink.add` takes (one label mapping); `flush` hands each name's column to
    `FigureSink.add_many`. The sink ends up with the same entries (later rows of a name still win).
    """

    def __init__(self) -> None:
        self._cols: dict[str, tuple[list[Mapping[str, str]], list[float], list[bool], list[str]]] = {}

    def add(
        self, name: str, value: float, labels: Mapping[str, str], /, *, fresh: bool = True, reason: str = ""
    ) -> None:
        col = self._cols.get(name)
        if col is None:
            col = self._cols[name] = ([], [], [], [])
        col[0].append(labels)
        col[1].append(value)
        col[2].append(fresh)
        col[3].append(reason)

    def flush(self, sink: FigureSink) -> None:
        for name, (labels, values, fresh, reasons) in self._cols.items():
            sink.add_many(name, labels, values, fresh, reasons)
        self._cols = {}
