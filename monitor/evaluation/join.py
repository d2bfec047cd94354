"""One tick's figure parts joined into columns with a few numpy calls for the whole tick, not per column.

A small book joins ~80 columns of a few rows each tick, where numpy's per-call cost (a concatenate,
a conversion, a NaN search: about a microsecond each) was most of the join. Here the rows added one
`add` at a time become two arrays for the whole tick (each run a slice of them), a column made of
one part keeps that part's arrays (the sink's own copies), and the NaN rows of every column are
found by one search over the tick's values side by side. What a column is made of (its shape, the
rows a repeated key drops, where it sits among the tick's values) depends only on the keys of its
parts, so it is planned once per book shape (`_Plan`, kept by the ShapeCache) and found again while
every part's keys are the tuples they were.

The arrays made here for many columns at once are read-only: a published column is never changed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import numpy.typing as npt

from monitor.figure_columns import FigureColumn, KeyShape, ShapeCache, nan_reasons
from monitor.figures import CATALOG
from monitor.records import FigureKey

__all__ = ["Part", "Rows", "join_parts"]

Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


class Rows:
    """Rows added one `add` at a time to one name, in a run not broken by another kind of part."""

    __slots__ = ("fresh", "labels", "reasons", "values")

    def __init__(self) -> None:
        self.labels: list[Mapping[str, str]] = []
        self.values: list[float] = []
        self.fresh: list[bool] = []
        self.reasons: list[str] = []


class Part:
    """Rows whose keys are known: values, freshness (one bool: every row's), reasons and time."""

    __slots__ = ("fresh", "keys", "reasons", "ts", "values")

    def __init__(
        self,
        keys: tuple[FigureKey, ...],
        values: Floats,
        fresh: Bools | bool,
        reasons: Sequence[str],
        ts: int | npt.NDArray[np.int64],
    ) -> None:
        self.keys, self.values, self.fresh, self.reasons, self.ts = keys, values, fresh, reasons, ts


class _Slot:
    """Where one column sits in the tick's arrays, and what its keys made of it."""

    __slots__ = ("end", "name", "shape", "start", "take", "unit")

    def __init__(
        self, name: str, shape: KeyShape, take: npt.NDArray[np.intp] | None, start: int, end: int
    ) -> None:
        self.name, self.unit, self.shape, self.take = name, CATALOG[name].unit, shape, take
        self.start, self.end = start, end


class _Plan:
    __slots__ = ("ends", "slots", "starts")

    def __init__(self, slots: list[_Slot]) -> None:
        self.slots = slots
        self.starts = np.array([s.start for s in slots], np.intp)
        self.ends = np.array([s.end for s in slots], np.intp)  # the column of a tick row, by bisection


_FILLED: dict[bool, Bools] = {}


def _filled(n: int, value: bool) -> Bools:
    """`n` rows of `value`, a view of one read-only array kept across ticks (a concatenate copies it)."""
    arr = _FILLED.get(value)
    if arr is None or arr.size < n:
        arr = np.full(max(n, 256, 2 * (arr.size if arr is not None else 0)), value)
        arr.flags.writeable = False
        _FILLED[value] = arr
    return arr[:n]


def _plan(sig: list[str | tuple[FigureKey, ...]], shapes: ShapeCache) -> _Plan:
    """Each name's shape and the rows it keeps, from the signature `join_parts` makes."""
    slots: list[_Slot] = []
    at = 0
    i = 0
    while i < len(sig):
        name = sig[i]
        assert isinstance(name, str)  # a signature is a name, then the keys of each of its parts
        j = i + 1
        while j < len(sig) and not isinstance(sig[j], str):
            j += 1
        parts: tuple[tuple[FigureKey, ...], ...] = tuple(sig[i + 1 : j])  # type: ignore[arg-type]
        shape, take = shapes.join(name, parts)
        n = sum(map(len, parts))
        slots.append(_Slot(name, shape, take, at, at + n))
        at += n
        i = j
    return _Plan(slots)


def join_parts(
    by_name: Mapping[str, list[Rows | Part]], shapes: ShapeCache, now: int
) -> dict[str, FigureColumn]:
    """Every name's column, in `by_name`'s order; row runs become parts (a later join reads those).

    A repeated key keeps its first place and its last row's figure, as a dict filled in that order
    would; a NaN without a reason says "not_available" (±inf is a value). A column of one part
    holds that part's arrays (the sink's own copies); a column of several, their concatenation.
    """
    sig: list[str | tuple[FigureKey, ...]] = []
    seg_v: list[Floats] = []
    row_v: list[float] = []
    row_f: list[bool] = []
    runs: list[tuple[list[Rows | Part], int, tuple[FigureKey, ...], int, int]] = []
    odd: set[str] = set()  # names with a part stamped at another time (the stress table's)
    for name, parts in by_name.items():
        if not parts:
            continue
        sig.append(name)
        for i, p in enumerate(parts):
            if isinstance(p, Rows):
                keys = shapes.keys_of(name, -1 - i, p.labels)  # negative slots: row runs
                runs.append((parts, i, keys, len(row_v), len(seg_v)))
                row_v += p.values
                row_f += p.fresh
                seg_v.append(_NONE_F)  # the run's slice of the rows' arrays, below
                sig.append(keys)
                continue
            sig.append(p.keys)
            seg_v.append(p.values)
            if not (isinstance(p.ts, int) and p.ts == now):
                odd.add(name)
    if runs:
        rv, rf = np.array(row_v, np.float64), np.array(row_f, np.bool_)
        rv.flags.writeable = rf.flags.writeable = False
        for parts, i, keys, a, k in runs:
            run = parts[i]
            assert isinstance(run, Rows)
            b = a + len(run.values)
            seg_v[k] = rv[a:b]
            parts[i] = Part(keys, seg_v[k], rf[a:b], run.reasons, now)
    plan = shapes.plan(sig, lambda: _plan(sig, shapes))
    values = np.concatenate(seg_v) if len(seg_v) > 1 else seg_v[0] if seg_v else _NONE_F
    if len(seg_v) > 1:
        values.flags.writeable = False
    nan_at = _nan_rows(values, plan)
    out: dict[str, FigureColumn] = {}
    for j, slot in enumerate(plan.slots):
        parts = by_name[slot.name]
        if len(parts) == 1:
            p = parts[0]
            assert isinstance(p, Part)  # every run was made a part above
            v, reasons = p.values, p.reasons
            f = p.fresh if isinstance(p.fresh, np.ndarray) else _filled(len(p.keys), p.fresh)
        else:
            v = values[slot.start : slot.end]
            f = np.concatenate([_fresh(p) for p in parts])
            reasons = [r for p in parts for r in p.reasons]
        ts, ts_rows = (now, None) if slot.name not in odd else _stamps(parts, now)  # type: ignore[arg-type]
        take = slot.take
        if take is not None:
            v, f = v[take], f[take]
            reasons = nan_reasons(v, [reasons[i] for i in take.tolist()])
            ts_rows = ts_rows[take] if ts_rows is not None else None
        elif j in nan_at:
            reasons = _explain(reasons, nan_at[j])
        out[slot.name] = FigureColumn(slot.name, slot.unit, slot.shape, v, f, reasons, ts, ts_rows)
    return out


_NONE_F: Floats = np.empty(0)


def _fresh(p: Rows | Part) -> Bools:
    assert isinstance(p, Part)
    return p.fresh if isinstance(p.fresh, np.ndarray) else _filled(len(p.keys), p.fresh)


def _nan_rows(values: Floats, plan: _Plan) -> dict[int, list[int]]:
    """Per column (its place in the plan), its NaN rows: one search over the whole tick."""
    at = np.flatnonzero(np.isnan(values))
    if not at.size:
        return {}
    col = np.searchsorted(plan.ends, at, side="right")
    cut = (np.flatnonzero(col[1:] != col[:-1]) + 1).tolist()
    local = (at - plan.starts[col]).tolist()
    heads = [0, *cut]
    return dict(
        zip(col[heads].tolist(), map(local.__getitem__, map(slice, heads, [*cut, at.size])), strict=True)
    )


def _explain(reasons: Sequence[str], rows: list[int]) -> Sequence[str]:
    """`reasons` with "not_available" at the NaN `rows` that say nothing (a copy only then)."""
    if all(map(reasons.__getitem__, rows)):
        return reasons
    out = list(reasons)
    for i in rows:
        if not out[i]:
            out[i] = "not_available"
    return out


def _stamps(parts: list[Part], now: int) -> tuple[int, npt.NDArray[np.int64] | None]:
    """The column's time and, when its rows differ, each row's (a part stamped at another time)."""
    stamps = {p.ts if isinstance(p.ts, int) else -1 for p in parts}
    rows = None
    if len(stamps) > 1 or -1 in stamps:
        rows = np.concatenate([np.full(len(p.keys), p.ts, np.int64) if isinstance(p.ts, int) else p.ts
                               for p in parts])  # fmt: skip
    first = parts[0].ts
    return (first if isinstance(first, int) else int(first[0]) if len(first) else now), rows
