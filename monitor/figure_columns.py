"""One tick's figures as columns: per figure name, its keys, values, freshness and reasons side by side.

A desk-sized tick has ~84,000 figures. As a dict of `FigureKey → Figure` structs every tick paid
for 84,000 keys and 84,000 structs, and every consumer (rules, /metrics) walked them one by one
in Python. As columns, the values are one float64 array per name, so a rule compares a whole
column with its threshold at once and /metrics formats a whole family from an array.

The keys tuple of a column is *the book's shape* for that name. `ShapeCache` hands the same tuple
object back tick after tick while the shape is unchanged, so whatever is derived from a shape
(a rule's match rows, exposition label strings, the key → row index) is built once per shape and
found again by identity. A changed shape is a new tuple; an equal one rebuilt from scratch (a
Figures made from a dict) is still recognised, by equality, at the cost of one comparison.
"""

from __future__ import annotations

import math
from collections.abc import Callable, ItemsView, Iterable, Iterator, KeysView, Mapping, Sequence, ValuesView
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from monitor.records import Figure, FigureKey

__all__ = [
    "FigureColumn",
    "FigureItems",
    "KeyShape",
    "ShapeCache",
    "columns_from_items",
    "columns_of",
    "items_from_columns",
    "nan_reasons",
]

NAN = math.nan  # every NaN of the dict form is this one object, as `float(math.nan)` kept it before
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


class KeyShape:
    """The keys of one column, with the key → row index built the first time someone asks."""

    __slots__ = ("_index", "keys")

    def __init__(self, keys: tuple[FigureKey, ...]) -> None:
        self.keys = keys
        self._index: dict[FigureKey, int] | None = None

    @property
    def index(self) -> dict[FigureKey, int]:
        idx = self._index
        if idx is None:
            idx = self._index = {k: i for i, k in enumerate(self.keys)}
        return idx


class FigureColumn:
    """Every figure of one name in one tick; row i of each array belongs to `keys[i]`.

    Never mutated once published in a `Figures` (the /metrics thread reads it while the next tick
    is computed). `ts_rows` is set only when rows were computed at different times (the stress
    table, kept from an earlier tick, merged with rows of this one); otherwise every row is `ts_ns`.
    """

    __slots__ = ("fresh", "name", "reasons", "shape", "ts_ns", "ts_rows", "unit", "values")

    def __init__(
        self,
        name: str,
        unit: str,
        shape: KeyShape,
        values: Floats,
        fresh: Bools,
        reasons: Sequence[str],
        ts_ns: int,
        ts_rows: npt.NDArray[np.int64] | None = None,
    ) -> None:
        self.name, self.unit, self.shape = name, unit, shape
        self.values, self.fresh, self.reasons = values, fresh, reasons
        self.ts_ns, self.ts_rows = ts_ns, ts_rows

    @property
    def keys(self) -> tuple[FigureKey, ...]:
        return self.shape.keys

    def __len__(self) -> int:
        return len(self.shape.keys)

    def figure(self, row: int) -> Figure:
        """Row `row` as the Figure struct the dict form holds."""
        ts = self.ts_ns if self.ts_rows is None else int(self.ts_rows[row])
        v = float(self.values[row])
        return Figure(
            value=v if v == v else NAN,
            unit=self.unit,
            ts_ns=ts,
            fresh=bool(self.fresh[row]),
            reason=self.reasons[row],
        )

    def get(self, key: FigureKey) -> Figure | None:
        row = self.shape.index.get(key)
        return None if row is None else self.figure(row)

    def figures(self) -> Iterable[tuple[FigureKey, Figure]]:
        """Every row as (key, Figure), in row order."""
        unit, n = self.unit, len(self)
        ts: Iterable[int] = self.ts_rows.tolist() if self.ts_rows is not None else [self.ts_ns] * n
        for key, v, ok, why, t in zip(
            self.keys, self.values.tolist(), self.fresh.tolist(), self.reasons, ts, strict=True
        ):
            yield key, Figure(value=v if v == v else NAN, unit=unit, ts_ns=t, fresh=ok, reason=why)


