"""Private USDⓈ-M payloads built from the account engine: positions, account, balance, brackets.

Keys and JSON types follow real responses (ccxt's static fixtures, venues.md §1.6–1.8): amounts
are strings, `updateTime` and `adl` strings as in those captures, bracket numbers are JSON numbers.
Every funded asset has a non-zero `updateTime`, or ccxt's `fetch_balance` silently drops it.
Non-USDT wallet assets are listed after USDT with no PnL and no margin use: in single-asset mode
the `total*` figures are USDT's alone (venues.md §1.8).
"""

from __future__ import annotations

from typing import Any

from monitor.sim.binance.accounts import AccountEngine, AccountView, PositionView
from monitor.sim.brackets import Bracket, max_notional_for_leverage
from monitor.sim.numfmt import f8, fnum

__all__ = [
    "account_v2",
    "account_v3",
    "balances",
    "flat_v2",
    "leverage_brackets",
    "position_risk_v2",
    "position_risk_v3",
    "symbol_config",
]


def _signed_notional(p: PositionView) -> float:
    return p.notional if p.qty > 0 else -p.notional


def _iso(p: PositionView, value: float) -> str:
    return f8(value) if p.margin_mode == "isolated" else "0"


def position_risk_v3(p: PositionView) -> dict[str, Any]:
    return {
        "symbol": p.symbol,
        "positionSide": p.side,
        "positionAmt": fnum(p.qty),
        "entryPrice": fnum(p.entry),
        "breakEvenPrice": fnum(p.entry),
        "markPrice": f8(p.mark),
        "unRealizedProfit": f8(p.unrealized_pnl),
        "liquidationPrice": f8(p.liquidation_price) if p.liquidation_price > 0 else "0",
        "isolatedMargin": _iso(p, p.isolated_margin),
        "notional": f8(_signed_notional(p)),
        "marginAsset": "USDT",
        "isolatedWallet": _iso(p, p.isolated_wallet),
        "initialMargin": f8(p.initial_margin),
        "maintMargin": f8(p.maint_margin),
        "positionInitialMargin": f8(p.initial_margin),
        "openOrderInitialMargin": "0",
        "adl": "2",
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": str(p.update_ms),
    }


def position_risk_v2(p: PositionView, brackets: tuple[Bracket, ...]) -> dict[str, Any]:
    return {
        "symbol": p.symbol,
        "positionAmt": fnum(p.qty),
        "entryPrice": fnum(p.entry),
        "breakEvenPrice": fnum(p.entry),
        "markPrice": f8(p.mark),
        "unRealizedProfit": f8(p.unrealized_pnl),
        "liquidationPrice": f8(p.liquidation_price) if p.liquidation_price > 0 else "0",
        "leverage": fnum(p.leverage),
        "maxNotionalValue": fnum(max_notional_for_leverage(brackets, p.leverage)),
        "marginType": p.margin_mode,
        "isolatedMargin": f8(p.isolated_margin),
        "isAutoAddMargin": "false",
        "positionSide": p.side,
        "notional": f8(_signed_notional(p)),
        "isolatedWallet": f8(p.isolated_wallet),
        "updateTime": p.update_ms,
        "isolated": p.margin_mode == "isolated",
        "adlQuantile": 2,
    }


def flat_v2(
    symbol: str, side: str, leverage: float, brackets: tuple[Bracket, ...], mark: float
) -> dict[str, Any]:
    """A v2 row for a symbol without a position (v2 lists every symbol)."""
    return {
        "symbol": symbol,
        "positionAmt": "0",
        "entryPrice": "0.0",
        "breakEvenPrice": "0.0",
        "markPrice": f8(mark),
        "unRealizedProfit": "0.00000000",
        "liquidationPrice": "0",
        "leverage": fnum(leverage),
        "maxNotionalValue": fnum(max_notional_for_leverage(brackets, leverage)),
        "marginType": "cross",
        "isolatedMargin": "0.00000000",
        "isAutoAddMargin": "false",
        "positionSide": side,
        "notional": "0",
        "isolatedWallet": "0",
        "updateTime": 0,
        "isolated": False,
        "adlQuantile": 0,
    }


def _asset(a: AccountView, v2: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "asset": "USDT",
        "walletBalance": f8(a.wallet_balance),
        "unrealizedProfit": f8(a.unrealized_pnl),
        "marginBalance": f8(a.margin_balance),
        "maintMargin": f8(a.maint_margin),
        "initialMargin": f8(a.initial_margin),
        "positionInitialMargin": f8(a.initial_margin),
        "openOrderInitialMargin": "0.00000000",
        "crossWalletBalance": f8(a.cross_wallet),
        "crossUnPnl": f8(a.cross_unrealized_pnl),
        "availableBalance": f8(a.available_balance),
        "maxWithdrawAmount": f8(min(a.available_balance, a.cross_wallet)),
    }
    if v2:
        out["marginAvailable"] = True
    out["updateTime"] = str(a.update_ms)
    return out


