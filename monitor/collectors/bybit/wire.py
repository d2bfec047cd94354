"""Bybit v5 market data → perpmon records, parsed once at the edge: the public sockets' frames and
the REST replies that seed or confirm them (the envelope and numbers: `envelope`; accounts:
`account_wire`).

Bybit differs from Binance in ways the parser has to absorb, not the collector:

* `tickers.{symbol}` on linear sends a snapshot, then deltas carrying *only changed fields*: the
  record is built from the merged state (`TickerBook`), and a delta before any snapshot is
  dropped (`delta_before_snapshot`) rather than turned into a half-known ticker;
* the funding interval rides on the ticker (`fundingIntervalHour`) and on the instrument
  (`fundingInterval`, minutes) — hourly symbols exist, so it is never assumed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from monitor.collectors.book_depth import LocalBook, book_levels, parse_levels
from monitor.collectors.bybit.envelope import NS_PER_MS, decode, optional, result_of, rows_of
from monitor.collectors.fields import finite
from monitor.errors import ParseError
from monitor.records import BookLevels, FundingInfo, Instrument, Market, MarkPrice, Quote, Record

__all__ = [
    "DepthBooks",
    "TickerBook",
    "parse_instruments",
    "parse_orderbook",
    "parse_public_frame",
    "parse_tick_sizes",
    "parse_tickers",
]


# ---------------------------------------------------------------- public: tickers


# wire field → (state slot, must be positive); "" means "not applicable" (NaN, or 0 for a time)
_TICKER_FIELDS: dict[str, tuple[str, bool]] = {
    "markPrice": ("mark", True),
    "indexPrice": ("index", True),
    "fundingRate": ("rate", False),
    "nextFundingTime": ("next_ms", False),
    "bid1Price": ("bid", True),
    "bid1Size": ("bid_size", False),
    "ask1Price": ("ask", True),
    "ask1Size": ("ask_size", False),
    "fundingIntervalHour": ("interval_h", True),
    "fundingCap": ("cap", False),
}
_FUNDING_SLOTS = frozenset({"interval_h", "cap"})


class _Ticker:
    """One symbol's merged ticker, already parsed: a delta converts only the fields it carries."""

    __slots__ = (
        "ask",
        "ask_size",
        "bid",
        "bid_size",
        "cap",
        "index",
        "interval_h",
        "mark",
        "next_ms",
        "rate",
    )

    def __init__(self) -> None:
        nan = math.nan
        self.mark = self.index = self.rate = self.interval_h = self.cap = nan
        self.bid = self.bid_size = self.ask = self.ask_size = nan
        self.next_ms = 0.0


def _changes(data: Mapping[str, Any]) -> dict[str, float]:
    """The known fields of a ticker payload, parsed and checked before any is merged."""
    out: dict[str, float] = {}
    for field, value in data.items():
        slot = _TICKER_FIELDS.get(field)
        if slot is None:
            continue
        name, positive = slot
        if value == "" or value is None:
            out[name] = 0.0 if name == "next_ms" else math.nan
        else:
            out[name] = finite(value, field, positive=positive)
    return out


class TickerBook:
    """The merged ticker per symbol: snapshot, then deltas of changed fields only.

    One per socket: a new connection re-subscribes and gets a fresh snapshot, which replaces the
    state, so a delta missed during a gap cannot linger. A delta that fails to parse changes
    nothing (its fields are all checked before any is applied).
    """

    def __init__(self) -> None:
        self._state: dict[str, _Ticker] = {}

    def merge(self, symbol: str, kind: str, data: Mapping[str, Any]) -> tuple[_Ticker, bool]:
        """The merged state and whether the funding interval or cap arrived in this frame."""
        changes = _changes(data)
        if kind == "snapshot":
            state = self._state[symbol] = _Ticker()
        elif kind == "delta":
            found = self._state.get(symbol)
            if found is None:
                raise ParseError("delta_before_snapshot", symbol)
            state = found
        else:
            raise ParseError("schema", f"ticker type {kind!r}")
        for name, value in changes.items():
            setattr(state, name, value)
        return state, not _FUNDING_SLOTS.isdisjoint(changes)

    def forget(self) -> None:
        self._state.clear()


