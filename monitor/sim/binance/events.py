"""User-data-stream event payloads (USDⓈ-M), built from engine facts.

Shapes follow the venue docs and ccxt's annotated samples (venues.md §2.3): prices and amounts are
strings, times are int milliseconds. ACCOUNT_UPDATE carries only what changed; a cross FUNDING_FEE
carries no `P` at all. Liquidation fills use a client id starting `autoclose-` and order type
LIQUIDATION with execution type CALCULATED, as the venue reports forced closes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from monitor.sim.book import Position
from monitor.sim.numfmt import f8, fnum

__all__ = [
    "BalanceDelta",
    "PositionDelta",
    "account_update",
    "liquidation_order_update",
    "listen_key_expired",
    "margin_call",
]


@dataclass(frozen=True, slots=True)
class BalanceDelta:
    wallet: float  # wb: wallet balance
    cross_wallet: float  # cw
    change: float  # bc: change other than PnL and commission


@dataclass(frozen=True, slots=True)
class PositionDelta:
    symbol: str
    side: str
    qty: float
    entry: float
    realized: float  # cr: accumulated realized
    upnl: float
    margin_mode: str
    isolated_wallet: float


def account_update(
    now_ms: int, reason: str, balance: BalanceDelta, positions: Sequence[PositionDelta]
) -> dict[str, Any]:
    a: dict[str, Any] = {
        "m": reason,
        "B": [
            {"a": "USDT", "wb": f8(balance.wallet), "cw": f8(balance.cross_wallet), "bc": f8(balance.change)}
        ],
    }
    if positions:
        a["P"] = [
            {
                "s": p.symbol,
                "pa": fnum(p.qty),
                "ep": f8(p.entry),
                "bep": f8(p.entry),
                "cr": f8(p.realized),
                "up": f8(p.upnl),
                "mt": p.margin_mode,
                "iw": f8(p.isolated_wallet),
                "ps": p.side,
                "ma": "USDT",
            }
            for p in positions
        ]
    return {"e": "ACCOUNT_UPDATE", "E": now_ms, "T": now_ms, "a": a}


def liquidation_order_update(
    now_ms: int, order_id: int, pos: Position, price: float, fee: float, realized: float
) -> dict[str, Any]:
    qty = fnum(abs(pos.qty))
    return {
        "e": "ORDER_TRADE_UPDATE",
        "E": now_ms,
        "T": now_ms,
        "o": {
            "s": pos.symbol,
            "c": f"autoclose-{now_ms}{order_id}",
            "S": "SELL" if pos.qty > 0 else "BUY",
            "o": "LIQUIDATION",
            "f": "IOC",
            "q": qty,
            "p": f8(price),
            "ap": f8(price),
            "sp": "0",
            "x": "CALCULATED",
            "X": "FILLED",
            "i": order_id,
            "l": qty,
            "z": qty,
            "L": f8(price),
            "N": "USDT",
            "n": f8(fee),
            "T": now_ms,
            "t": order_id,
            "b": "0",
            "a": "0",
            "m": False,
            "R": True,
            "wt": "CONTRACT_PRICE",
            "ot": "LIQUIDATION",
            "ps": pos.side,
            "cp": False,
            "rp": f8(realized),
            "pP": False,
            "si": 0,
            "ss": 0,
            "V": "NONE",
            "pm": "NONE",
            "gtd": 0,
        },
    }


def margin_call(
    now_ms: int, cross_wallet: float | None, rows: Sequence[tuple[Position, float, float, float]]
) -> dict[str, Any]:
    """rows: (position, mark, upnl, maintenance margin); `cw` only for cross, as the venue sends."""
    out: dict[str, Any] = {"e": "MARGIN_CALL", "E": now_ms}
    if cross_wallet is not None:
        out["cw"] = f8(cross_wallet)
    out["p"] = [
        {
            "s": p.symbol,
            "ps": p.side,
            "pa": fnum(p.qty),
            "mt": "CROSSED" if p.margin_mode == "cross" else "ISOLATED",
            "iw": f8(p.isolated_wallet if p.margin_mode == "isolated" else 0.0),
            "mp": f8(mark),
            "up": f8(upnl),
            "mm": f8(mm),
        }
        for p, mark, upnl, mm in rows
    ]
    return out


def listen_key_expired(now_ms: int, listen_key: str) -> dict[str, Any]:
    return {"e": "listenKeyExpired", "E": now_ms, "listenKey": listen_key}
