"""What the simulated market publishes per symbol (`Quote`), its funding settlements, and how a quote
is written from the path's state at one instant.

Split from `market.py`, which advances the path and decides *when* to publish: everything every
venue's payloads read (`Quote`) and the arithmetic from prices to the strings the venue sends
(books floored to the tick, one tick wide; 8-decimal quantizing) is here, as pure functions.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from monitor.sim.numfmt import q8
from monitor.sim.premium import impact_premium
from monitor.sim.symbols import SymbolSpec

__all__ = ["PathState", "Quote", "Settlement", "book_sizes", "build_quote", "floor_to"]


@dataclass(frozen=True, slots=True)
class Quote:
    symbol: str
    time_ms: int
    update_id: int
    mark: float
    index: float  # = spot composite
    bid: float  # futures book, around the last price
    bid_qty: float
    ask: float
    ask_qty: float
    spot_bid: float
    spot_bid_qty: float
    spot_ask: float
    spot_ask_qty: float
    funding_rate: float  # the running rate of the interval in progress
    interest_rate: float
    next_funding_ms: int
    open: float  # since the replay started (the ticker window)
    high: float
    low: float
    volume: float
    quote_volume: float
    last: float = 0.0  # the perp's last trade
    premium_index: float = 0.0


@dataclass(frozen=True, slots=True)
class Settlement:
    symbol: str
    time_ms: int
    rate: float
    mark: float


def floor_to(price: float, tick: str) -> float:
    step = float(tick)
    decimals = len(tick.partition(".")[2])
    return round(math.floor(price / step + 1e-9) * step, decimals)


@dataclass(slots=True)
class PathState:
    """What a symbol's market is at one instant of replay time."""

    last: float
    index: float
    premium: float  # last / index − 1
    crash: bool
    ma_basis: float
    mark: float = math.nan  # the user's own mark klines at this instant, when given


def book_sizes(kept: Quote | None, draw: list[float] | None, ratio: float) -> list[float]:
    """The four book sizes (bid, ask, spot bid, spot ask): `kept`'s while the market is frozen, else
    the `draw` scaled by 1/√ratio (the symbol's price ratio to the replayed path)."""
    if kept is not None:
        return [kept.bid_qty, kept.ask_qty, kept.spot_bid_qty, kept.spot_ask_qty]
    assert draw is not None  # the market draws whenever it keeps nothing
    scale = math.sqrt(ratio)
    return [x / scale for x in draw]


def build_quote(
    spec: SymbolSpec,
    st: PathState,
    mark: float,
    rate: float,
    sizes: list[float],
    prev: Quote | None,
    *,
    last: float,
    index: float,
    ratio: float,
    time_ms: int,
    update_id: int,
    next_funding_ms: int,
    volume: float,
) -> Quote:
    """One symbol's quote: books around `last` (perp) and `index` (spot) with `sizes` (bid, ask, spot
    bid, spot ask), the ticker window carried on from `prev`."""
    index = q8(index)
    bid = floor_to(last, spec.tick)
    spot_bid = floor_to(index, spec.spot_tick)
    return Quote(
        symbol=spec.symbol,
        time_ms=time_ms,
        update_id=update_id,
        mark=mark,
        index=index,
        bid=bid,
        bid_qty=round(sizes[0], spec.qty_precision),
        ask=q8(bid + float(spec.tick)),
        ask_qty=round(sizes[1], spec.qty_precision),
        spot_bid=spot_bid,
        spot_bid_qty=round(sizes[2], 5),
        spot_ask=q8(spot_bid + float(spec.spot_tick)),
        spot_ask_qty=round(sizes[3], 5),
        funding_rate=rate,
        interest_rate=spec.interest_rate,
        next_funding_ms=next_funding_ms,
        open=prev.open if prev else mark,
        high=max(prev.high, mark) if prev else mark,
        low=min(prev.low, mark) if prev else mark,
        volume=q8(volume / ratio),
        quote_volume=q8(volume * st.last / ratio),
        last=q8(last),
        premium_index=q8(impact_premium(last, index, st.crash)),
    )
