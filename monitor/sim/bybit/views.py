"""What the Bybit account engine publishes: position, wallet and liquidation views, and their sink.

Split from `accounts.py` (the engine that computes them) so that the payload builders and the
private socket, which only read these records, need not know the engine. Fields are the venue's
figures as the engine quantizes them; each comment names the `/v5` field it becomes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

__all__ = ["BybitLiquidation", "BybitPositionView", "BybitSink", "BybitWalletView", "MarginMode"]

MarginMode = Literal["REGULAR_MARGIN", "ISOLATED_MARGIN"]


@dataclass(frozen=True, slots=True)
class BybitPositionView:
    symbol: str
    position_idx: int  # 0 one-way, 1 buy side of hedge mode, 2 sell side
    side: str  # "Buy", "Sell", "" when flat
    qty: float  # signed
    size: float
    avg_price: float
    leverage: float
    isolated: bool
    mark: float
    value: float  # positionValue (entry)
    # im/mm as the venue reports them since 2025-09-02: mm at the mark value (== mm_mp), cross im too
    upnl: float
    im: float
    im_mp: float
    mm: float
    mm_mp: float
    balance: float  # positionBalance
    liq_price: float  # 0.0: none (the venue sends "")
    bust_price: float
    risk_id: int
    risk_limit: float
    mmr: float
    realised: float  # cur/cumRealisedPnl (funding included)
    created_ms: int
    updated_ms: int
    seq: int


@dataclass(frozen=True, slots=True)
class BybitWalletView:
    name: str
    margin_mode: MarginMode
    wallet: float  # totalWalletBalance (USDT = USD here)
    equity: float  # totalEquity = wallet + UPnL
    upnl: float
    initial_margin: float
    maint_margin: float
    available: float
    im_rate: float  # accountIMRate
    mm_rate: float  # accountMMRate (cross: liquidation at 1)
    realised: float
    update_ms: int


@dataclass(frozen=True, slots=True)
class BybitLiquidation:
    account: str
    symbol: str
    side: str
    qty: float
    price: float  # mark at which it was triggered
    liq_price: float  # what the venue reported just before
    loss: float  # what the account lost on it
    time_ms: int
    exec_price: float  # where the venue closed it: the bankruptcy price (isolated) or the mark (cross)
    order_id: str


# (account, topic, payload): "position" rows, the "wallet", or the "execution" of liquidations
BybitSink = Callable[[str, str, list[BybitPositionView] | BybitWalletView | list[BybitLiquidation]], None]
