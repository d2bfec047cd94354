"""Bybit v5 wire formats → perpmon records, parsed once at the edge.

Bybit differs from Binance in ways the parser has to absorb, not the collector:

* every REST reply is an envelope (`retCode`, `retMsg`, `result`, `time`); a non-zero `retCode`
  arrives with HTTP 200, so it is checked here and becomes `ParseError("venue_error")`;
* `tickers.{symbol}` on linear sends a snapshot, then deltas carrying *only changed fields*: the
  record is built from the merged state (`TickerBook`), and a delta before any snapshot is
  dropped (`delta_before_snapshot`) rather than turned into a half-known ticker;
* the funding interval rides on the ticker (`fundingIntervalHour`) and on the instrument
  (`fundingInterval`, minutes) — hourly symbols exist, so it is never assumed;
* risk-limit tiers quote rates as fractions in current replies and as percents in older docs
  (`"maintenanceMargin": "0.5"` beside `"maxLeverage": "100.00"`); the unit is told from
  `initialMargin` ≈ 1 / `maxLeverage`, never guessed from the magnitude alone.

Numbers are strings; one that is not finite (or not positive where a price must be) is a
`ParseError("out_of_range")`, counted and dropped, never stored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec

from monitor.collectors.account_book import AccountUpdate, BalanceChange, LegChange
from monitor.collectors.book_depth import LocalBook, book_levels, parse_levels
from monitor.collectors.fields import finite
from monitor.collectors.tier_reply import TierReply, ladder
from monitor.errors import ParseError
from monitor.records import (
    Balance,
    BookLevels,
    Bracket,
    FundingInfo,
    LeverageTiers,
    Market,
    MarkPrice,
    Position,
    PositionSide,
    Quote,
    Record,
)

__all__ = [
    "AuthReply",
    "DepthBooks",
    "TickerBook",
    "parse_instruments",
    "parse_orderbook",
    "parse_position_list",
    "parse_private_frame",
    "parse_public_frame",
    "parse_risk_limits",
    "parse_tickers",
    "parse_wallet_balance",
    "result_of",
]

NS_PER_MS = 1_000_000
_SIDES: dict[int, PositionSide] = {0: "BOTH", 1: "LONG", 2: "SHORT"}


@dataclass(frozen=True, slots=True)
class AuthReply:
    """The private socket's answer to `op: auth`."""

    success: bool
    message: str


def _decode(raw: bytes | str) -> Any:
    try:
        return msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise ParseError("malformed_json") from None


def _opt(row: Mapping[str, Any], field: str, *, positive: bool = False) -> float:
    """An optional numeric field: NaN when absent or empty (Bybit sends "" for "not applicable")."""
    value = row.get(field)
    if value is None or value == "":
        return math.nan
    return finite(value, field, positive=positive)


def result_of(body: Any, what: str) -> Mapping[str, Any]:
    """The `result` of a v5 REST envelope; a non-zero `retCode` is the venue refusing."""
    if not isinstance(body, Mapping):
        raise ParseError("schema", f"{what}: not an object")
    code = body.get("retCode")
    if code not in (0, "0"):
        raise ParseError("venue_error", f"{what}: retCode={code} {str(body.get('retMsg', ''))[:120]}")
    res = body.get("result")
    if not isinstance(res, Mapping):
        raise ParseError("schema", f"{what}: no result")
    return res


def _rows(res: Mapping[str, Any], what: str) -> list[Mapping[str, Any]]:
    rows = res.get("list")
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise ParseError("schema", f"{what}: result.list is not a list of objects")
    return rows


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
    frame = _decode(raw)
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
    for row in _rows(res, "tickers"):
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
    for row in _rows(res, "instruments-info"):
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
                cap=_opt(row, "upperFundingRate"),
                floor=_opt(row, "lowerFundingRate"),
            )
        )
    return out


# ---------------------------------------------------------------- risk limits


def _rate_scale(rows: list[Mapping[str, Any]]) -> float:
    """1 when the tier rates are fractions, 0.01 when they are percents (see the module doc)."""
    for r in rows:
        im, lev = _opt(r, "initialMargin"), _opt(r, "maxLeverage", positive=True)
        if im > 0 and lev > 0:
            return 1.0 if abs(im - 1 / lev) <= abs(im / 100 - 1 / lev) else 0.01
    return 1.0


