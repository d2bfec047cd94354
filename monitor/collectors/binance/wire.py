"""Binance USDⓈ-M and spot wire formats → perpmon records, parsed once at the edge: the market
streams (combined frames, partial depth) and the public REST replies; account replies are in
`account_wire.py`.

Each parser shows a trimmed raw sample in its docstring. Numbers arrive as strings and are
checked: a price that is not a positive finite number is a `ParseError("out_of_range")`, counted
and dropped, never stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import msgspec

from monitor.collectors.book_depth import book_levels
from monitor.collectors.fields import finite
from monitor.errors import ParseError
from monitor.records import (
    FundingInfo,
    Instrument,
    Market,
    MarkPrice,
    Quote,
    Record,
)

__all__ = [
    "DEFAULT_FUNDING_INTERVAL_S",
    "parse_combined_frame",
    "parse_depth_frame",
    "parse_exchange_info",
    "parse_funding_info",
    "parse_premium_index",
]

DEFAULT_FUNDING_INTERVAL_S = 8 * 3600.0  # Binance lists only adjusted symbols in fundingInfo
NS_PER_MS = 1_000_000


class _Data(msgspec.Struct):
    """The fields of `markPriceUpdate` and `bookTicker` together: one decode per frame, checked after.

    The venue sends numbers as strings; the decoder turns them into floats in C (`strict=False`),
    which is the most expensive step done in Python otherwise.
    """

    s: str = ""
    e: str = ""
    E: int = 0
    T: int = 0
    p: float | None = None  # mark
    i: float | None = None  # index
    r: float | None = None  # funding estimate
    u: int = 0  # book update id
    b: float | None = None
    B: float | None = None
    a: float | None = None
    A: float | None = None


class _Combined(msgspec.Struct):
    stream: str
    data: _Data


_combined = msgspec.json.Decoder(_Combined, strict=False)
_INF = math.inf


def _opt(row: dict[str, Any], field: str) -> float:
    """An optional numeric field: NaN when the venue leaves it out."""
    return finite(row[field], field) if field in row else math.nan


def _mark_record(m: _Data, venue: str, ts_recv_ns: int) -> MarkPrice:
    if m.e != "markPriceUpdate":
        raise ParseError("unexpected_event", m.e)
    if not m.s or m.p is None or m.i is None or not m.E:
        raise ParseError("schema", "markPriceUpdate without s, p, i or E")
    if not (0 < m.p < _INF and 0 < m.i < _INF) or (m.r is not None and not -_INF < m.r < _INF):
        raise ParseError("out_of_range", f"{m.s} p={m.p} i={m.i} r={m.r}")
    return MarkPrice(
        venue=venue,
        symbol=m.s,
        ts_event_ns=m.E * NS_PER_MS,
        ts_recv_ns=ts_recv_ns,
        mark=m.p,
        index=m.i,
        funding_rate=m.r if m.r is not None else math.nan,
        next_funding_ns=m.T * NS_PER_MS,
    )


def _book_record(b: _Data, venue: str, market: str, ts_recv_ns: int) -> Quote:
    bid, bid_size, ask, ask_size = b.b, b.B, b.a, b.A
    if not b.s or bid is None or bid_size is None or ask is None or ask_size is None:
        raise ParseError("schema", "bookTicker without s, b, B, a or A")
    if not (0 < bid < _INF and 0 < ask < _INF and -_INF < bid_size < _INF and -_INF < ask_size < _INF):
        raise ParseError("out_of_range", f"{b.s} b={bid} B={bid_size} a={ask} A={ask_size}")
    if bid > ask:
        raise ParseError("crossed_book", f"{b.s} bid {bid} > ask {ask}")
    return Quote(
        venue=venue,
        symbol=b.s,
        market="spot" if market == "spot" else "perp",
        ts_event_ns=(b.E * NS_PER_MS) if b.E else ts_recv_ns,  # spot bookTicker carries no time
        ts_recv_ns=ts_recv_ns,
        bid=bid,
        bid_size=bid_size,
        ask=ask,
        ask_size=ask_size,
        update_id=b.u,
    )


def parse_combined_frame(raw: bytes | str, ts_recv_ns: int, venue: str, market: str) -> Iterable[Record]:
    """One frame of a combined stream (`/stream?streams=…`).

    Mark price: ``{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1562305380000,
    "s":"BTCUSDT","p":"11794.15000000","i":"11784.62659091","P":"11784.25641265","r":"0.00038167",
    "T":1562306400000}}``. Spot book (no `e`): ``{"stream":"btcusdt@bookTicker","data":{"u":400900217,
    "s":"BTCUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"}}``.
    Subscription acks (``{"result":null,"id":1}``) yield nothing; a refused subscription
    (``{"error":{…},"id":1}``) is a `venue_error`.
    """
    try:
        frame = _combined.decode(raw)
    except msgspec.ValidationError as exc:
        body = raw if isinstance(raw, bytes) else raw.encode()
        if b'"stream"' not in body:
            if b'"result"' in body:
                return ()
            if b'"error"' in body:  # a refused SUBSCRIBE: `{"error":{"code":2,"msg":"…"},"id":1}`
                raise ParseError("venue_error", body[:200].decode("utf-8", "replace")) from None
        text = str(exc)
        if "Expected `float | null`, got `str`" in text:
            raise ParseError("bad_number", text) from None
        raise ParseError("out_of_range" if "out of range" in text else "schema", text) from None
    except msgspec.DecodeError:
        raise ParseError("malformed_json") from None
    if "@markPrice" in frame.stream:
        return (_mark_record(frame.data, venue, ts_recv_ns),)
    if frame.stream.endswith("@bookTicker"):
        return (_book_record(frame.data, venue, market, ts_recv_ns),)
    raise ParseError("unknown_stream", frame.stream)


def parse_premium_index(rows: Any, venue: str, ts_recv_ns: int) -> list[MarkPrice]:
    """REST `/fapi/v1/premiumIndex` (array without symbol): seeds marks before the stream speaks.

    ``[{"symbol":"BTCUSDT","markPrice":"11793.63104562","indexPrice":"11781.80495970",
    "lastFundingRate":"0.00038246","nextFundingTime":1597392000000,"time":1597370495002}]``
    """
    out = []
    for row in rows if isinstance(rows, list) else [rows]:
        try:
            out.append(
                MarkPrice(
                    venue=venue,
                    symbol=str(row["symbol"]),
                    ts_event_ns=int(row["time"]) * NS_PER_MS,
                    ts_recv_ns=ts_recv_ns,
                    mark=finite(row["markPrice"], "markPrice", positive=True),
                    index=finite(row["indexPrice"], "indexPrice", positive=True),
                    funding_rate=_opt(row, "lastFundingRate"),
                    next_funding_ns=int(row.get("nextFundingTime", 0)) * NS_PER_MS,
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ParseError("schema", f"premiumIndex: {exc!r}") from None
    return out


def parse_funding_info(rows: Any, symbols: Iterable[str], venue: str, ts_recv_ns: int) -> list[FundingInfo]:
    """REST `/fapi/v1/fundingInfo`: only adjusted symbols are listed; the rest settle every 8 h.

    ``[{"symbol":"BLZUSDT","adjustedFundingRateCap":"0.02500000","adjustedFundingRateFloor":
    "-0.02500000","fundingIntervalHours":8,"disclaimer":false}]``
    """
    listed: dict[str, Any] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and "symbol" in row:
            listed[str(row["symbol"])] = row
    out = []
    for sym in symbols:
        row = listed.get(sym)
        raw_hours = row.get("fundingIntervalHours", 8) if row else DEFAULT_FUNDING_INTERVAL_S / 3600
        try:
            hours = float(raw_hours)
        except (TypeError, ValueError):
            raise ParseError("bad_number", f"fundingIntervalHours={raw_hours!r}") from None
        if not (math.isfinite(hours) and hours > 0):
            raise ParseError("out_of_range", f"fundingIntervalHours={hours}")
        out.append(
            FundingInfo(
                venue=venue,
                symbol=sym,
                ts_event_ns=ts_recv_ns,
                ts_recv_ns=ts_recv_ns,
                interval_s=hours * 3600.0,
                cap=finite(row["adjustedFundingRateCap"], "cap")
                if row and "adjustedFundingRateCap" in row
                else math.nan,
                floor=finite(row["adjustedFundingRateFloor"], "floor")
                if row and "adjustedFundingRateFloor" in row
                else math.nan,
            )
        )
    return out


def parse_exchange_info(
    body: Any, symbols: Iterable[str], venue: str, market: Market, ts_recv_ns: int
) -> list[Instrument]:
    """REST `exchangeInfo` (futures `/fapi/v1`, spot `/api/v3`): each watched symbol's price tick.

    Futures: ``{"symbols":[{"symbol":"BTCUSDT","pricePrecision":2,"filters":[{"minPrice":"556.80",
    "maxPrice":"4529764","filterType":"PRICE_FILTER","tickSize":"0.10"},…]}]}``; spot writes every
    number at 8 decimals: ``{"filterType":"PRICE_FILTER","minPrice":"0.01000000","maxPrice":
    "1000000.00000000","tickSize":"0.01000000"}``. The tick is kept as a number (0.1, 0.01): its
    written zeros say nothing. A symbol without a PRICE_FILTER, or with a tickSize that is not a
    positive number, gets no record: its prices fall back to significant digits, never wrong.
    """
    rows = body.get("symbols") if isinstance(body, dict) else None
    if not isinstance(rows, list):
        raise ParseError("schema", "exchangeInfo without symbols")
    wanted = set(symbols)
    out = []
    for row in rows:
        if not isinstance(row, dict) or row.get("symbol") not in wanted:
            continue
        filters = row.get("filters")
        found = [
            f
            for f in (filters if isinstance(filters, list) else [])
            if isinstance(f, dict) and f.get("filterType") == "PRICE_FILTER"
        ]
        if not found:
            continue
        try:
            tick = finite(found[0].get("tickSize"), "tickSize", positive=True)
        except ParseError:
            continue
        out.append(
            Instrument(
                venue=venue,
                symbol=str(row["symbol"]),
                market=market,
                ts_event_ns=ts_recv_ns,
                ts_recv_ns=ts_recv_ns,
                tick=tick,
            )
        )
    return out


class _DepthData(msgspec.Struct):
    s: str
    E: int = 0
    u: int = 0
    b: list[tuple[float, float]] = []
    a: list[tuple[float, float]] = []


class _DepthFrame(msgspec.Struct):
    stream: str
    data: _DepthData


_depth_frame = msgspec.json.Decoder(_DepthFrame, strict=False)  # number strings → floats in C


def _checked(levels: list[tuple[float, float]], side: str) -> list[tuple[float, float]]:
    for px, qty in levels:
        if not (px > 0 and qty >= 0 and px < _INF and qty < _INF):  # NaN fails every comparison
            raise ParseError("out_of_range", f"{side} level {px} x {qty}")
    return levels


def parse_depth_frame(raw: bytes | str, ts_recv_ns: int, venue: str, depth: int) -> list[Record]:
    """Futures partial depth `<symbol>@depth<N>@500ms` on a combined stream: the top N levels a side.

    ``{"stream":"btcusdt@depth20@500ms","data":{"e":"depthUpdate","E":1571889248277,"T":1571889248276,
    "s":"BTCUSDT","U":390497796,"u":390497878,"pu":390497794,"b":[["7403.89","0.002"],…],
    "a":[["7405.96","3.340"],…]}}`` — each frame is a whole snapshot of the top N (no local book).
    """
    try:
        frame = _depth_frame.decode(raw)
    except msgspec.ValidationError as exc:
        body = raw if isinstance(raw, bytes) else raw.encode()
        if b'"stream"' not in body:
            if b'"result"' in body:
                return []
            if b'"error"' in body:
                raise ParseError("venue_error", body[:200].decode("utf-8", "replace")) from None
        text = str(exc)
        raise ParseError("bad_number" if "got `str`" in text else "schema", text[:200]) from None
    except msgspec.DecodeError:
        raise ParseError("malformed_json") from None
    if "@depth" not in frame.stream:
        raise ParseError("unknown_stream", frame.stream[:100])
    d = frame.data
    return [
        book_levels(
            venue=venue,
            symbol=d.s,
            market="perp",
            bids=_checked(d.b, "b"),
            asks=_checked(d.a, "a"),
            depth=depth,
            ts_event_ns=d.E * NS_PER_MS if d.E > 0 else ts_recv_ns,
            ts_recv_ns=ts_recv_ns,
            update_id=d.u,
        )
    ]
