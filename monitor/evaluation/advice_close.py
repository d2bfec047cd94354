"""The cost to close every advice leg by walking its market's perpetual book (levels, else the top).

Why its own module: walking the books is the advice stage's largest job, with its own state (the
books stacked per shape from the store's `BookTable`, checked as `BookWalk` checks, kept in
`AdviceKept`); the figures it adds are monitor/evaluation/advice.py's close_* columns. Split from
advice.py (issue 16: no module over 400 lines), bodies unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from itertools import chain
from operator import attrgetter

import numpy as np

from monitor.evaluation.advice_kept import _SHARED, AdviceKept, _column
from monitor.evaluation.advice_legs import AdviceLegs
from monitor.evaluation.sink import FigureSink
from monitor.risk._num import FloatArray, IntArray, quiet
from monitor.risk.liquidity import BookWalk, close_many
from monitor.risk.reasons import Reason
from monitor.store.books import BookLayout, BookTable
from monitor.store.state import Snapshot


def _walk(snap: Snapshot, key: tuple[str, str], kept: AdviceKept) -> BookWalk | None:
    """Each perpetual book checked and sorted once, kept while the store hands back the same records."""
    levels = snap.books.get((*key, "perp"))
    book = snap.quotes.get((*key, "perp"))
    held = kept.walks.get(key)
    if held is not None and held[0] is levels and held[1] is book:
        return held[2]
    if levels is not None and levels.bid_px and levels.ask_px:
        walk = BookWalk(levels.bid_px, levels.bid_qty, levels.ask_px, levels.ask_qty)
    elif book is not None:
        walk = BookWalk([book.bid], [book.bid_size], [book.ask], [book.ask_size])
    else:
        walk = None
    if len(kept.walks) > 8192:
        kept.walks.clear()
    kept.walks[key] = (levels, book, walk)
    return walk


def _close_costs(snap: Snapshot, legs: AdviceLegs, sink: FigureSink, kept: AdviceKept) -> None:
    """Cost to close every leg by walking its market's perpetual book (levels, else the top of book).

    The legs on valid books are walked together (`liquidity.close_many`), grouped by the depth and
    side of their book. Books of one shape are checked together as one array (`_Books`): building a
    `BookWalk` per market each tick (every book is a new record each second) was most of the stage.
    The rest (a bad, odd or unsorted book, a quantity that is not a number) goes to `BookWalk`.
    """
    n = len(legs.positions)
    nan = math.nan
    cost, slip, fill = np.full(n, nan), np.full(n, nan), np.full(n, nan)
    why, fill_why = ["no_perp_book"] * n, ["no_perp_book"] * n
    ok_fill = (Reason.OK, Reason.INSUFFICIENT_DEPTH)
    books = _Books(snap, legs.mkeys, kept)
    mk, qc = legs.mk, legs.qc
    long = qc > 0
    shape = books.shape[mk]
    fast = (
        (shape >= 0)
        & np.isfinite(qc)
        & (qc != 0)
        & np.where(long, books.bids_first[mk], books.asks_first[mk])
    )
    batches: list[tuple[list[int], FloatArray, FloatArray, FloatArray]] = []
    for s in range(len(books.cols)):
        for side in (True, False):
            js = np.flatnonzero(fast & (shape == s) & (long == side))
            if js.size:
                batches.append((js.tolist(), *books.side(s, side, books.row[mk[js]])))
    groups: dict[tuple[int, bool], list[int]] = {}
    walks: dict[int, BookWalk | None] = {}
    for j in np.flatnonzero(~fast & ~books.none[mk]).tolist():
        m, q = int(mk[j]), float(qc[j])
        walk = walks[m] if m in walks else walks.setdefault(m, _walk(snap, legs.mkeys[m], kept))
        if walk is None:
            continue
        if walk.problem is None and q != 0 and math.isfinite(q):
            groups.setdefault((len(walk.levels(q > 0)[0]), q > 0), []).append(j)
            continue
        cc = walk.close(q)
        w = "" if cc.reason == Reason.OK else cc.reason.name.lower()
        f = cc.filled_qty / abs(q) if cc.reason in ok_fill else math.nan
        cost[j], slip[j], fill[j], why[j] = cc.cost, cc.slippage_bps, f, w
        fill_why[j] = "" if math.isfinite(f) else w
    for (_depth, side), js_walked in groups.items():
        at_walk: dict[int, int] = {}
        walked: list[BookWalk] = []
        for j in js_walked:
            m = int(mk[j])
            walk = walks[m]
            if m not in at_walk and walk is not None:
                at_walk[m] = len(walked)
                walked.append(walk)
        at = np.array([at_walk[int(mk[j])] for j in js_walked], dtype=np.intp)
        levels = [b.levels(side) for b in walked]
        batches.append((
            js_walked,
            np.array([x[0] for x in levels], dtype=np.float64)[at],
            np.array([x[1] for x in levels], dtype=np.float64)[at],
            np.array([b.mid for b in walked], dtype=np.float64)[at],
        ))  # fmt: skip
    for js_batch, px, qty, mid in batches:
        qb = qc[js_batch]
        c, sl, filled, code = close_many(qb, px, qty, mid)
        frac = filled / np.abs(qb)
        cost[js_batch], slip[js_batch], fill[js_batch] = c, sl, frac
        short = (code != Reason.OK).tolist()
        finite = np.isfinite(frac).tolist()
        for j, s_, fin in zip(js_batch, short, finite, strict=True):
            w = "insufficient_depth" if s_ else ""
            why[j] = w
            fill_why[j] = "" if fin else w
    _column(kept, sink, "close_cost_usd", legs.lab, cost, why)
    _column(kept, sink, "close_slippage_bps", legs.lab, slip, why)
    _column(kept, sink, "close_visible_fill_ratio", legs.lab, fill, fill_why)


def _perp_keys(
    mkeys: tuple[tuple[str, str], ...], kept: AdviceKept | None = None
) -> tuple[tuple[str, str, str], ...]:
    """(venue, symbol, "perp") per market of the kept legs: the books' keys, made once per book shape."""
    kept = _SHARED if kept is None else kept
    held = kept.perp_keys
    if held is not None and held[0] is mkeys:
        return held[1]
    keys = tuple((v, s, "perp") for v, s in mkeys)
    kept.perp_keys = (mkeys, keys)
    return keys


