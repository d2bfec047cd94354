"""The simulated accounts' state: wallets and open positions (the only mutable model in the sim)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Account", "MarginMode", "Position", "PositionSide"]

PositionSide = Literal["BOTH", "LONG", "SHORT"]
MarginMode = Literal["cross", "isolated"]


@dataclass(slots=True)
class Position:
    """One open position; `qty` is signed (a hedge-mode SHORT leg is negative too)."""

    symbol: str
    side: PositionSide
    qty: float
    entry: float
    margin_mode: MarginMode
    isolated_wallet: float
    leverage: float
    update_ms: int
    realized: float = 0.0  # accumulated realized PnL (funding excluded), the `cr` of ACCOUNT_UPDATE


@dataclass(slots=True)
class Account:
    name: str
    cross_wallet: float
    positions: list[Position]
    dual_side: bool  # hedge mode: legs are LONG/SHORT instead of BOTH
    permissions: tuple[str, ...]
    update_ms: int
    created_ms: int = 0
    leverage: dict[str, float] = field(default_factory=dict)  # per symbol, also for flat symbols
    margin_calls: set[str] = field(default_factory=set)  # keys ("cross" or "SYM:SIDE") above 80 %