def _ticker_records(
    symbol: str, t: _Ticker, funding_changed: bool, ts_ms: int, venue: str, ts_recv_ns: int
) -> list[Record]:
    event_ns = ts_ms * NS_PER_MS if ts_ms > 0 else ts_recv_ns
    out: list[Record] = []
    if t.mark == t.mark and t.index == t.index:  # both known (NaN until a frame carries them)
        out.append(
            MarkPrice(
                venue=venue,
                symbol=symbol,
                ts_event_ns=event_ns,
                ts_recv_ns=ts_recv_ns,
                mark=t.mark,
                index=t.index,
                funding_rate=t.rate,
                next_funding_ns=int(t.next_ms) * NS_PER_MS,
            )
        )
    bid, ask = t.bid, t.ask
    if bid == bid and ask == ask and t.bid_size == t.bid_size and t.ask_size == t.ask_size:
        if bid > ask:
            raise ParseError("crossed_book", f"{symbol} bid {bid} > ask {ask}")
        out.append(
            Quote(
                venue=venue,
                symbol=symbol,
                market="perp",
                ts_event_ns=event_ns,
                ts_recv_ns=ts_recv_ns,
                bid=bid,
                bid_size=t.bid_size,
                ask=ask,
                ask_size=t.ask_size,
            )
        )
    if funding_changed and t.interval_h == t.interval_h:
        out.append(
            FundingInfo(
                venue=venue,
                symbol=symbol,
                ts_event_ns=event_ns,
                ts_recv_ns=ts_recv_ns,
                interval_s=t.interval_h * 3600.0,
                cap=abs(t.cap),
                floor=-abs(t.cap),
            )
        )
    return out


def _orderbook_records(frame: Mapping[str, Any], venue: str, ts_recv_ns: int) -> list[Record]:
    """`orderbook.1.{symbol}` (spot book top): ``{"topic":"orderbook.1.BTCUSDT","type":"snapshot",
    "ts":1672304484978,"data":{"s":"BTCUSDT","b":[["16493.50","0.006"]],"a":[["16611.00","0.029"]],
    "u":18521288,"seq":7961638724},"cts":1672304484976}`` — at depth 1 every push is a snapshot."""
    data = frame.get("data")
    if not isinstance(data, Mapping):
        raise ParseError("schema", "orderbook without data")
    try:
        (bid, bid_size), (ask, ask_size) = data["b"][0], data["a"][0]
    except (KeyError, IndexError, TypeError, ValueError):
        return []  # an empty side: no top of book to report (not an error, not life either)
    b, a = finite(bid, "b", positive=True), finite(ask, "a", positive=True)
    if b > a:
        raise ParseError("crossed_book", f"{data.get('s')} bid {b} > ask {a}")
    ts_ms = int(finite(frame.get("ts", 0), "ts"))
    return [
        Quote(
            venue=venue,
            symbol=str(data.get("s", "")),
            market="spot",
            ts_event_ns=ts_ms * NS_PER_MS if ts_ms > 0 else ts_recv_ns,
            ts_recv_ns=ts_recv_ns,
            bid=b,
            bid_size=finite(bid_size, "b.size"),
            ask=a,
            ask_size=finite(ask_size, "a.size"),
            update_id=int(finite(data.get("u", 0), "u")),
        )
    ]


