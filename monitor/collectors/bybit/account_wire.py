"""Bybit v5 accounts → perpmon records: risk-limit tiers, positions and the unified wallet over
REST, and the private socket's deltas (the envelope and numbers: `envelope`).

Risk-limit tiers quote rates as fractions in current replies and as percents in older docs
(`"maintenanceMargin": "0.5"` beside `"maxLeverage": "100.00"`); the unit is told from
`initialMargin` ≈ 1 / `maxLeverage`, never guessed from the magnitude alone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.collectors.account_book import AccountUpdate, BalanceChange, LegChange
from monitor.collectors.bybit.envelope import decode, optional, result_of, rows_of
from monitor.collectors.fields import finite
from monitor.collectors.tier_reply import TierReply, ladder
from monitor.errors import ParseError
from monitor.records import Balance, Bracket, LeverageTiers, Position, PositionSide

__all__ = [
    "AuthReply",
    "parse_position_list",
    "parse_private_frame",
    "parse_risk_limits",
    "parse_wallet_balance",
]

_SIDES: dict[int, PositionSide] = {0: "BOTH", 1: "LONG", 2: "SHORT"}


@dataclass(frozen=True, slots=True)
class AuthReply:
    """The private socket's answer to `op: auth`."""

    success: bool
    message: str


# ---------------------------------------------------------------- risk limits


def _rate_scale(rows: list[Mapping[str, Any]]) -> float:
    """1 when the tier rates are fractions, 0.01 when they are percents (see the module doc)."""
    for r in rows:
        im, lev = optional(r, "initialMargin"), optional(r, "maxLeverage", positive=True)
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
        ded = optional(r, "mmDeduction")
        if not (0 <= mmr < 1) or cap <= floor:
            raise ParseError("out_of_range", f"risk-limit {symbol} mmr={mmr} cap={cap}")
        tiers.append(
            Bracket(
                floor=floor,
                cap=cap,
                mmr=mmr,
                cum=0.0 if math.isnan(ded) else ded,
                max_leverage=optional(r, "maxLeverage", positive=True),
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
    bal = optional(row, "positionBalance")
    return bal if bal > 0 else max(0.0, optional(row, "positionIM") if "positionIM" in row else 0.0)


def _position(row: Mapping[str, Any]) -> Position | None:
    side, qty, entry, isolated = _leg(row)
    if qty == 0:
        return None
    liq = optional(row, "liqPrice")
    return Position(
        symbol=str(row["symbol"]),
        side=side,
        qty=qty,
        entry_price=entry,
        margin_mode="isolated" if isolated else "cross",
        isolated_wallet=_position_margin(row) if isolated else 0.0,
        leverage=optional(row, "leverage"),
        venue_mark_price=optional(row, "markPrice"),
        venue_liquidation_price=liq if liq > 0 else math.nan,
        venue_maint_margin=optional(row, "positionMM"),
        venue_unrealized_pnl=optional(row, "unrealisedPnl"),
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
    for row in rows_of(res, "position/list"):
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
                unrealized_pnl=optional(c, "unrealisedPnl"),
                available_balance=optional(c, "availableToWithdraw"),
            )
        )
    return out


def parse_wallet_balance(body: Any) -> tuple[Balance, ...]:
    """REST `/v5/account/wallet-balance?accountType=UNIFIED`: one balance per coin of `list[0]`."""
    res = result_of(body, "wallet-balance")
    rows = rows_of(res, "wallet-balance")
    return tuple(b for account in rows for b in _balances(account))


def parse_private_frame(raw: bytes | str) -> AccountUpdate | AuthReply | None:
    """One frame of the private socket: `position` and `wallet` become account deltas.

    Both topics carry absolute values for what changed (a position row is the whole leg; a wallet
    row lists whole coins), so they merge into the account book like Binance's ACCOUNT_UPDATE.
    ``{"topic":"position","creationTime":1697682317044,"data":[{"positionIdx":2,"symbol":"BTCUSDT",
    "side":"","size":"0","entryPrice":"0",…,"category":"linear"}]}``. Control replies yield
    nothing except the auth answer; other categories (inverse, option) are ignored.
    """
    frame = decode(raw)
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
                        unrealized_pnl=optional(row, "unrealisedPnl"),
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
