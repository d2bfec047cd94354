"""The typed records that cross stage boundaries.

Data flows one way: collectors → store → evaluator → rules → notifiers. The evaluator's figures
and the rules' alert events are `figure_records.py`'s, re-exported here. Every record is a frozen
msgspec struct, built once and never changed. Time is two integers: `ts_event_ns` (the venue's
stamp, converted in the parser) and `ts_recv_ns` (our clock at receipt), so staleness and
venue latency are both measurable. Prices and amounts are floats (the store is float64); the
venue's strings are parsed exactly once, in the collector.

Quantities are signed base units (long > 0, short < 0); rates are fractions (0.0001 = 1 bp).
"""

from __future__ import annotations

import enum
import math
from typing import Literal

import msgspec

# the records after the evaluator, re-exported: every stage imports its records from here
from monitor.figure_records import AlertEvent, AlertState, Figure, FigureKey, Figures, Severity

__all__ = [
    "AccountSnapshot",
    "AlertEvent",
    "AlertState",
    "Balance",
    "BarHistory",
    "BookLevels",
    "Bracket",
    "FeedState",
    "FeedStatus",
    "Figure",
    "FigureKey",
    "Figures",
    "Fill",
    "FillKind",
    "FundingInfo",
    "Holding",
    "Instrument",
    "LeverageTiers",
    "MarginCall",
    "MarginCallPosition",
    "MarkPrice",
    "Position",
    "Quote",
    "Record",
    "SettledFunding",
    "Severity",
]

NAN = math.nan

MarginMode = Literal["cross", "isolated"]
PositionSide = Literal["BOTH", "LONG", "SHORT"]
Market = Literal["spot", "perp"]


class _Rec(msgspec.Struct, frozen=True, kw_only=True):
    venue: str
    ts_event_ns: int
    ts_recv_ns: int


class MarkPrice(_Rec, frozen=True, kw_only=True, tag=True):
    """Mark and index price and the running funding estimate (Binance `markPriceUpdate`)."""

    symbol: str
    mark: float
    index: float
    funding_rate: float = NAN  # estimate for the interval in progress
    next_funding_ns: int = 0


class Quote(_Rec, frozen=True, kw_only=True, tag=True):
    """Top of book; `market` tells spot from perp books of the same symbol."""

    symbol: str
    market: Market
    bid: float
    bid_size: float
    ask: float
    ask_size: float
    update_id: int = 0  # the venue's book update id (`u`); 0 when the venue sends none


class BookLevels(_Rec, frozen=True, kw_only=True, tag=True):
    """The top levels of one book, best first: what closing a position would walk through.

    A `Quote` (top of book) cannot price a close larger than the best level; these can, up to
    their depth. Sides are parallel tuples (price, size in base units or contracts as the venue
    quotes them); a side may be shorter than the depth asked for, never unsorted.
    """

    symbol: str
    market: Market
    bid_px: tuple[float, ...]
    bid_qty: tuple[float, ...]
    ask_px: tuple[float, ...]
    ask_qty: tuple[float, ...]
    update_id: int = 0  # the venue's book update id; 0 when it sends none


class FundingInfo(_Rec, frozen=True, kw_only=True, tag=True):
    """The symbol's funding interval: data from the venue, never a constant."""

    symbol: str
    interval_s: float
    cap: float = NAN
    floor: float = NAN


class Instrument(_Rec, frozen=True, kw_only=True, tag=True):
    """A symbol's price tick from the venue's instrument metadata: a price is written with its decimals.

    Binance PRICE_FILTER tickSize, Bybit priceFilter.tickSize, ccxt's precision.price (TICK_SIZE
    mode). `market` tells a perpetual's tick from its spot book's (BTCUSDT: 0.1 and 0.01).
    """

    symbol: str
    market: Market
    tick: float  # > 0


class Bracket(msgspec.Struct, frozen=True, kw_only=True):
    """One maintenance-margin tier: applies for floor ≤ notional < cap (notional at mark)."""

    floor: float
    cap: float
    mmr: float
    cum: float
    max_leverage: float


