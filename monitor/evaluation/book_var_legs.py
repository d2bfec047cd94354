"""The book as the VaR stage values it: its legs (spot holdings, perpetuals), their quantities and
their USD exposure and price now.

Why its own module: which legs the book holds changes only with the account records and holdings,
so it is built once and kept (`_Book`, on `BookVarKept`); each tick only prices the kept legs
(`_exposures`, the same products as `leg_exposures`) and places the refit's history legs among them
(`_weights`). The VaR figures themselves are monitor/evaluation/book_var.py. Split from book_var.py
(issue 16: no module over 400 lines), bodies unchanged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from operator import attrgetter
from typing import TYPE_CHECKING

import numpy as np

from monitor.evaluation.exposure import (
    Leg,
    MarketExposure,
    PositionKey,
    book_signature,
    market_exposures,
    spot_mid,
)
from monitor.evaluation.kept_book import book_inputs, same_book
from monitor.records import AccountSnapshot, Holding
from monitor.risk._num import FloatArray, IntArray
from monitor.store.marks import MarkTable
from monitor.store.state import Snapshot

if TYPE_CHECKING:
    from monitor.evaluation.book_var import BookVarKept

__all__ = ["leg_exposures"]


def leg_exposures(
    snap: Snapshot,
    book: dict[tuple[str, str], MarketExposure] | None = None,
    prices: dict[Leg, float] | None = None,
) -> tuple[dict[Leg, float], list[Leg]]:
    """USD exposure per leg now, and the legs without a price (they make the exposure NaN).

    `book`: the snapshot's `market_exposures`, when the caller has it already; `prices`, when
    given, receives each leg's price (the VaR self-check scores a forecast at the next step's).
    """
    out: dict[Leg, float] = {}
    unpriced: list[Leg] = []
    for (venue, symbol), e in (market_exposures(snap) if book is None else book).items():
        if e.spot_q != 0:
            px = spot_mid(snap, venue, symbol)
            out[(venue, symbol, "spot")] = e.spot_q * px
            if prices is not None:
                prices[(venue, symbol, "spot")] = px
            if not px > 0:
                unpriced.append((venue, symbol, "spot"))
        if e.positions:
            m = snap.marks.get((venue, symbol))
            px = m.mark if m is not None else math.nan
            out[(venue, symbol, "perp")] = e.perp_q * px
            if prices is not None:
                prices[(venue, symbol, "perp")] = px
            if not px > 0:
                unpriced.append((venue, symbol, "perp"))
    return out, unpriced


@dataclass(frozen=True, slots=True)
class _Book:
    """The book as markets (`market_exposures`), kept while the holdings and accounts say the same.

    Why: the account stream sends a new record each second that mostly says what the last one
    said; the markets, their signature (compared with the Monte Carlo run's) and the positions'
    labels follow from the records alone.
    """

    holdings: tuple[Holding, ...]
    names: tuple[tuple[str, str], ...]
    records: tuple[AccountSnapshot, ...]
    markets: dict[tuple[str, str], MarketExposure]  # read only
    signature: tuple[object, ...]  # `book_signature`
    positions: tuple[PositionKey, ...]  # every position, market by market
    labs: tuple[dict[str, str], ...]  # per position
    legs: tuple[Leg, ...]  # the legs `leg_exposures` values, in its order
    qty: FloatArray  # per leg: the spot holdings' or the perpetuals' base quantity
    on_spot: tuple[bool, ...]  # per leg: priced at its spot book's mid (else at the mark)
    quote_keys: tuple[tuple[str, str, str], ...]  # per leg: (venue, symbol, "spot"), its spot book's key
    markets_of: tuple[tuple[str, str], ...]  # per leg: (venue, symbol), its mark's key
    streams: tuple[tuple[str, str], ...]  # per leg: its mark stream (the figures' freshness)
    spot_at: IntArray  # the legs priced at their spot book's mid, and those books' keys
    spot_keys: tuple[tuple[str, str, str], ...]
    perp_at: IntArray  # the legs priced at their mark, and those marks' keys
    perp_keys: tuple[tuple[str, str], ...]


def _book(snap: Snapshot, kept: BookVarKept) -> _Book:
    inputs = book_inputs(snap)
    old = kept.book
    if same_book(old, inputs):
        return old
    names, holdings, records = inputs
    markets = market_exposures(snap)
    positions = tuple(pk for e in markets.values() for pk, _q in e.positions)
    legs: list[tuple[Leg, float]] = []
    for (venue, symbol), e in markets.items():  # as `leg_exposures` walks them
        if e.spot_q != 0:
            legs.append(((venue, symbol, "spot"), e.spot_q))
        if e.positions:
            legs.append(((venue, symbol, "perp"), e.perp_q))
    kept.book = _Book(
        holdings=holdings,
        names=names,
        records=records,
        markets=markets,
        signature=book_signature(markets),
        positions=positions,
        labs=tuple({"venue": v, "account": a, "symbol": s, "side": d} for v, a, s, d in positions),
        legs=tuple(leg for leg, _q in legs),
        qty=np.array([q for _leg, q in legs], dtype=np.float64),
        on_spot=tuple(leg[2] == "spot" for leg, _q in legs),
        quote_keys=tuple((v, s, "spot") for (v, s, _kind), _q in legs),
        markets_of=tuple((v, s) for (v, s, _kind), _q in legs),
        streams=tuple((v, f"mark:{s}") for (v, s, _kind), _q in legs),
        spot_at=np.array([i for i, (leg, _q) in enumerate(legs) if leg[2] == "spot"], dtype=np.intp),
        spot_keys=tuple((v, s, "spot") for (v, s, kind), _q in legs if kind == "spot"),
        perp_at=np.array([i for i, (leg, _q) in enumerate(legs) if leg[2] != "spot"], dtype=np.intp),
        perp_keys=tuple((v, s) for (v, s, kind), _q in legs if kind != "spot"),
    )
    return kept.book


def _exposures(snap: Snapshot, book: _Book) -> tuple[FloatArray, FloatArray]:
    """USD exposure and price per leg now: `leg_exposures` over the kept legs (the same products).

    Spot legs at their book's mid (`spot_mid`: 0.5·(bid + ask), the same two operations per element
    here), perpetuals at the mark; NaN without one.
    """
    p = np.empty(len(book.legs), dtype=np.float64)
    quotes = list(map(snap.quotes.get, book.spot_keys))
    if None in quotes:
        p[book.spot_at] = [0.5 * (q.bid + q.ask) if q is not None else math.nan for q in quotes]
    elif quotes:
        n = len(quotes)
        p[book.spot_at] = 0.5 * (
            np.fromiter(map(_BID, quotes), np.float64, n) + np.fromiter(map(_ASK, quotes), np.float64, n)
        )
    if isinstance(snap.marks, MarkTable):  # the store's columns (monitor/store/marks.py)
        p[book.perp_at] = snap.marks.marks_at(book.perp_keys)
        return book.qty * p, p
    marks = list(map(snap.marks.get, book.perp_keys))
    if None in marks:
        p[book.perp_at] = [m.mark if m is not None else math.nan for m in marks]
    elif marks:
        p[book.perp_at] = np.fromiter(map(_MARK, marks), np.float64, len(marks))
    return book.qty * p, p


_BID, _ASK, _MARK = attrgetter("bid"), attrgetter("ask"), attrgetter("mark")


def _weights(book: _Book, history: tuple[Leg, ...], exposure: FloatArray, kept: BookVarKept) -> FloatArray:
    """The exposure of each leg the history holds, 0 for a leg the book no longer holds.

    Where each leg of the refit's history sits among the book's legs is kept per history and book.
    """
    held = kept.weights
    if held is not None and held[0] is history and held[1] is book:
        at = held[2]
    else:
        index = {leg: i for i, leg in enumerate(book.legs)}
        at = np.array([index.get(leg, -1) for leg in history], dtype=np.intp)
        kept.weights = (history, book, at)
    w = np.zeros(at.size)
    got = at >= 0
    w[got] = exposure[at[got]]
    return w
