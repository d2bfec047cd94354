"""Where each mark grid stands, as columns: its newest bucket, how many bars it holds, its revision.

A stage that carries something from one tick's bars to the next (the EWMA cache, market.py) needs to
know, per market, whether bars were added and whether bars it already saw may have changed. Asking
each of 865 grids for its newest time was a numpy scalar read per market per tick; the store knows
it already (it moves only when a bucket starts or a backfill lands) and keeps it here, so a
snapshot copies three short columns only when one moved.

A grid's revision changes whenever bars it already held may have changed (a backfill); while it
holds, bars are only appended, one per bucket, and the oldest dropped: the newest bucket and the
length place every bar.
"""

from __future__ import annotations

import itertools
from array import array
from collections.abc import Mapping

import msgspec
import numpy as np

from monitor.risk._num import IntArray

__all__ = ["BarsLog", "GridBars", "next_revision"]

GridKey = tuple[str, str]  # (venue, symbol)
_REVISIONS = itertools.count(1)  # unique across the store's grids and their lives (0: none promised)


def next_revision() -> int:
    return next(_REVISIONS)


class GridBars(msgspec.Struct, frozen=True, gc=False):
    """One snapshot's mark grids as columns, in `keys` order; `grids` is the mapping they describe.

    A snapshot whose `mark_grid` was replaced (a what-if, a test) no longer has `grids is
    snap.mark_grid`: what is carried from these columns must then not be trusted.
    """

    grids: Mapping[GridKey, object]
    keys: tuple[GridKey, ...]
    index: Mapping[GridKey, int]
    newest_ns: IntArray  # the newest bucket's time (the bucket still filling)
    length: IntArray  # bars held, the newest included
    revision: IntArray


class BarsLog:
    """The store's side: one row per mark grid, written when a bucket starts or a backfill lands."""

    def __init__(self) -> None:
        self._index: dict[GridKey, int] = {}
        self._keys: tuple[GridKey, ...] = ()
        self._frozen: Mapping[GridKey, int] = {}
        self._newest = array("q")
        self._length = array("q")
        self._revision = array("q")
        self._cols: tuple[IntArray, IntArray, IntArray] | None = None  # the last copy, until a row moves

    def set(self, key: GridKey, newest_ns: int, length: int, revision: int) -> None:
        i = self._index.get(key)
        if i is None:
            i = self._index[key] = len(self._newest)
            for col in (self._newest, self._length, self._revision):
                col.append(0)
            self._keys = ()  # made again on the next snapshot
        self._newest[i], self._length[i], self._revision[i] = newest_ns, length, revision
        self._cols = None

    def table(self, grids: Mapping[GridKey, object]) -> GridBars:
        if len(self._keys) != len(self._index):
            self._keys = tuple(self._index)
            self._frozen = dict(self._index)
        if self._cols is None:
            cols = tuple(np.array(c, dtype=np.int64) for c in (self._newest, self._length, self._revision))
            for c in cols:
                c.flags.writeable = False
            self._cols = cols[0], cols[1], cols[2]
        newest, length, revision = self._cols
        return GridBars(grids, self._keys, self._frozen, newest, length, revision)
