"""Cost to close a position by walking the visible order book (risk-formulas §10, seed 000).

Why: a liquidation-distance alert is only actionable if the position can be cut; in a crash the
top of book thins out and the cost of getting out is the risk. A long closes into the bids, a
short into the asks; slippage is measured against the mid, in bps, positive = cost.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec
import numpy as np

from monitor.risk._num import FloatArray, as_float, quiet
from monitor.risk.reasons import Reason, ReasonArray

__all__ = ["BookWalk", "CloseCost", "close_many", "cost_to_close"]


class CloseCost(msgspec.Struct, frozen=True, kw_only=True):
    """Result of walking the book; `slippage_bps` and `cost` are NaN unless depth suffices.

    `*_visible` fields describe what the visible depth alone would fill, so a desk can see how
    far short the book is without mistaking a partial fill for the full cost.
    """

    mid: float
    avg_price: float
    slippage_bps: float
    cost: float  # |filled| × |avg − mid|, quote currency
    filled_qty: float
    sufficient: bool
    slippage_bps_visible: float
    reason: Reason


def _bad(reason: Reason, mid: float = math.nan) -> CloseCost:
    nan = math.nan
    return CloseCost(mid=mid, avg_price=nan, slippage_bps=nan, cost=nan, filled_qty=0.0, sufficient=False,
                     slippage_bps_visible=nan, reason=reason)  # fmt: skip


def cost_to_close(
    q: float, bid_px: FloatArray, bid_qty: FloatArray, ask_px: FloatArray, ask_qty: FloatArray
) -> CloseCost:
    """Walk bids (q > 0) or asks (q < 0), best level first, until |q| is filled."""
    return BookWalk(bid_px, bid_qty, ask_px, ask_qty).close(q)


class BookWalk:
    """One book checked and sorted once, for the cost to close of every position on it.

    Why: a desk holds several legs per symbol across accounts, and checking and sorting the same
    levels again for each leg was most of the cost; `close(q)` is `cost_to_close` for this book.
    """

    __slots__ = ("_bad", "_best", "_books", "_lists", "_mid", "_order", "_sides")

    def __init__(
        self,
        bid_px: FloatArray | Sequence[float],
        bid_qty: FloatArray | Sequence[float],
        ask_px: FloatArray | Sequence[float],
        ask_qty: FloatArray | Sequence[float],
    ) -> None:
        self._books = (bid_px, bid_qty, ask_px, ask_qty)  # arrays are made only for a side walked deep
        self._sides: dict[bool, tuple[FloatArray, FloatArray, FloatArray]] = {}
        self._best: dict[bool, tuple[float, float]] = {}  # (price, size) of each side's best level
        self._order: dict[bool, bool] = {}  # whether a side is already best first (`_ordered`)
        self._mid = math.nan
        self._bad: Reason | None = None
        # checked on Python floats: a few levels each, where numpy's per-call cost is most of the time
        lists = tuple(x.ravel().tolist() if isinstance(x, np.ndarray) else list(x) for x in self._books)
        self._lists = lists
        bpl, bql, apl, aql = lists
        finite = all(math.isfinite(sum(x)) or all(math.isfinite(v) for v in x) for x in (bpl, bql, apl, aql))
        if not finite:  # a finite sum has no NaN or inf in it (inf − inf is NaN); else look one by one
            self._bad = Reason.NAN_INPUT
        elif not bpl or not apl or len(bpl) != len(bql) or len(apl) != len(aql):
            self._bad = Reason.INSUFFICIENT_DEPTH
        elif min(bpl) <= 0 or min(apl) <= 0 or min(bql) < 0 or min(aql) < 0:  # no NaN by now
            self._bad = Reason.NON_POSITIVE_PRICE
        else:
            best_bid, best_ask = max(bpl), min(apl)
            if best_bid >= best_ask:
                self._bad = Reason.BAD_PARAMETER  # crossed or locked book: the mid is meaningless
            else:
                self._mid = 0.5 * (best_bid + best_ask)

    @property
    def problem(self) -> Reason | None:
        """Why no position can be walked on this book (NaN, empty, non-positive, crossed), or None."""
        return self._bad

    @property
    def mid(self) -> float:
        return self._mid

    def levels(self, long: bool) -> tuple[list[float], list[float]]:
        """(prices, sizes) of the side a long (bids) or short (asks) closes into, best level first."""
        if self._ordered(long):
            return (self._lists[0], self._lists[1]) if long else (self._lists[2], self._lists[3])
        px, qty, _ = self._side(long)
        return px.tolist(), qty.tolist()

    def _ordered(self, long: bool) -> bool:
        """The side's levels already best first, strictly (the sort would leave them as they are)."""
        got = self._order.get(long)
        if got is None:
            px = self._lists[0] if long else self._lists[2]
            got = self._order[long] = px == sorted(px, reverse=long) and len(set(px)) == len(px)
        return got

    def _side(self, long: bool) -> tuple[FloatArray, FloatArray, FloatArray]:
        side = self._sides.get(long)
        if side is None:
            px, qty = (as_float(self._books[0]), as_float(self._books[1])) if long else (
                as_float(self._books[2]), as_float(self._books[3]))  # fmt: skip
            if not self._ordered(long):
                order = np.argsort(-px) if long else np.argsort(px)
                px, qty = px[order], qty[order]
            side = self._sides[long] = (px, qty, np.concatenate([[0.0], np.cumsum(qty)[:-1]]))
        return side

    def _best_level(self, long: bool) -> tuple[float, float]:
        best = self._best.get(long)
        if best is None:
            if self._ordered(long):
                px, qty = (self._lists[0], self._lists[1]) if long else (self._lists[2], self._lists[3])
                best = (float(px[0]), float(qty[0]))
            else:
                px_a, qty_a, _ = self._side(long)
                best = (float(px_a[0]), float(qty_a[0]))
            self._best[long] = best
        return best

    def close(self, q: float) -> CloseCost:
        """Walk bids (q > 0) or asks (q < 0), best level first, until |q| is filled."""
        if not math.isfinite(q):
            return _bad(Reason.NAN_INPUT)
        if self._bad is not None:
            return _bad(self._bad)
        mid = self._mid
        if q == 0:
            return CloseCost(mid=mid, avg_price=mid, slippage_bps=0.0, cost=0.0, filled_qty=0.0,
                             sufficient=True, slippage_bps_visible=0.0, reason=Reason.OK)  # fmt: skip
        want = abs(q)
        best = self._best_level(q > 0)
        if want <= best[1]:  # filled at the best level: the walk's sums have one nonzero term, exactly
            filled, avg = want, want * best[0] / want
        else:
            px, qty, before = self._side(q > 0)
            take = np.minimum(np.maximum(want - before, 0.0), qty)  # np.clip's values, without its wrapper
            filled = float(take.sum())
            if filled == 0.0:
                return _bad(Reason.INSUFFICIENT_DEPTH, mid)
            avg = float(take @ px) / filled
        slip = (mid - avg) / mid * 1e4 if q > 0 else (avg - mid) / mid * 1e4
        enough = filled >= want * (1 - 1e-12)
        return CloseCost(
            mid=mid, avg_price=avg if enough else math.nan, slippage_bps=slip if enough else math.nan,
            cost=filled * abs(avg - mid) if enough else math.nan, filled_qty=filled, sufficient=enough,
            slippage_bps_visible=slip, reason=Reason.OK if enough else Reason.INSUFFICIENT_DEPTH,
        )  # fmt: skip


