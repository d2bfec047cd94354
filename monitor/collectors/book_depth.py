"""Book levels from the wire: checked once at the edge, kept best first, N deep.

Shared by the venue parsers (Binance partial-depth snapshots, Bybit `orderbook.50` snapshot +
deltas). A level whose price is not a positive finite number, or whose size is negative or not
finite, makes the whole frame a `ParseError` (counted and dropped): half a book would price a
close as cheaper than it is. Zero sizes are deletions (Bybit) or empty levels, never kept.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from operator import itemgetter
from typing import Any

from monitor.errors import ParseError
from monitor.records import BookLevels, Market

__all__ = ["LocalBook", "book_levels", "parse_levels"]


def _level(row: Any, side: str) -> tuple[float, float]:
    try:
        px, qty = float(row[0]), float(row[1])
    except (TypeError, ValueError, IndexError, KeyError):
        raise ParseError("bad_number", f"{side} level {str(row)[:40]}") from None
    if not (math.isfinite(px) and px > 0) or not (math.isfinite(qty) and qty >= 0):
        raise ParseError("out_of_range", f"{side} level {px} x {qty}")
    return px, qty


def parse_levels(rows: Any, side: str) -> list[tuple[float, float]]:
    """`[["price", "size"], …]` → [(price, size)]; sizes may be 0 (the caller decides what 0 means)."""
    if not isinstance(rows, list):
        raise ParseError("schema", f"{side} levels are not a list")
    return [_level(r, side) for r in rows]


def _side(levels: Iterable[tuple[float, float]], depth: int, bids: bool) -> tuple[tuple[float, ...], ...]:
    """(prices, sizes) of the best `depth` non-empty levels; venues send them sorted, so sort only if not."""
    kept = [lv for lv in levels if lv[1] > 0]
    px = [p for p, _ in kept]
    if px != sorted(px, reverse=bids):
        kept.sort(key=itemgetter(0), reverse=bids)
    if not kept:
        return (), ()
    prices, sizes = zip(*kept[:depth], strict=True)
    return prices, sizes


def book_levels(
    *,
    venue: str,
    symbol: str,
    market: Market,
    bids: Iterable[tuple[float, float]],
    asks: Iterable[tuple[float, float]],
    depth: int,
    ts_event_ns: int,
    ts_recv_ns: int,
    update_id: int = 0,
) -> BookLevels:
    """The best `depth` non-empty levels a side, sorted best first; a crossed book is refused."""
    bid_px, bid_qty = _side(bids, depth, True)
    ask_px, ask_qty = _side(asks, depth, False)
    if bid_px and ask_px and bid_px[0] >= ask_px[0]:
        raise ParseError("crossed_book", f"{symbol} bid {bid_px[0]} >= ask {ask_px[0]}")
    return BookLevels(
        venue=venue,
        symbol=symbol,
        market=market,
        ts_event_ns=ts_event_ns,
        ts_recv_ns=ts_recv_ns,
        bid_px=bid_px,
        bid_qty=bid_qty,
        ask_px=ask_px,
        ask_qty=ask_qty,
        update_id=update_id,
    )


class LocalBook:
    """One symbol's book from a snapshot and deltas (size 0 deletes a price level)."""

    __slots__ = ("asks", "bids")

    def __init__(self) -> None:
        self.bids: dict[float, float] = {}
        self.asks: dict[float, float] = {}

    def apply(
        self, bids: Sequence[tuple[float, float]], asks: Sequence[tuple[float, float]], *, snapshot: bool
    ) -> None:
        if snapshot:
            self.bids.clear()
            self.asks.clear()
        for side, rows in ((self.bids, bids), (self.asks, asks)):
            for px, qty in rows:
                if qty == 0:
                    side.pop(px, None)
                else:
                    side[px] = qty
