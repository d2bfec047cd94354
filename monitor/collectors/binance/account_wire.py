"""Binance USDⓈ-M account replies → perpmon records: leverage brackets, `positionRisk`, `account`.

Split from `wire.py` (market streams and public REST replies) as Bybit's is: these are the signed
REST reads an `AccountWatcher` makes. Each parser shows a trimmed raw sample in its docstring;
numbers go through `finite`, and a malformed row is a `ParseError` with a reason.
"""

from __future__ import annotations

import math
from typing import Any

from monitor.collectors.binance.wire import _opt
from monitor.collectors.fields import finite
from monitor.collectors.tier_reply import TierReply, ladder
from monitor.errors import ParseError
from monitor.records import Balance, Bracket, LeverageTiers, Position

__all__ = ["parse_account_balances", "parse_leverage_brackets", "parse_position_risk"]


def parse_leverage_brackets(rows: Any, account: str, venue: str, ts_recv_ns: int) -> TierReply:
    """Signed `/fapi/v1/leverageBracket` (numbers, not strings; `cum` is the MM deduction).

    ``[{"symbol":"ETHUSDT","notionalCoef":1.50,"brackets":[{"bracket":1,"initialLeverage":75,
    "notionalCap":10000,"notionalFloor":0,"maintMarginRatio":0.0065,"cum":0.0}]}]``
    A row that cannot be used is rejected alone, under its symbol ("?" when it names none).
    """
    out = TierReply()
    for row in rows if isinstance(rows, list) else [rows]:
        symbol = str(row.get("symbol") or "?") if isinstance(row, dict) else "?"
        try:
            out.tiers.append(_bracket_row(row, symbol, account, venue, ts_recv_ns))
        except ParseError as exc:
            out.rejected.append((symbol, exc))
    return out


def _bracket_row(row: Any, symbol: str, account: str, venue: str, ts_recv_ns: int) -> LeverageTiers:
    try:
        if symbol == "?":
            raise KeyError("symbol")
        brackets = tuple(
            Bracket(
                floor=float(b["notionalFloor"]),
                cap=float(b["notionalCap"]),
                mmr=float(b["maintMarginRatio"]),
                cum=float(b["cum"]),
                max_leverage=float(b["initialLeverage"]),
            )
            for b in sorted(row["brackets"], key=lambda b: float(b["notionalFloor"]))
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ParseError("schema", f"leverageBracket {symbol}: {exc!r}") from None
    return ladder(brackets, venue=venue, account=account, symbol=symbol, ts_recv_ns=ts_recv_ns)


def parse_position_risk(rows: Any) -> tuple[Position, ...]:
    """Signed `/fapi/v3/positionRisk`: only symbols with a position (or open orders) appear.

    ``[{"symbol":"BTCUSDT","positionSide":"BOTH","positionAmt":"0.009","entryPrice":"67445.9",
    "markPrice":"67502.68519858","unRealizedProfit":"0.51106678","liquidationPrice":"64846.98753790",
    "isolatedMargin":"0","isolatedWallet":"0","maintMargin":"2.43009666","updateTime":1722161166529}]``
    v3 has no `marginType`: a position with an isolated wallet is isolated.
    """
    out = []
    for row in rows if isinstance(rows, list) else []:
        try:
            qty = finite(row["positionAmt"], "positionAmt")
            if qty == 0:
                continue
            side = str(row.get("positionSide", "BOTH"))
            if side not in ("BOTH", "LONG", "SHORT"):
                raise ParseError("out_of_range", f"positionSide={side}")
            iso_wallet = finite(row.get("isolatedWallet", "0"), "isolatedWallet")
            liq = finite(row.get("liquidationPrice", "0"), "liquidationPrice")
            out.append(
                Position(
                    symbol=str(row["symbol"]),
                    side=side,  # type: ignore[arg-type]
                    qty=qty,
                    entry_price=finite(row["entryPrice"], "entryPrice", positive=True),
                    margin_mode="isolated" if iso_wallet != 0 else "cross",
                    isolated_wallet=iso_wallet,
                    venue_mark_price=_opt(row, "markPrice"),
                    venue_liquidation_price=liq if liq > 0 else math.nan,
                    venue_maint_margin=_opt(row, "maintMargin"),
                    venue_unrealized_pnl=_opt(row, "unRealizedProfit"),
                )
            )
        except (KeyError, TypeError) as exc:
            raise ParseError("schema", f"positionRisk: {exc!r}") from None
    return tuple(out)


def parse_account_balances(account: Any) -> tuple[Balance, ...]:
    """Signed `/fapi/v3/account`: per-asset wallet; assets never funded are skipped.

    ``{"totalWalletBalance":"31.02261200", …, "assets":[{"asset":"USDT","walletBalance":"31.02261200",
    "unrealizedProfit":"0.00000000","crossWalletBalance":"31.02261200","availableBalance":"31.02261200",
    "updateTime":1701270042059}], "positions":[]}``
    """
    if not isinstance(account, dict) or not isinstance(account.get("assets"), list):
        raise ParseError("schema", "account without assets")
    out = []
    for a in account["assets"]:
        try:
            wb = finite(a["walletBalance"], "walletBalance")
            if wb == 0 and int(a.get("updateTime", 0)) == 0:
                continue
            out.append(
                Balance(
                    asset=str(a["asset"]),
                    wallet_balance=wb,
                    cross_wallet_balance=_opt(a, "crossWalletBalance"),
                    unrealized_pnl=_opt(a, "unrealizedProfit"),
                    available_balance=_opt(a, "availableBalance"),
                )
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ParseError("schema", f"account asset: {exc!r}") from None
    return tuple(out)