class LeverageTiers(_Rec, frozen=True, kw_only=True, tag=True):
    """The account's brackets for a symbol (they can differ per account: `notionalCoef`)."""

    account: str
    symbol: str
    brackets: tuple[Bracket, ...]


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """One position leg as the venue reports it; `qty` is signed base units."""

    symbol: str
    side: PositionSide
    qty: float
    entry_price: float
    margin_mode: MarginMode
    isolated_wallet: float = 0.0
    leverage: float = NAN
    contract_size: float = 1.0
    inverse: bool = False  # qty in contracts of `contract_size` USD each, margined in `margin_asset`
    margin_asset: str = ""  # the coin an inverse leg is margined in (BTC); "": the account's quote
    venue_mark_price: float = NAN
    venue_liquidation_price: float = NAN  # NaN when the venue shows none ("0")
    venue_maint_margin: float = NAN
    venue_unrealized_pnl: float = NAN


class Balance(msgspec.Struct, frozen=True, kw_only=True):
    """One collateral asset of an account."""

    asset: str
    wallet_balance: float
    cross_wallet_balance: float = NAN
    unrealized_pnl: float = NAN
    available_balance: float = NAN


class AccountSnapshot(_Rec, frozen=True, kw_only=True, tag=True):
    """A complete picture of one account: it replaces everything known before.

    Because it is complete, a position missing from it has gone (closed or liquidated), and
    the store can say so instead of silently forgetting it (freqtrade#7107).
    """

    account: str
    positions: tuple[Position, ...]
    balances: tuple[Balance, ...]


class Holding(_Rec, frozen=True, kw_only=True, tag=True):
    """Off-exchange holdings (custody, cold wallets), from config or MQTT; `venue` is the source.

    A source owns its names: the store keys holdings by (source, name), so a pushed message can
    never remove or replace a holding declared in config.toml.
    """

    name: str
    asset: str
    quantity: float
    price_venue: str  # whose spot price values it
    price_symbol: str
    cleared: bool = False  # the source withdrew this holding (the other fields then mean nothing)
    max_age_s: float | None = None  # older than this (from ts_recv_ns), figures built on it are not fresh


class FeedState(enum.StrEnum):
    UP = "up"
    STALE = "stale"
    DOWN = "down"


class FeedStatus(_Rec, frozen=True, kw_only=True, tag=True):
    """A collector's own word on one stream: up, stale (silent too long) or down."""

    stream: str
    state: FeedState
    reason: str = ""


FillKind = Literal["liquidation", "adl", "trade"]


class Fill(_Rec, frozen=True, kw_only=True, tag=True):
    """A fill on an account's position (user data stream `ORDER_TRADE_UPDATE`).

    `kind` says who traded: the venue's liquidation engine (client id `autoclose-…`), auto-
    deleveraging (`adl_autoclose…`) or the account itself. The store uses the last fill on a leg to
    tell a liquidated position from a closed one when it disappears.
    """

    account: str
    symbol: str
    side: PositionSide
    kind: FillKind
    qty: float  # filled in this event, base units, unsigned
    price: float
    order_side: Literal["BUY", "SELL"]


class MarginCallPosition(msgspec.Struct, frozen=True, kw_only=True):
    """One leg named in a margin call, with the venue's mark and maintenance margin."""

    symbol: str
    side: PositionSide
    qty: float
    margin_mode: MarginMode
    isolated_wallet: float
    mark_price: float
    unrealized_pnl: float
    maint_margin: float


class MarginCall(_Rec, frozen=True, kw_only=True, tag=True):
    """The venue's margin call (advisory; it may arrive after the liquidation already happened)."""

    account: str
    cross_wallet: float  # NaN for an isolated call
    positions: tuple[MarginCallPosition, ...]


class BarHistory(_Rec, frozen=True, kw_only=True, tag=True):
    """Closed candles fetched from the venue's history (start-up and reconnect backfill).

    `opens_ns` are the bars' open times (oldest first), `closes` their closing prices; `series` says
    which grid they fill: "mark" (mark-price candles) or "spot" (spot candles, the basis's other leg).
    A backfilled bar is history, not a heartbeat: the store puts it on the grid and never counts it
    as the stream having spoken, so a silent feed stays stale.
    """

    symbol: str
    series: Literal["mark", "spot"]
    interval_s: float
    opens_ns: tuple[int, ...]
    closes: tuple[float, ...]


class SettledFunding(_Rec, frozen=True, kw_only=True, tag=True):
    """The venue's settled funding history for one symbol: (funding time, rate), oldest first."""

    symbol: str
    times_ns: tuple[int, ...]
    rates: tuple[float, ...]


Record = (
    MarkPrice
    | Quote
    | BookLevels
    | FundingInfo
    | LeverageTiers
    | AccountSnapshot
    | Holding
    | FeedStatus
    | Fill
    | MarginCall
    | BarHistory
    | SettledFunding
    | Instrument
)