class DepthBooks:
    """The `orderbook.{N}` (N > 1) books of one socket: a snapshot, then deltas merged per symbol.

    ``{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1687940967466,"data":{"s":"BTCUSDT",
    "b":[["30247.20","30.028"],["30245.40","0"]],"a":[["30248.70","0"]],"u":177400507,
    "seq":66544703342},"cts":1687940967464}`` — size "0" deletes the level; `u` 1 is a snapshot
    after the venue's restart. A delta before any snapshot, or not newer than the last applied
    (the other socket of a make-before-break overlap), changes nothing. Each message yields the
    best `depth` levels as `BookLevels`.
    """

    def __init__(self, depth: int, market: Market = "perp") -> None:
        self.depth = depth
        self.market: Market = market
        self._books: dict[str, LocalBook] = {}
        self._u: dict[str, int] = {}

    def records(self, frame: Mapping[str, Any], venue: str, ts_recv_ns: int) -> list[Record]:
        data = frame.get("data")
        if not isinstance(data, Mapping):
            raise ParseError("schema", "orderbook without data")
        symbol = str(data.get("s", ""))
        u = int(finite(data.get("u", 0), "u"))
        bids, asks = parse_levels(data.get("b", []), "b"), parse_levels(data.get("a", []), "a")
        snapshot = frame.get("type") == "snapshot" or u == 1
        book = self._books.get(symbol)
        if not snapshot and (book is None or u <= self._u.get(symbol, 0)):
            return []
        if book is None:
            book = self._books[symbol] = LocalBook()
        book.apply(bids, asks, snapshot=snapshot)
        self._u[symbol] = u
        ts_ms = int(finite(frame.get("ts", 0), "ts"))
        return [
            book_levels(
                venue=venue, symbol=symbol, market=self.market, bids=book.bids.items(),
                asks=book.asks.items(), depth=self.depth, ts_recv_ns=ts_recv_ns, update_id=u,
                ts_event_ns=ts_ms * NS_PER_MS if ts_ms > 0 else ts_recv_ns,
            )
        ]  # fmt: skip


def parse_public_frame(
    raw: bytes | str, ts_recv_ns: int, *, venue: str, book: TickerBook, depth: DepthBooks | None = None
) -> list[Record]:
    """One frame of the public linear (or spot) socket.

    Ticker snapshot (docs): ``{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT",
    "markPrice":"66666.60","indexPrice":"115418.19","fundingIntervalHour":"8","fundingCap":"0.005",
    "nextFundingTime":"1760342400000","fundingRate":"-0.005","bid1Price":"66666.60","bid1Size":
    "23789.165","ask1Price":"66666.70","ask1Size":"23775.469",…},"cs":9532239429,"ts":1760325052630}``;
    a delta carries only the fields that changed. Control replies (``{"success":true,"op":
    "subscribe"}``, the pong of ``op: ping``) yield nothing; a refused subscription is `venue_error`.
    """
    frame = decode(raw)
    if type(frame) is not dict:
        raise ParseError("schema", "frame is not an object")
    topic = frame.get("topic")
    if topic is None:
        if "op" in frame or "success" in frame:
            if frame.get("success") is False:
                raise ParseError("venue_error", str(frame.get("ret_msg", ""))[:200])
            return []
        raise ParseError("schema", "frame without topic")
    topic = str(topic)
    if topic.startswith("orderbook.") and not topic.startswith("orderbook.1."):
        if depth is None:
            raise ParseError("unknown_stream", topic)
        return depth.records(frame, venue, ts_recv_ns)
    if topic.startswith("orderbook."):
        return _orderbook_records(frame, venue, ts_recv_ns)
    if not topic.startswith("tickers."):
        raise ParseError("unknown_stream", topic)
    data = frame.get("data")
    if type(data) is not dict:
        raise ParseError("schema", f"{topic} without data object")
    symbol = topic.removeprefix("tickers.")
    if data.get("symbol", symbol) != symbol:
        raise ParseError("schema", f"{topic} carries {data.get('symbol')!r}")
    kind = str(frame.get("type", "snapshot"))  # spot and option tickers are snapshots without a type
    ts_ms = int(finite(frame.get("ts", 0), "ts"))
    state, funding_changed = book.merge(symbol, kind, data)
    return _ticker_records(symbol, state, funding_changed, ts_ms, venue, ts_recv_ns)