class FigureItems(Mapping[FigureKey, Figure]):
    """The dict form of columns, as a read-only mapping: one figure is found through its column's index,
    so `get` and `in` build nothing; iterating builds every Figure once and keeps them."""

    __slots__ = ("_columns", "_dict")

    def __init__(self, columns: Mapping[str, FigureColumn]) -> None:
        self._columns = columns
        self._dict: dict[FigureKey, Figure] | None = None

    @property
    def columns(self) -> Mapping[str, FigureColumn]:
        return self._columns

    def _all(self) -> dict[FigureKey, Figure]:
        d = self._dict
        if d is None:
            d = self._dict = items_from_columns(self._columns)
        return d

    def __getitem__(self, key: FigureKey) -> Figure:
        fig = self.get(key)
        if fig is None:
            raise KeyError(key)
        return fig

    def get(self, key: FigureKey, default: Figure | None = None) -> Figure | None:  # type: ignore[override]
        if self._dict is not None:
            return self._dict.get(key, default)
        col = self._columns.get(key.name)
        row = col.shape.index.get(key) if col is not None else None
        return default if row is None or col is None else col.figure(row)

    def __contains__(self, key: object) -> bool:
        return isinstance(key, FigureKey) and self.get(key) is not None

    def __iter__(self) -> Iterator[FigureKey]:
        return iter(self._all())

    def __len__(self) -> int:
        return sum(len(c) for c in self._columns.values())

    def keys(self) -> KeysView[FigureKey]:
        return self._all().keys()

    def values(self) -> ValuesView[Figure]:
        return self._all().values()

    def items(self) -> ItemsView[FigureKey, Figure]:
        return self._all().items()


def items_from_columns(columns: Mapping[str, FigureColumn]) -> dict[FigureKey, Figure]:
    """The dict form: columns in their order, rows in theirs (names grouped, unlike a row-by-row fill)."""
    out: dict[FigureKey, Figure] = {}
    for col in columns.values():
        out.update(col.figures())
    return out


_DERIVED: list[tuple[Mapping[FigureKey, Figure], dict[str, FigureColumn]]] = []  # the last few dicts' columns
_DERIVED_KEEP = 4  # a tick's rules and a scrape of the tick before may alternate


def columns_of(items: Mapping[FigureKey, Figure]) -> Mapping[str, FigureColumn]:
    """The columns of `Figures.items`: its own for a FigureItems, else derived once per dict object.

    A Figures made from a dict is immutable and so is its dict by contract; the few kept here are
    found by identity, so the rules and /metrics of one tick derive its columns once.
    """
    if isinstance(items, FigureItems):
        return items.columns
    for seen, cols in _DERIVED:
        if seen is items:
            return cols
    cols = columns_from_items(items)
    _DERIVED.insert(0, (items, cols))
    del _DERIVED[_DERIVED_KEEP:]
    return cols


def columns_from_items(items: Mapping[FigureKey, Figure]) -> dict[str, FigureColumn]:
    """Columns of a dict of Figures (tests and tools build those): grouped by name, dict order kept.

    The unit and time of a column are its first row's (the dict form, which such a Figures keeps,
    stays the truth for `items` and `get`); values are floats, as rules and /metrics read them.
    """
    by_name: dict[str, list[tuple[FigureKey, Figure]]] = {}
    for key, fig in items.items():
        by_name.setdefault(key.name, []).append((key, fig))
    out: dict[str, FigureColumn] = {}
    for name, rows in by_name.items():
        first = rows[0][1]
        ts = np.fromiter((f.ts_ns for _, f in rows), np.int64, len(rows))
        out[name] = FigureColumn(
            name,
            first.unit,
            KeyShape(tuple(k for k, _ in rows)),
            np.fromiter((f.value for _, f in rows), np.float64, len(rows)),
            np.fromiter((f.fresh for _, f in rows), np.bool_, len(rows)),
            [f.reason for _, f in rows],
            int(ts[0]),
            None if bool((ts == ts[0]).all()) else ts,
        )
    return out


class _Slot:
    """What one producer call made last tick: its labels (our own copies) and the keys built from them."""

    __slots__ = ("keys", "labels")

    def __init__(self, labels: list[dict[str, str]], keys: tuple[FigureKey, ...]) -> None:
        self.labels, self.keys = labels, keys


