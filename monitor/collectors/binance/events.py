"""Binance USDⓈ-M user data stream events → account deltas and records, parsed once at the edge.

The event type is read first (`e`); types perpmon does not use (ACCOUNT_CONFIG_UPDATE,
TRADE_LITE, STRATEGY_UPDATE …) yield nothing, since a venue adding event types is not an error.
A known event that does not validate is a `ParseError`, counted and dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import msgspec

from monitor.collectors.account_book import AccountUpdate, BalanceChange, LegChange
from monitor.errors import ParseError
from monitor.records import Fill, FillKind, MarginCall, MarginCallPosition, PositionSide

__all__ = ["ListenKeyExpired", "UserEvent", "parse_user_event"]

NS_PER_MS = 1_000_000
_SIDES = ("BOTH", "LONG", "SHORT")


@dataclass(frozen=True, slots=True)
class ListenKeyExpired:
    event_ms: int


UserEvent = AccountUpdate | Fill | MarginCall | ListenKeyExpired


class _Head(msgspec.Struct):
    e: str = ""
    E: int | str = 0


class _B(msgspec.Struct):
    a: str
    wb: str
    cw: str = ""


class _P(msgspec.Struct):
    s: str
    pa: str
    ep: str = "0"
    up: str = "0"
    mt: str = "cross"
    iw: str = "0"
    ps: str = "BOTH"


class _A(msgspec.Struct):
    m: str = ""
    B: list[_B] = []
    P: list[_P] = []


class _AccountUpdate(msgspec.Struct):
    E: int
    a: _A


class _O(msgspec.Struct):
    s: str
    c: str
    S: str
    x: str
    X: str
    o: str = ""
    ps: str = "BOTH"
    l: str = "0"  # noqa: E741 - the venue's name: last filled quantity
    L: str = "0"


class _OrderUpdate(msgspec.Struct):
    E: int
    o: _O


class _CallLeg(msgspec.Struct):
    s: str
    ps: str
    pa: str
    mt: str
    iw: str
    mp: str
    up: str
    mm: str


class _MarginCall(msgspec.Struct):
    E: int
    p: list[_CallLeg]
    cw: str = ""


_head = msgspec.json.Decoder(_Head)
_account = msgspec.json.Decoder(_AccountUpdate)
_order = msgspec.json.Decoder(_OrderUpdate)
_call = msgspec.json.Decoder(_MarginCall)


def _f(text: str, field: str) -> float:
    try:
        x = float(text)
    except ValueError:
        raise ParseError("bad_number", f"{field}={text!r}") from None
    if not math.isfinite(x):
        raise ParseError("out_of_range", f"{field}={text!r}")
    return x


def _side(ps: str) -> PositionSide:
    if ps not in _SIDES:
        raise ParseError("out_of_range", f"ps={ps!r}")
    return ps  # type: ignore[return-value]


def _mode(mt: str) -> str:
    return "isolated" if mt.lower().startswith("iso") else "cross"


def parse_user_event(raw: bytes | str, venue: str, account: str, ts_recv_ns: int) -> UserEvent | None:
    """One user-stream frame; None for events perpmon does not use."""
    try:
        head = _head.decode(raw)
        if head.e == "ACCOUNT_UPDATE":
            return _account_update(_account.decode(raw))
        if head.e == "ORDER_TRADE_UPDATE":
            return _fill(_order.decode(raw), venue, account, ts_recv_ns)
        if head.e == "MARGIN_CALL":
            return _margin_call(_call.decode(raw), venue, account, ts_recv_ns)
    except msgspec.ValidationError as exc:
        raise ParseError("schema", str(exc)) from None
    except msgspec.DecodeError:
        raise ParseError("malformed_json") from None
    if head.e == "listenKeyExpired":
        return ListenKeyExpired(int(head.E))
    return None


def _account_update(u: _AccountUpdate) -> AccountUpdate:
    """``{"e":"ACCOUNT_UPDATE","E":1667881353115,"T":1667881353112,"a":{"m":"ORDER",
    "B":[{"a":"USDT","wb":"1127.95750089","cw":"1040.82091149","bc":"0"}],
    "P":[{"s":"BTCUSDT","pa":"-0.089","ep":"19700.03933","up":"1.53058860","mt":"isolated",
    "iw":"87.13658940","ps":"BOTH"}]}}`` — a cross FUNDING_FEE has no `P`.
    """
    balances = tuple(
        BalanceChange(b.a, _f(b.wb, "wb"), _f(b.cw, "cw") if b.cw else _f(b.wb, "wb")) for b in u.a.B
    )
    legs = []
    for p in u.a.P:
        mode = _mode(p.mt)
        legs.append(
            LegChange(
                symbol=p.s,
                side=_side(p.ps),
                qty=_f(p.pa, "pa"),
                entry=_f(p.ep, "ep"),
                margin_mode=mode,  # type: ignore[arg-type]
                isolated_wallet=_f(p.iw, "iw") if mode == "isolated" else 0.0,
                unrealized_pnl=_f(p.up, "up"),
            )
        )
    return AccountUpdate(u.E, u.a.m, balances, tuple(legs))


def _fill(u: _OrderUpdate, venue: str, account: str, ts_recv_ns: int) -> Fill | None:
    """``{"e":"ORDER_TRADE_UPDATE","E":…,"o":{"s":"BTCUSDT","c":"autoclose-1700…","S":"SELL",
    "o":"LIQUIDATION","x":"CALCULATED","X":"FILLED","l":"2","L":"27000.1","ps":"BOTH",…}}`` — only
    executions (TRADE, or CALCULATED for liquidation and ADL) become fills.
    """
    o = u.o
    if o.x not in ("TRADE", "CALCULATED"):
        return None
    qty = _f(o.l, "l")
    if qty <= 0:
        return None
    kind: FillKind = "trade"
    if o.c.startswith("autoclose-") or o.o == "LIQUIDATION":
        kind = "liquidation"
    elif o.c.startswith("adl_autoclose") or o.o == "ADL":
        kind = "adl"
    if o.S not in ("BUY", "SELL"):
        raise ParseError("out_of_range", f"S={o.S!r}")
    return Fill(
        venue=venue,
        account=account,
        ts_event_ns=u.E * NS_PER_MS,
        ts_recv_ns=ts_recv_ns,
        symbol=o.s,
        side=_side(o.ps),
        kind=kind,
        qty=qty,
        price=_f(o.L, "L"),
        order_side=o.S,  # type: ignore[arg-type]
    )


def _margin_call(u: _MarginCall, venue: str, account: str, ts_recv_ns: int) -> MarginCall:
    """``{"e":"MARGIN_CALL","E":1587727187525,"cw":"3.16812045","p":[{"s":"ETHUSDT","ps":"LONG",
    "pa":"1.327","mt":"CROSSED","iw":"0","mp":"187.17127","up":"-1.166074","mm":"1.614445"}]}`` —
    `cw` only for cross.
    """
    legs = tuple(
        MarginCallPosition(
            symbol=p.s,
            side=_side(p.ps),
            qty=_f(p.pa, "pa"),
            margin_mode=_mode(p.mt),  # type: ignore[arg-type]
            isolated_wallet=_f(p.iw, "iw"),
            mark_price=_f(p.mp, "mp"),
            unrealized_pnl=_f(p.up, "up"),
            maint_margin=_f(p.mm, "mm"),
        )
        for p in u.p
    )
    return MarginCall(
        venue=venue,
        account=account,
        ts_event_ns=u.E * NS_PER_MS,
        ts_recv_ns=ts_recv_ns,
        cross_wallet=_f(u.cw, "cw") if u.cw else math.nan,
        positions=legs,
    )