def close_many(
    q: FloatArray, px: FloatArray, qty: FloatArray, mid: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, ReasonArray]:
    """`BookWalk.close` of many positions at once: (cost, slippage bps, filled quantity, reason code).

    Row i is position q[i] (finite, nonzero) on its own book's side (`BookWalk.levels`: prices and
    sizes best first, every row of one depth) of a valid book with mid `mid[i]`. Each number is the
    float `close` gives: the sums along a row and the batched vector products are numpy's own
    (`sum(axis=1)` and `matmul` of vectors run the same summation and dot as one row alone).
    """
    qq, p, s, m = as_float(q), as_float(px), as_float(qty), as_float(mid)
    want = np.abs(qq)
    before = np.concatenate([np.zeros((s.shape[0], 1)), np.cumsum(s, axis=1)[:, :-1]], axis=1)
    take = np.minimum(np.maximum(want[:, None] - before, 0.0), s)
    filled = take.sum(axis=1)
    dot = np.matmul(take[:, None, :], p[:, :, None])[:, 0, 0]
    with quiet():
        avg = dot / filled
        slip = np.where(qq > 0, (m - avg) / m * 1e4, (avg - m) / m * 1e4)
        enough = (filled >= want * (1 - 1e-12)) & (filled != 0.0)
    cost = np.where(enough, filled * np.abs(avg - m), np.nan)
    reason = np.where(enough, Reason.OK, Reason.INSUFFICIENT_DEPTH).astype(np.int8)
    return cost, np.where(enough, slip, np.nan), filled, reason
