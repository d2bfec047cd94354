"""Book levels kept as arrays: a collector's put writes one row, a snapshot copies the arrays.

At 600 symbols the cost-to-close check read ~870 `BookLevels` records a tick, 80 floats each out
of tuples (`np.fromiter` over ~70,000 Python floats: a few ms of every tick). Here each put writes
its record's four sides into its market's row of the array of its shape (bid depth, ask depth),
and `BookTable` hands a tick read-only copies of those arrays (a memcpy) beside the records.

Only a book whose two sides are non-empty and whose price and size columns have equal lengths
gets a row: the others (an empty side, ragged columns) are kept as their record. A book with a row
is not kept as a record at all: a reader asking for one gets it made from the row (equal floats).
Keeping the records let the snapshot that held them free ~870 records of 80 floats each when the
next one replaced it, ~1 ms of every tick; now a put frees its predecessor, off the tick.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from monitor.records import BookLevels
from monitor.risk._num import FloatArray, IntArray

__all__ = ["BookKey", "BookLayout", "BookLog", "BookTable"]

BookKey = tuple[str, str, str]  # (venue, symbol, market)
Shape = tuple[int, int]  # (bid depth, ask depth)


@dataclass(frozen=True, slots=True)
class BookLayout:
    """Where each market's row is: the same object until a market gains, loses or moves its row.

    `at[key]` = (shape index, row); `shapes[s]` = (bid depth, ask depth) of array s, whose row is
    bid prices, bid sizes, ask prices, ask sizes side by side. A reader may key what it derives from
    the layout on its identity (e.g. the rows of the markets it reads).
    """

    at: Mapping[BookKey, tuple[int, int]]
    shapes: tuple[Shape, ...]


class BookTable(Mapping[BookKey, BookLevels]):
    """One snapshot's book levels: the arrays of `layout` and the books without a row (read-only copies).

    `meta[s]` holds each row's (ts_event_ns, ts_recv_ns, update_id); `odd` the records without a row.
    """

    __slots__ = ("arrays", "layout", "meta", "odd")

    def __init__(
        self,
        odd: Mapping[BookKey, BookLevels],
        layout: BookLayout,
        arrays: tuple[FloatArray, ...],
        meta: tuple[IntArray, ...],
    ) -> None:
        self.odd, self.layout, self.arrays, self.meta = odd, layout, arrays, meta
        for a in (*arrays, *meta):
            a.flags.writeable = False

    def __getitem__(self, key: BookKey) -> BookLevels:
        at = self.layout.at.get(key)
        if at is None:
            return self.odd[key]
        s, row = at
        nb, na = self.layout.shapes[s]
        v = self.arrays[s][row].tolist()
        ev, recv, uid = self.meta[s][row].tolist()
        return BookLevels(
            venue=key[0],
            symbol=key[1],
            market=key[2],  # type: ignore[arg-type]
            ts_event_ns=ev,
            ts_recv_ns=recv,
            bid_px=tuple(v[:nb]),
            bid_qty=tuple(v[nb : 2 * nb]),
            ask_px=tuple(v[2 * nb : 2 * nb + na]),
            ask_qty=tuple(v[2 * nb + na :]),
            update_id=uid,
        )

    def get(self, key: BookKey, default: object = None) -> BookLevels | None:  # type: ignore[override]
        try:
            return self[key]
        except KeyError:
            return default  # type: ignore[return-value]

    def __iter__(self) -> Iterator[BookKey]:
        yield from self.layout.at
        yield from self.odd

    def __len__(self) -> int:
        return len(self.layout.at) + len(self.odd)

    def __contains__(self, key: object) -> bool:
        return key in self.layout.at or key in self.odd

    def __repr__(self) -> str:
        return f"BookTable({dict(self.items())!r})"


def row_shape(rec: BookLevels) -> Shape | None:
    """(bid depth, ask depth) when the record has a row: both sides non-empty, columns of equal length."""
    nb, na = len(rec.bid_px), len(rec.ask_px)
    if nb and na and len(rec.bid_qty) == nb and len(rec.ask_qty) == na:
        return nb, na
    return None


class BookLog:
    """The store's side: the latest record per market and its row, written in place by every put.

    A market that changes shape takes a new row in its new shape's array; the old row is dead and
    the array is compacted once dead rows outnumber the live ones (a depth that flaps cannot grow it).
    """

    def __init__(self) -> None:
        self._odd: dict[BookKey, BookLevels] = {}  # the books without a row
        self._at: dict[BookKey, tuple[int, int]] = {}
        self._shapes: list[Shape] = []
        self._shape_ix: dict[Shape, int] = {}
        self._bufs: list[FloatArray] = []
        self._meta: list[IntArray] = []  # per row: ts_event_ns, ts_recv_ns, update_id
        self._used: list[int] = []  # rows handed out per shape (live and dead)
        self._live: list[int] = []
        self._layout: BookLayout | None = None  # None: made again at the next table

    def put(self, rec: BookLevels) -> None:
        key = (rec.venue, rec.symbol, rec.market)
        shape = row_shape(rec)
        held = self._at.get(key)
        s = -1 if shape is None else self._shape_ix.get(shape, -1)
        if held is not None and held[0] == s:
            self._write(s, held[1], rec)
            return
        if held is not None:
            self._drop(key, held)
        if shape is None:
            self._odd[key] = rec
            return
        self._odd.pop(key, None)
        if s < 0:
            s = self._shape_ix[shape] = len(self._shapes)
            self._shapes.append(shape)
            self._bufs.append(np.empty((16, 2 * (shape[0] + shape[1])), dtype=np.float64))
            self._meta.append(np.empty((16, 3), dtype=np.int64))
            self._used.append(0)
            self._live.append(0)
        row = self._used[s]
        if row == self._bufs[s].shape[0]:
            grown = np.empty((2 * row, self._bufs[s].shape[1]), dtype=np.float64)
            grown[:row] = self._bufs[s]
            self._bufs[s] = grown
            meta = np.empty((2 * row, 3), dtype=np.int64)
            meta[:row] = self._meta[s]
            self._meta[s] = meta
        self._used[s] += 1
        self._live[s] += 1
        self._at[key] = (s, row)
        self._layout = None
        self._write(s, row, rec)

    def _write(self, s: int, row: int, rec: BookLevels) -> None:
        self._bufs[s][row] = rec.bid_px + rec.bid_qty + rec.ask_px + rec.ask_qty
        self._meta[s][row] = (rec.ts_event_ns, rec.ts_recv_ns, rec.update_id)

    def _drop(self, key: BookKey, held: tuple[int, int]) -> None:
        s = held[0]
        del self._at[key]
        self._live[s] -= 1
        self._layout = None
        if self._used[s] - self._live[s] > max(self._live[s], 16):
            self._compact(s)

    def _compact(self, s: int) -> None:
        keys = [k for k, (s_, _r) in self._at.items() if s_ == s]
        old = self._bufs[s]
        rows = [self._at[k][1] for k in keys]
        buf = np.empty((max(16, 2 * len(keys)), old.shape[1]), dtype=np.float64)
        buf[: len(keys)] = old[rows]
        meta = np.empty((buf.shape[0], 3), dtype=np.int64)
        meta[: len(keys)] = self._meta[s][rows]
        self._bufs[s], self._meta[s] = buf, meta
        for i, k in enumerate(keys):
            self._at[k] = (s, i)
        self._used[s] = self._live[s] = len(keys)

    def forget(self, key: BookKey) -> None:
        """Drop one market's record and row."""
        self._odd.pop(key, None)
        held = self._at.get(key)
        if held is not None:
            self._drop(key, held)

    def table(self) -> BookTable:
        """The books as of now, copied."""
        if self._layout is None:
            self._layout = BookLayout(dict(self._at), tuple(self._shapes))
        arrays = tuple(b[:n].copy() for b, n in zip(self._bufs, self._used, strict=True))
        meta = tuple(m[:n].copy() for m, n in zip(self._meta, self._used, strict=True))
        return BookTable(dict(self._odd), self._layout, arrays, meta)