def parse_risk_limits(body: Any, account: str, venue: str, ts_recv_ns: int) -> TierReply:
    """REST `/v5/market/risk-limit?category=linear`: tiers by position value, per symbol.

    ``{"id":1,"symbol":"BTCUSDT","riskLimitValue":"2000000","maintenanceMargin":"0.005",
    "initialMargin":"0.01","isLowestRisk":1,"maxLeverage":"100.00","mmDeduction":""}``: a tier
    covers position values up to `riskLimitValue`; `mmDeduction` plays Binance's `cum`. A bad row
    rejects its symbol's tiers alone (a symbol's tiers are one ladder: half of it is no answer).
    """
    res = result_of(body, "risk-limit")
    rows = res.get("list")
    if not isinstance(rows, list):
        raise ParseError("schema", "risk-limit: result.list is not a list")
    out = TierReply()
    by_symbol: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        if isinstance(row, Mapping):
            by_symbol.setdefault(str(row.get("symbol") or "?"), []).append(row)
        else:
            out.rejected.append(("?", ParseError("schema", "risk-limit row is not an object")))
    for symbol, rows in by_symbol.items():
        try:
            if symbol == "?":
                raise ParseError("schema", "risk-limit row without a symbol")
            out.tiers.append(_risk_ladder(symbol, rows, account, venue, ts_recv_ns))
        except ParseError as exc:
            out.rejected.append((symbol, exc))
    return out


def _risk_ladder(
    symbol: str, rows: list[Mapping[str, Any]], account: str, venue: str, ts_recv_ns: int
) -> LeverageTiers:
    scale = _rate_scale(rows)
    rows = sorted(rows, key=lambda r: finite(r.get("riskLimitValue"), "riskLimitValue", positive=True))
    tiers, floor = [], 0.0
    for r in rows:
        cap = finite(r["riskLimitValue"], "riskLimitValue", positive=True)
        mmr = finite(r.get("maintenanceMargin"), "maintenanceMargin") * scale
        ded = _opt(r, "mmDeduction")
        if not (0 <= mmr < 1) or cap <= floor:
            raise ParseError("out_of_range", f"risk-limit {symbol} mmr={mmr} cap={cap}")
        tiers.append(
            Bracket(
                floor=floor,
                cap=cap,
                mmr=mmr,
                cum=0.0 if math.isnan(ded) else ded,
                max_leverage=_opt(r, "maxLeverage", positive=True),
            )
        )
        floor = cap
    return ladder(tuple(tiers), venue=venue, account=account, symbol=symbol, ts_recv_ns=ts_recv_ns)


# ---------------------------------------------------------------- account: positions and wallet


def _leg(row: Mapping[str, Any]) -> tuple[PositionSide, float, float, bool]:
    """(side, signed qty, entry, isolated) of one position row; qty 0 for a flat slot."""
    try:
        idx = int(row.get("positionIdx", 0))
    except (TypeError, ValueError):
        raise ParseError("schema", f"positionIdx={row.get('positionIdx')!r}") from None
    side = _SIDES.get(idx)
    if side is None:
        raise ParseError("out_of_range", f"positionIdx={idx}")
    size = finite(row.get("size"), "size")
    if size < 0:
        raise ParseError("out_of_range", f"size={size}")
    direction = row.get("side")
    if size != 0 and direction not in ("Buy", "Sell"):
        raise ParseError("schema", f"side={direction!r} with size {size}")
    qty = size if direction == "Buy" else -size
    entry_field = "avgPrice" if "avgPrice" in row else "entryPrice"
    entry = finite(row.get(entry_field), entry_field, positive=size != 0)
    return side, qty, entry, int(row.get("tradeMode", 0) or 0) == 1


def _position_margin(row: Mapping[str, Any]) -> float:
    """An isolated leg's margin: `positionBalance` when the venue sends it, else `positionIM`."""
    bal = _opt(row, "positionBalance")
    return bal if bal > 0 else max(0.0, _opt(row, "positionIM") if "positionIM" in row else 0.0)


def _position(row: Mapping[str, Any]) -> Position | None:
    side, qty, entry, isolated = _leg(row)
    if qty == 0:
        return None
    liq = _opt(row, "liqPrice")
    return Position(
        symbol=str(row["symbol"]),
        side=side,
        qty=qty,
        entry_price=entry,
        margin_mode="isolated" if isolated else "cross",
        isolated_wallet=_position_margin(row) if isolated else 0.0,
        leverage=_opt(row, "leverage"),
        venue_mark_price=_opt(row, "markPrice"),
        venue_liquidation_price=liq if liq > 0 else math.nan,
        venue_maint_margin=_opt(row, "positionMM"),
        venue_unrealized_pnl=_opt(row, "unrealisedPnl"),
    )