class _Joined:
    """A column's parts last tick (by identity), the shape they made and which rows survive duplicates."""

    __slots__ = ("parts", "shape", "take")

    def __init__(
        self, parts: tuple[tuple[FigureKey, ...], ...], shape: KeyShape, take: npt.NDArray[np.intp] | None
    ) -> None:
        self.parts, self.shape, self.take = parts, shape, take


_PLANS_KEPT = 4
P = TypeVar("P")


class ShapeCache:
    """Keys carried from tick to tick, so an unchanged book builds no FigureKey and no shape.

    Held by the evaluator across ticks (a FigureSink lives one tick). Entries are per figure name
    and per call of a name within a tick, so the cache is bounded by the catalogue, not by time.
    """

    def __init__(self) -> None:
        self._slots: dict[tuple[str, int], _Slot] = {}
        self._joined: dict[str, _Joined] = {}
        self._plans: list[tuple[list[object], object]] = []  # the last few ticks' plans, newest first

    def plan(self, sig: Sequence[object], build: Callable[[], P]) -> P:
        """What `build` made for a tick whose parts had these keys, made again only when they differ.

        `sig` lists each name then its parts' keys, so equal signatures join to equal columns. A
        few are kept: a sink joined mid-tick (to read a figure back) joins again at the end.
        """
        for seen, made in self._plans:
            if seen == sig:  # the very tuples, found by identity before any key is compared
                return made  # type: ignore[return-value]
        made = build()
        self._plans.insert(0, (list(sig), made))
        del self._plans[_PLANS_KEPT:]
        return made

    def keys_of(self, name: str, slot: int, labels: list[Mapping[str, str]]) -> tuple[FigureKey, ...]:
        """Keys for one call's label mappings, last tick's tuple itself when the labels are equal.

        The labels kept for the next comparison are copies: a caller may reuse and change its dicts.
        """
        hit = self._slots.get((name, slot))
        if hit is not None and hit.labels == labels:
            return hit.keys
        own = [dict(lab) for lab in labels]
        keys = tuple(FigureKey(name=name, **lab) for lab in own)
        self._slots[(name, slot)] = _Slot(own, keys)
        return keys

    def join(
        self, name: str, parts: tuple[tuple[FigureKey, ...], ...]
    ) -> tuple[KeyShape, npt.NDArray[np.intp] | None]:
        """The column's shape from its parts' keys, and the rows to take (None: all) when a key repeats.

        A repeated key keeps its first position and its last row's figure, as a dict filled in that
        order would. The shape object is last tick's whenever the keys are equal.
        """
        old = self._joined.get(name)
        if old is not None and len(old.parts) == len(parts) and all(map(_same, old.parts, parts)):
            return old.shape, old.take
        keys = parts[0] if len(parts) == 1 else tuple(k for p in parts for k in p)
        take: npt.NDArray[np.intp] | None = None
        last = {k: i for i, k in enumerate(keys)}
        if len(last) < len(keys):
            first: dict[FigureKey, None] = dict.fromkeys(keys)
            take = np.fromiter((last[k] for k in first), np.intp, len(first))
            keys = tuple(first)
        if old is not None and (old.shape.keys is keys or old.shape.keys == keys):
            shape = old.shape
        else:
            shape = KeyShape(keys)
            if take is None:
                shape._index = last  # built anyway to find repeats
        self._joined[name] = _Joined(parts, shape, take)
        return shape, take


def _same(a: tuple[FigureKey, ...], b: tuple[FigureKey, ...]) -> bool:
    return a is b


_SMALL = 16


def nan_reasons(values: Floats, reasons: list[str]) -> list[str]:
    """`reasons` with "not_available" where the value is NaN and nothing says why (±inf is a value).

    A small book has dozens of columns of a few rows each, where numpy's per-call cost is most of
    the work: up to `_SMALL` rows the NaNs are found in Python instead.
    """
    if values.size <= _SMALL:
        rows = [i for i, v in enumerate(values.tolist()) if v != v]
    else:
        rows = np.flatnonzero(np.isnan(values)).tolist()
    if not rows:
        return reasons
    out = reasons
    for i in rows:
        if not out[i]:
            if out is reasons:
                out = list(reasons)
            out[i] = "not_available"
    return out