_SIDES = attrgetter("bid_px", "bid_qty", "ask_px", "ask_qty")


Stacked = list[tuple[tuple[int, int], list[int], FloatArray]]  # per book shape: its markets, their rows


def _gather(
    snap: Snapshot, keys: tuple[tuple[str, str, str], ...], kept: AdviceKept | None = None
) -> tuple[list[bool], Stacked]:
    """Per market whether it has no book; per shape (bid depth, ask depth) its markets and their sides.

    Each market's row is its bid prices, bid sizes, ask prices and ask sizes side by side. The
    store's `BookTable` holds the rows already (`_table_rows`); a snapshot built from plain records
    (what-if, tests) has them stacked here, in a few C-level passes when every book is levels of one
    depth (a desk's usual case), else market by market.
    """
    n = len(keys)
    table = snap.books
    if isinstance(table, BookTable):
        by_shape, rest = _table_rows(table.layout, keys, _SHARED if kept is None else kept)
        shape = table.layout.shapes
        out: Stacked = [(shape[s], ms, table.arrays[s][rows]) for s, (ms, rows) in by_shape.items()]
        none, shapes = _by_market(snap, keys, rest)
        return none, out + _stack(shapes)
    books = list(map(table.get, keys))
    if books and None not in books:
        flat: list[Sequence[float]] = list(chain.from_iterable(map(_SIDES, books)))
        lens = list(map(len, flat))
        nb, na = lens[0], lens[2]
        if nb and na and lens == [nb, nb, na, na] * n:
            return [False] * n, _stack({(nb, na): (list(range(n)), flat)})
    none, shapes = _by_market(snap, keys, range(n))
    return none, _stack(shapes)


def _stack(shapes: dict[tuple[int, int], tuple[list[int], list[Sequence[float]]]]) -> Stacked:
    out: Stacked = []
    for (nb, na), (ms, sides) in shapes.items():
        width = 2 * (nb + na)
        a = np.fromiter(chain.from_iterable(sides), np.float64, len(ms) * width).reshape(len(ms), width)
        out.append(((nb, na), ms, a))
    return out