def parse_position_list(body: Any) -> tuple[tuple[Position, ...], str]:
    """REST `/v5/position/list?category=linear&settleCoin=USDT`: open legs and the next page cursor.

    ``{"positionIdx":0,"symbol":"BTCUSDT","side":"Sell","size":"300","avgPrice":"27464.5",
    "tradeMode":0,"leverage":"10","positionBalance":"0.00139186","markPrice":"28224.50","liqPrice":"",
    "positionMM":"0.0000015","positionIM":"0.00010923","unrealisedPnl":"-0.00029413",…}``
    `liqPrice` "" (or "0") means the venue shows none.
    """
    res = result_of(body, "position/list")
    out = []
    for row in _rows(res, "position/list"):
        try:
            p = _position(row)
        except KeyError as exc:
            raise ParseError("schema", f"position/list: {exc!r}") from None
        if p is not None:
            out.append(p)
    return tuple(out), str(res.get("nextPageCursor") or "")


def _balances(account: Mapping[str, Any]) -> list[Balance]:
    coins = account.get("coin")
    if not isinstance(coins, list):
        raise ParseError("schema", "wallet without coin list")
    out = []
    for c in coins:
        if not isinstance(c, Mapping) or "coin" not in c:
            raise ParseError("schema", "wallet coin without a name")
        wb = finite(c.get("walletBalance", "0"), "walletBalance")
        out.append(
            Balance(
                asset=str(c["coin"]),
                wallet_balance=wb,
                cross_wallet_balance=wb,  # one unified wallet: isolated margin is not carved out
                unrealized_pnl=_opt(c, "unrealisedPnl"),
                available_balance=_opt(c, "availableToWithdraw"),
            )
        )
    return out


def parse_wallet_balance(body: Any) -> tuple[Balance, ...]:
    """REST `/v5/account/wallet-balance?accountType=UNIFIED`: one balance per coin of `list[0]`."""
    res = result_of(body, "wallet-balance")
    rows = _rows(res, "wallet-balance")
    return tuple(b for account in rows for b in _balances(account))


def parse_private_frame(raw: bytes | str) -> AccountUpdate | AuthReply | None:
    """One frame of the private socket: `position` and `wallet` become account deltas.

    Both topics carry absolute values for what changed (a position row is the whole leg; a wallet
    row lists whole coins), so they merge into the account book like Binance's ACCOUNT_UPDATE.
    ``{"topic":"position","creationTime":1697682317044,"data":[{"positionIdx":2,"symbol":"BTCUSDT",
    "side":"","size":"0","entryPrice":"0",…,"category":"linear"}]}``. Control replies yield
    nothing except the auth answer; other categories (inverse, option) are ignored.
    """
    frame = _decode(raw)
    if not isinstance(frame, Mapping):
        raise ParseError("schema", "frame is not an object")
    topic = frame.get("topic")
    if topic is None:
        op = frame.get("op")
        if op == "auth":
            return AuthReply(bool(frame.get("success")), str(frame.get("ret_msg", ""))[:200])
        if frame.get("success") is False:
            raise ParseError("venue_error", f"{op}: {str(frame.get('ret_msg', ''))[:200]}")
        if op is not None or "success" in frame:
            return None
        raise ParseError("schema", "frame without topic")
    data = frame.get("data")
    if not isinstance(data, list) or not all(isinstance(d, Mapping) for d in data):
        raise ParseError("schema", f"{topic} without a data list")
    event_ms = int(finite(frame.get("creationTime", 0), "creationTime"))
    if topic == "position":
        legs = []
        for row in data:
            if row.get("category", "linear") != "linear":
                continue
            try:
                side, qty, entry, isolated = _leg(row)
                legs.append(
                    LegChange(
                        symbol=str(row["symbol"]),
                        side=side,
                        qty=qty,
                        entry=entry,
                        margin_mode="isolated" if isolated else "cross",
                        isolated_wallet=_position_margin(row) if isolated else 0.0,
                        unrealized_pnl=_opt(row, "unrealisedPnl"),
                    )
                )
            except KeyError as exc:
                raise ParseError("schema", f"position: {exc!r}") from None
        return AccountUpdate(event_ms=event_ms, reason="position", balances=(), legs=tuple(legs))
    if topic == "wallet":
        changes = tuple(
            BalanceChange(asset=b.asset, wallet=b.wallet_balance, cross_wallet=b.cross_wallet_balance)
            for account in data
            for b in _balances(account)
        )
        return AccountUpdate(event_ms=event_ms, reason="wallet", balances=changes, legs=())
    raise ParseError("unknown_stream", str(topic))
