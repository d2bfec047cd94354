"""Order-book depth around the simulated top of book: REST `depth`, and the partial-depth streams.

The simulator only models the best bid and ask (`Quote`); deeper levels step away one price tick at
a time with sizes that grow with distance, a plausible shape and nothing more. Level 0 is always the
book ticker's bid/ask, so every view of the book agrees at the top. Prices are written with the
tick's decimals and sizes with the lot's, as the venue writes its depth.
"""

from __future__ import annotations

from typing import Any

from monitor.sim.market import Quote
from monitor.sim.symbols import SymbolSpec

__all__ = [
    "DEPTH_LIMITS",
    "PARTIAL_LEVELS",
    "futures_partial_depth",
    "levels",
    "rest_depth",
    "spot_partial_depth",
]

DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)  # REST `limit` values the venue accepts
PARTIAL_LEVELS = (5, 10, 20)  # `<symbol>@depth<N>` streams


def _decimals(step: str) -> int:
    return len(step.partition(".")[2])


def levels(q: Quote, spec: SymbolSpec, n: int, spot: bool = False) -> tuple[list[list[str]], list[list[str]]]:
    """`n` bid and `n` ask levels as [price, size] strings, best first."""
    tick = float(spec.spot_tick if spot else spec.tick)
    pd = _decimals(spec.spot_tick if spot else spec.tick)
    qd = _decimals(spec.spot_step if spot else spec.step)
    bid, ask = (q.spot_bid, q.spot_ask) if spot else (q.bid, q.ask)
    bid_qty, ask_qty = (q.spot_bid_qty, q.spot_ask_qty) if spot else (q.bid_qty, q.ask_qty)
    bids: list[list[str]] = []
    asks: list[list[str]] = []
    for i in range(n):
        grow = 1.0 + 0.5 * i
        if bid - i * tick > 0:
            bids.append([f"{bid - i * tick:.{pd}f}", f"{max(bid_qty, 10**-qd) * grow:.{qd}f}"])
        asks.append([f"{ask + i * tick:.{pd}f}", f"{max(ask_qty, 10**-qd) * grow:.{qd}f}"])
    return bids, asks


def rest_depth(q: Quote, spec: SymbolSpec, limit: int) -> dict[str, Any]:
    """`GET /fapi/v1/depth`."""
    bids, asks = levels(q, spec, limit)
    return {"lastUpdateId": q.update_id, "E": q.time_ms, "T": q.time_ms, "bids": bids, "asks": asks}


def futures_partial_depth(q: Quote, spec: SymbolSpec, n: int) -> dict[str, Any]:
    """Futures `<symbol>@depth<N>[@100ms|@500ms]`: a `depthUpdate` carrying the top N levels."""
    bids, asks = levels(q, spec, n)
    return {
        "e": "depthUpdate",
        "E": q.time_ms,
        "T": q.time_ms,
        "s": q.symbol,
        "U": q.update_id,
        "u": q.update_id,
        "pu": q.update_id - 1,
        "b": bids,
        "a": asks,
    }


def spot_partial_depth(q: Quote, spec: SymbolSpec, n: int) -> dict[str, Any]:
    """Spot `<symbol>@depth<N>[@100ms]`: no event type, just the snapshot."""
    bids, asks = levels(q, spec, n, spot=True)
    return {"lastUpdateId": q.update_id, "bids": bids, "asks": asks}