def _other_asset(asset: str, amount: float, update_ms: int, v2: bool) -> dict[str, Any]:
    zero = "0.00000000"
    out: dict[str, Any] = {
        "asset": asset,
        "walletBalance": f8(amount),
        "unrealizedProfit": zero,
        "marginBalance": f8(amount),
        "maintMargin": zero,
        "initialMargin": zero,
        "positionInitialMargin": zero,
        "openOrderInitialMargin": zero,
        "crossWalletBalance": f8(amount),
        "crossUnPnl": zero,
        "availableBalance": f8(amount),
        "maxWithdrawAmount": f8(amount),
    }
    if v2:
        out["marginAvailable"] = True
    out["updateTime"] = str(update_ms)
    return out


def _assets(engine: AccountEngine, name: str, a: AccountView, v2: bool) -> list[dict[str, Any]]:
    others = engine.accounts[name].other_assets
    return [_asset(a, v2)] + [_other_asset(k, v, a.update_ms, v2) for k, v in others.items()]


def _totals(a: AccountView) -> dict[str, Any]:
    return {
        "totalInitialMargin": f8(a.initial_margin),
        "totalMaintMargin": f8(a.maint_margin),
        "totalWalletBalance": f8(a.wallet_balance),
        "totalUnrealizedProfit": f8(a.unrealized_pnl),
        "totalMarginBalance": f8(a.margin_balance),
        "totalPositionInitialMargin": f8(a.initial_margin),
        "totalOpenOrderInitialMargin": "0.00000000",
        "totalCrossWalletBalance": f8(a.cross_wallet),
        "totalCrossUnPnl": f8(a.cross_unrealized_pnl),
        "availableBalance": f8(a.available_balance),
        "maxWithdrawAmount": f8(min(a.available_balance, a.cross_wallet)),
    }


def _account_position(p: PositionView) -> dict[str, Any]:
    return {
        "symbol": p.symbol,
        "positionSide": p.side,
        "positionAmt": fnum(p.qty),
        "unrealizedProfit": f8(p.unrealized_pnl),
        "isolatedMargin": _iso(p, p.isolated_margin),
        "notional": f8(_signed_notional(p)),
        "isolatedWallet": _iso(p, p.isolated_wallet),
        "initialMargin": f8(p.initial_margin),
        "maintMargin": f8(p.maint_margin),
        "updateTime": str(p.update_ms),
    }


def account_v3(engine: AccountEngine, name: str) -> dict[str, Any]:
    a = engine.summary(name)
    out = _totals(a)
    out["assets"] = _assets(engine, name, a, v2=False)
    out["positions"] = [_account_position(p) for p in engine.positions(name)]
    return out


def account_v2(engine: AccountEngine, name: str) -> dict[str, Any]:
    a = engine.summary(name)
    out: dict[str, Any] = {
        "feeTier": "0",
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "tradeGroupId": "-1",
        "updateTime": "0",
        "multiAssetsMargin": False,
    }
    out.update(_totals(a))
    out["assets"] = _assets(engine, name, a, v2=True)
    out["positions"] = [
        {
            **_account_position(p),
            "leverage": fnum(p.leverage),
            "entryPrice": fnum(p.entry),
            "breakEvenPrice": fnum(p.entry),
            "maxNotional": fnum(max_notional_for_leverage(engine.brackets(p.symbol), p.leverage)),
            "isolated": p.margin_mode == "isolated",
            "bidNotional": "0",
            "askNotional": "0",
        }
        for p in engine.positions(name)
    ]
    return out


def balances(engine: AccountEngine, name: str) -> list[dict[str, Any]]:
    a = engine.summary(name)
    rows = [("USDT", a.wallet_balance, a.cross_wallet, a.cross_unrealized_pnl, a.available_balance)]
    rows += [(k, v, v, 0.0, v) for k, v in engine.accounts[name].other_assets.items()]
    return [
        {
            "accountAlias": "SgsR",
            "asset": asset,
            "balance": f8(wallet),
            "crossWalletBalance": f8(cross),
            "crossUnPnl": f8(upnl),
            "availableBalance": f8(available),
            "maxWithdrawAmount": f8(min(available, cross)),
            "marginAvailable": True,
            "updateTime": a.update_ms,
        }
        for asset, wallet, cross, upnl, available in rows
    ]


def leverage_brackets(symbol: str, brackets: tuple[Bracket, ...]) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "brackets": [
            {
                "bracket": b.bracket,
                "initialLeverage": b.max_leverage,
                "notionalCap": int(b.cap),
                "notionalFloor": int(b.floor),
                "maintMarginRatio": b.mmr,
                "cum": b.cum,
            }
            for b in brackets
        ],
    }


def symbol_config(
    symbol: str, margin_mode: str, leverage: float, brackets: tuple[Bracket, ...]
) -> dict[str, Any]:
    return {
        "symbol": symbol,
        "marginType": "ISOLATED" if margin_mode == "isolated" else "CROSSED",
        "isAutoAddMargin": False,
        "leverage": int(leverage),
        "maxNotionalValue": fnum(max_notional_for_leverage(brackets, leverage)),
    }
