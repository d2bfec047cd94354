"""Market stream payloads by stream name, and which of them are due on a given tick.

Cadences follow the venue relative to the market tick (`tick_s` is the `@1s` cadence): `@markPrice`
every third tick, `@markPrice@1s`, `@bookTicker`, `@miniTicker` and the partial-depth `@depth<N>`
(N = 5, 10, 20, any `@100ms`/`@250ms`/`@500ms` suffix) every tick. Futures bookTicker has
`e`; spot bookTicker has none (ccxt tells them apart that way). `!markPrice@arr*` and
`!miniTicker@arr` are one JSON array frame; `!bookTicker` is one frame per symbol.
"""

from __future__ import annotations

from typing import Any, Literal

from monitor.sim.binance.depth import PARTIAL_LEVELS, futures_partial_depth, spot_partial_depth
from monitor.sim.market import Market, Quote
from monitor.sim.numfmt import f8

__all__ = ["StreamKind", "is_market_stream", "render"]

StreamKind = Literal["futures", "spot"]


def _mark_price(q: Quote) -> dict[str, Any]:
    return {
        "e": "markPriceUpdate",
        "E": q.time_ms,
        "s": q.symbol,
        "p": f8(q.mark),
        "ap": f8(q.mark),
        "P": f8(q.index),
        "i": f8(q.index),
        "r": f8(q.funding_rate),
        "T": q.next_funding_ms,
    }


def _futures_book(q: Quote) -> dict[str, Any]:
    return {
        "e": "bookTicker",
        "u": q.update_id,
        "s": q.symbol,
        "b": f8(q.bid),
        "B": f8(q.bid_qty),
        "a": f8(q.ask),
        "A": f8(q.ask_qty),
        "T": q.time_ms,
        "E": q.time_ms,
    }


def _spot_book(q: Quote) -> dict[str, Any]:
    return {
        "u": q.update_id,
        "s": q.symbol,
        "b": f8(q.spot_bid),
        "B": f8(q.spot_bid_qty),
        "a": f8(q.spot_ask),
        "A": f8(q.spot_ask_qty),
    }


def _mini_ticker(q: Quote, spot: bool) -> dict[str, Any]:
    close = q.index if spot else q.mark
    return {
        "e": "24hrMiniTicker",
        "E": q.time_ms,
        "s": q.symbol,
        "c": f8(close),
        "o": f8(q.open),
        "h": f8(q.high),
        "l": f8(q.low),
        "v": f8(q.volume),
        "q": f8(q.quote_volume),
    }


def is_market_stream(name: str) -> bool:
    """Stream names hold `@` or start with `!` (`!bookTicker`); listenKeys and ccxt's indices do not."""
    return "@" in name or name.startswith("!")


def _depth_levels(channel: str) -> int | None:
    """`depth10`, `depth5@100ms` → the level count; None for anything else (diff `depth` included)."""
    head, _, speed = channel.partition("@")
    if not head.startswith("depth") or speed not in ("", "100ms", "250ms", "500ms"):
        return None
    n = head.removeprefix("depth")
    return int(n) if n.isdigit() and int(n) in PARTIAL_LEVELS else None


def _due(every: int, tick: int) -> bool:
    return tick % every == 0


def render(name: str, kind: StreamKind, market: Market, tick: int) -> list[Any]:
    """Payloads of stream `name` due on `tick` (empty: not due, or not a stream this venue has)."""
    quotes = market.quotes
    if name.startswith("!"):
        every_symbol = list(quotes.values())
        if kind == "futures" and name in ("!markPrice@arr", "!markPrice@arr@1s"):
            return (
                [[_mark_price(q) for q in every_symbol]]
                if _due(1 if name.endswith("@1s") else 3, tick)
                else []
            )
        if name == "!bookTicker":
            return [_futures_book(q) if kind == "futures" else _spot_book(q) for q in every_symbol]
        if name == "!miniTicker@arr":
            return [[_mini_ticker(q, kind == "spot") for q in every_symbol]]
        return []
    symbol, _, channel = name.partition("@")
    q = quotes.get(symbol.upper())
    if q is None:
        return []
    if kind == "futures" and channel in ("markPrice", "markPrice@1s"):
        return [_mark_price(q)] if _due(1 if channel.endswith("@1s") else 3, tick) else []
    if channel == "bookTicker":
        return [_futures_book(q) if kind == "futures" else _spot_book(q)]
    if channel == "miniTicker":
        return [_mini_ticker(q, kind == "spot")]
    depth = _depth_levels(channel)
    if depth is not None:
        spec = market.specs[q.symbol]
        if kind == "futures":
            return [futures_partial_depth(q, spec, depth)]
        return [spot_partial_depth(q, spec, depth)]
    return []
