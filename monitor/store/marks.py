"""Mark records kept with their numbers as columns: the market stage reads them in bulk.

At 600 symbols the market, dynamics and VaR stages each read ~870 `MarkPrice` records a tick
attribute by attribute (`np.fromiter(map(attrgetter("mark"), ...))`, ~0.2 ms per column, seven
columns). Here a put writes the record's numbers into its market's row, and `MarkTable` hands a
tick read-only copies of the columns (a memcpy each) beside the records themselves: every reader of
the mapping (a frame tick, what-if, the status page) gets the very records it got before.

Rows are in the order markets were first heard, which is the records' dict order (a market is never
dropped from the store): `keys` is the mapping's own key order, one tuple until a market is added.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Mapping, ValuesView

import numpy as np

from monitor.records import MarkPrice
from monitor.risk._num import FloatArray, IntArray

__all__ = ["MarkIndex", "MarkLog", "MarkTable", "mark_column", "mark_keys"]

MarkKey = tuple[str, str]  # (venue, symbol)


class MarkIndex(dict[MarkKey, int]):
    """A key's row, frozen with one layout; it remembers the rows of the key lists readers ask for.

    Shared by every table of one layout (one store), so a reader's key list is looked up once per
    layout, and two stores (two daemons) never share one.
    """

    def __init__(self, rows: Mapping[MarkKey, int]) -> None:
        super().__init__(rows)
        self._asked: dict[int, tuple[tuple[MarkKey, ...], IntArray]] = {}

    def rows(self, keys: tuple[MarkKey, ...]) -> IntArray:
        """The row of each key (−1 where the store has no mark), kept per key tuple (by identity)."""
        held = self._asked.get(id(keys))
        if held is not None and held[0] is keys:
            return held[1]
        got = np.array([self.get(k, -1) for k in keys], dtype=np.intp)
        if len(self._asked) >= 16:
            self._asked.clear()
        self._asked[id(keys)] = (keys, got)
        return got


class MarkTable(Mapping[MarkKey, MarkPrice]):
    """One snapshot's marks: the records, and per row (`keys` order) mark, index, funding rate, next funding.

    `index` maps a key to its row; `keys` and `index` are shared with the store until a market is
    added (never written after), so a reader may key what it derives from them on their identity.
    """

    __slots__ = ("funding_rate", "index", "index_price", "keys_", "mark", "next_funding_ns", "records")

    def __init__(
        self,
        records: Mapping[MarkKey, MarkPrice],
        keys: tuple[MarkKey, ...],
        index: MarkIndex,
        mark: FloatArray,
        index_price: FloatArray,
        funding_rate: FloatArray,
        next_funding_ns: IntArray,
    ) -> None:
        self.records, self.keys_, self.index = records, keys, index
        self.mark, self.index_price, self.funding_rate = mark, index_price, funding_rate
        self.next_funding_ns = next_funding_ns
        for col in (mark, index_price, funding_rate, next_funding_ns):
            col.flags.writeable = False

    def __getitem__(self, key: MarkKey) -> MarkPrice:
        return self.records[key]

    def get(self, key: MarkKey, default: object = None) -> MarkPrice | None:  # type: ignore[override]
        return self.records.get(key, default)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[MarkKey]:
        return iter(self.keys_)

    def __len__(self) -> int:
        return len(self.keys_)

    def __contains__(self, key: object) -> bool:
        return key in self.records

    def values(self) -> ValuesView[MarkPrice]:
        return self.records.values()

    def __repr__(self) -> str:
        return f"MarkTable({dict(self.records)!r})"

    def marks_at(self, keys: tuple[MarkKey, ...]) -> FloatArray:
        """The mark of each key, NaN where none: `[marks.get(k).mark ...]` as one gather."""
        rows = self.index.rows(keys)
        out = self.mark[rows]
        if rows.size and rows.min() < 0:
            out[rows < 0] = np.nan
        return out


def mark_keys(marks: Mapping[MarkKey, MarkPrice]) -> tuple[MarkKey, ...]:
    """`tuple(marks)`: the table's own tuple when it is one (the same object while no market is added)."""
    return marks.keys_ if isinstance(marks, MarkTable) else tuple(marks)


def mark_column(marks: Mapping[MarkKey, MarkPrice], keys: tuple[MarkKey, ...]) -> FloatArray:
    """The mark of every key of `marks` in its order (`keys` = `tuple(marks)`), from the columns when held."""
    if isinstance(marks, MarkTable) and marks.keys_ is keys:
        return marks.mark
    return np.fromiter((m.mark for m in marks.values()), np.float64, len(keys))


class MarkLog:
    """The store's side: the latest record per market and its numbers in its row, written by every put."""

    def __init__(self) -> None:
        self.records: dict[MarkKey, MarkPrice] = {}
        self._index: dict[MarkKey, int] = {}
        self._keys: tuple[MarkKey, ...] | None = ()  # None: made again at the next table
        self._frozen_index = MarkIndex({})
        self._mark = array("d")
        self._index_price = array("d")
        self._rate = array("d")
        self._next = array("q")

    def get(self, key: MarkKey) -> MarkPrice | None:
        return self.records.get(key)

    def put(self, rec: MarkPrice) -> None:
        key = (rec.venue, rec.symbol)
        self.records[key] = rec
        i = self._index.get(key)
        if i is None:
            i = self._index[key] = len(self._mark)
            self._keys = None
            for col in (self._mark, self._index_price, self._rate, self._next):
                col.append(0)
        self._mark[i] = rec.mark
        self._index_price[i] = rec.index
        self._rate[i] = rec.funding_rate
        self._next[i] = rec.next_funding_ns

    def table(self) -> MarkTable:
        """The marks as of now, copied."""
        if self._keys is None:
            self._keys = tuple(self._index)
            self._frozen_index = MarkIndex(self._index)
        return MarkTable(
            dict(self.records),
            self._keys,
            self._frozen_index,
            np.array(self._mark, dtype=np.float64),
            np.array(self._index_price, dtype=np.float64),
            np.array(self._rate, dtype=np.float64),
            np.array(self._next, dtype=np.int64),
        )