def _by_market(
    snap: Snapshot, keys: tuple[tuple[str, str, str], ...], ms: Iterable[int]
) -> tuple[list[bool], dict[tuple[int, int], tuple[list[int], list[Sequence[float]]]]]:
    """Markets `ms` one at a time: levels with both sides, else the top of book, else no book."""
    quotes, books = snap.quotes.get, snap.books.get
    none = [False] * len(keys)
    shapes: dict[tuple[int, int], tuple[list[int], list[Sequence[float]]]] = {}
    for m in ms:
        key = keys[m]
        lv = books(key)
        if lv is not None and lv.bid_px and lv.ask_px:
            sides: tuple[Sequence[float], ...] = (lv.bid_px, lv.bid_qty, lv.ask_px, lv.ask_qty)
        else:
            qt = quotes(key)
            if qt is None:
                none[m] = True
                continue
            sides = ((qt.bid,), (qt.bid_size,), (qt.ask,), (qt.ask_size,))
        nb, na = len(sides[0]), len(sides[2])
        if len(sides[1]) != nb or len(sides[3]) != na:
            continue  # `BookWalk` says insufficient_depth
        got = shapes.get((nb, na))
        if got is None:
            got = shapes[(nb, na)] = ([], [])
        got[0].append(m)
        got[1].extend(sides)
    return none, shapes


def _table_rows(
    layout: BookLayout, keys: tuple[tuple[str, str, str], ...], kept: AdviceKept
) -> tuple[dict[int, tuple[list[int], IntArray]], list[int]]:
    """Per array of the layout, the markets in it and their rows; and the markets with no row (kept
    while the markets and the layout are the same)."""
    held = kept.table_rows
    if held is not None and held[0] is keys and held[1] is layout:
        return held[2], held[3]
    by_shape: dict[int, tuple[list[int], list[int]]] = {}
    rest: list[int] = []
    for m, key in enumerate(keys):
        at = layout.at.get(key)
        if at is None:
            rest.append(m)
            continue
        got = by_shape.setdefault(at[0], ([], []))
        got[0].append(m)
        got[1].append(at[1])
    rows = {s: (ms, np.array(r, dtype=np.intp)) for s, (ms, r) in by_shape.items()}
    kept.table_rows = (keys, layout, rows, rest)
    return rows, rest


class _Books:
    """The perpetual books of the legs' markets, as one array per book shape, checked as `BookWalk` checks.

    A market's book is its levels (`BookLevels`, both sides non-empty), else its top of book; its
    shape is the two sides' depths. Books whose price and size columns have equal lengths are
    stacked per shape and checked together: every value finite, no price ≤ 0 nor size < 0, not
    crossed; the mid is (best bid + best ask)/2, and a side is ordered when strictly best first, as
    in `BookWalk`. Per market: `shape` (−1 unless its book passed), `row` in that shape's arrays,
    whether each side is best first, and `none` (no book at all). The rest go to `BookWalk`.
    """

    def __init__(self, snap: Snapshot, mkeys: tuple[tuple[str, str], ...], kept: AdviceKept) -> None:
        n = len(mkeys)
        shape, row = np.full(n, -1, dtype=np.intp), np.zeros(n, dtype=np.intp)
        none, stacked = _gather(snap, _perp_keys(mkeys, kept), kept)
        self.cols: list[tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]] = []
        bids_first, asks_first = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        for s, ((nb, na), ms, a) in enumerate(stacked):
            bp, bq, ap, aq = a[:, :nb], a[:, nb : 2 * nb], a[:, 2 * nb : 2 * nb + na], a[:, 2 * nb + na :]
            with quiet():
                best_bid, best_ask = bp.max(axis=1), ap.min(axis=1)
                positive = (bp.min(axis=1) > 0) & (ap.min(axis=1) > 0)
                sized = (bq.min(axis=1) >= 0) & (aq.min(axis=1) >= 0)
                good = np.isfinite(a).all(axis=1) & positive & sized & (best_bid < best_ask)
            self.cols.append((bp, bq, ap, aq, 0.5 * (best_bid + best_ask)))
            at = np.array(ms, dtype=np.intp)
            shape[at] = np.where(good, s, -1)
            row[at] = np.arange(len(ms))
            bids_first[at] = np.all(np.diff(bp, axis=1) < 0, axis=1)
            asks_first[at] = np.all(np.diff(ap, axis=1) > 0, axis=1)
        self.shape, self.row, self.none = shape, row, np.array(none, dtype=bool)
        self.bids_first, self.asks_first = bids_first, asks_first

    def side(self, shape: int, long: bool, rows: IntArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(prices, sizes, mid) of the given rows' side a long (bids) or short (asks) closes into."""
        bp, bq, ap, aq, mid = self.cols[shape]
        return (bp[rows], bq[rows], mid[rows]) if long else (ap[rows], aq[rows], mid[rows])