def parse_tickers(body: Any, venue: str, ts_recv_ns: int, symbols: Iterable[str]) -> list[Record]:
    """REST `/v5/market/tickers?category=linear`: seeds marks and intervals before the socket speaks."""
    res = result_of(body, "tickers")
    wanted = set(symbols)
    ts_ms = int(finite(body.get("time", 0), "time"))
    out: list[Record] = []
    book = TickerBook()
    for row in rows_of(res, "tickers"):
        symbol = row.get("symbol")
        if symbol in wanted:
            state, funding = book.merge(str(symbol), "snapshot", row)
            out += _ticker_records(str(symbol), state, funding, ts_ms, venue, ts_recv_ns)
    return out


def parse_orderbook(body: Any, venue: str, ts_recv_ns: int, depth: int) -> BookLevels:
    """REST `/v5/market/orderbook?category=linear&symbol=…`: the book's best `depth` levels.

    ``{"retCode":0,"result":{"s":"BTCUSDT","b":[["65485.47","47.081829"]],"a":[["65557.7",
    "16.606555"]],"ts":1716863719031,"u":230704,"seq":1432604333,"cts":1716863718905},"time":…}``.
    Stamped with the reply's `time` (when the venue vouched for the book), as `parse_tickers` is.
    """
    res = result_of(body, "orderbook")
    ts_ms = int(finite(body.get("time", 0), "time"))
    return book_levels(
        venue=venue,
        symbol=str(res.get("s", "")),
        market="perp",
        bids=parse_levels(res.get("b", []), "b"),
        asks=parse_levels(res.get("a", []), "a"),
        depth=depth,
        ts_recv_ns=ts_recv_ns,
        update_id=int(finite(res.get("u", 0), "u")),
        ts_event_ns=ts_ms * NS_PER_MS if ts_ms > 0 else ts_recv_ns,
    )


def parse_instruments(body: Any, venue: str, ts_recv_ns: int, symbols: Iterable[str]) -> list[FundingInfo]:
    """REST `/v5/market/instruments-info?category=linear`: `fundingInterval` in minutes, rate bounds.

    ``{"symbol":"BTCUSDT","contractType":"LinearPerpetual","fundingInterval":480,
    "upperFundingRate":"0.005","lowerFundingRate":"-0.005",…}``
    """
    res = result_of(body, "instruments-info")
    wanted = set(symbols)
    out = []
    for row in rows_of(res, "instruments-info"):
        sym = row.get("symbol")
        if sym not in wanted:
            continue
        minutes = finite(row.get("fundingInterval"), "fundingInterval", positive=True)
        out.append(
            FundingInfo(
                venue=venue,
                symbol=str(sym),
                ts_event_ns=ts_recv_ns,
                ts_recv_ns=ts_recv_ns,
                interval_s=minutes * 60.0,
                cap=optional(row, "upperFundingRate"),
                floor=optional(row, "lowerFundingRate"),
            )
        )
    return out


def parse_tick_sizes(
    body: Any, venue: str, market: Market, ts_recv_ns: int, symbols: Iterable[str]
) -> list[Instrument]:
    """REST `/v5/market/instruments-info` (linear or spot): each watched symbol's price tick.

    ``{"symbol":"BTCUSDT","priceScale":"2","priceFilter":{"minPrice":"0.10","maxPrice":"1999999.80",
    "tickSize":"0.10"},…}`` (spot: ``"priceFilter":{"tickSize":"0.01"}``). The tick is kept as a
    number: "0.10" and `priceScale` 2 still mean a 0.1 grid. A row without a valid tickSize gets no
    record.
    """
    res = result_of(body, "instruments-info")
    wanted = set(symbols)
    out = []
    for row in rows_of(res, "instruments-info"):
        sym = row.get("symbol")
        pf = row.get("priceFilter")
        if sym not in wanted or not isinstance(pf, Mapping):
            continue
        try:
            tick = finite(pf.get("tickSize"), "tickSize", positive=True)
        except ParseError:
            continue
        out.append(
            Instrument(
                venue=venue,
                symbol=str(sym),
                market=market,
                ts_event_ns=ts_recv_ns,
                ts_recv_ns=ts_recv_ns,
                tick=tick,
            )
        )
    return out
