"""Cost to close a position by walking the visible order book (risk-formulas §10, seed 000).

Why: a liquidation-distance alert is only actionable if the position can be cut; in a crash the
top of book thins out and the cost of getting out is the risk. A long closes into the bids, a
short into the asks; slippage is measured against the mid, in bps, positive = cost.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np

from monitor.risk._num import FloatArray, as_float
from monitor.risk.reasons import Reason

__all__ = ["CloseCost", "cost_to_close"]


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
    bp, bq, ap, aq = as_float(bid_px), as_float(bid_qty), as_float(ask_px), as_float(ask_qty)
    if not math.isfinite(q) or not all(np.all(np.isfinite(x)) for x in (bp, bq, ap, aq)):
        return _bad(Reason.NAN_INPUT)
    if bp.size == 0 or ap.size == 0 or bp.size != bq.size or ap.size != aq.size:
        return _bad(Reason.INSUFFICIENT_DEPTH)
    if np.any(bp <= 0) or np.any(ap <= 0) or np.any(bq < 0) or np.any(aq < 0):
        return _bad(Reason.NON_POSITIVE_PRICE)
    best_bid, best_ask = float(bp.max()), float(ap.min())
    if best_bid >= best_ask:
        return _bad(Reason.BAD_PARAMETER)  # crossed or locked book: the mid is meaningless
    mid = 0.5 * (best_bid + best_ask)
    if q == 0:
        return CloseCost(mid=mid, avg_price=mid, slippage_bps=0.0, cost=0.0, filled_qty=0.0, sufficient=True,
                         slippage_bps_visible=0.0, reason=Reason.OK)  # fmt: skip
    order = np.argsort(-bp) if q > 0 else np.argsort(ap)
    px, qty = (bp, bq) if q > 0 else (ap, aq)
    px, qty = px[order], qty[order]
    want = abs(q)
    before = np.concatenate([[0.0], np.cumsum(qty)[:-1]])
    take = np.clip(want - before, 0.0, qty)
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
