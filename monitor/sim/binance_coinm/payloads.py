"""COIN-M replies and frames in the venue's shapes (the docs' examples and ccxt's real fixture row).

Units as the venue sends them: `positionAmt` in contracts ("-3"), `notionalValue` signed coin,
`unRealizedProfit`, wallets, margins and bracket `cum` in coin, `qtylFloor`/`qtyCap` (Binance's
spelling) in coin, `liquidationPrice` "0" when no price liquidates the position.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from monitor.risk.margin import Brackets
from monitor.sim.binance_coinm.engine import CoinmAccount, CoinmEngine, CoinmPosition, CoinmView
from monitor.sim.binance_coinm.market import CoinmQuote, CoinmSpec
from monitor.sim.funding import FundingRecord
from monitor.sim.numfmt import f8, fnum

__all__ = [
    "account",
    "account_update",
    "balance",
    "exchange_info",
    "funding_rows",
    "funding_update",
    "leverage_brackets",
    "mark_price_frame",
    "position_risk",
    "premium_index",
]

PERPETUAL_DELIVERY_MS = 4133404800000  # the venue's "no delivery" date (2100-12-25)


def _symbol(spec: CoinmSpec) -> dict[str, Any]:
    return {
        "symbol": spec.symbol,
        "pair": spec.pair,
        "contractType": "PERPETUAL",
        "deliveryDate": PERPETUAL_DELIVERY_MS,
        "onboardDate": 1597042800000,
        "contractStatus": "TRADING",
        "contractSize": int(spec.contract_size),
        "marginAsset": spec.base,
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": spec.base,
        "quoteAsset": "USD",
        "pricePrecision": spec.price_precision,
        "quantityPrecision": 0,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "equalQtyPrecision": 4,
        "maxMoveOrderLimit": 10000,
        "triggerProtect": "0.0500",
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": spec.tick,
                "maxPrice": "4520958",
                "tickSize": spec.tick,
            },
            {"filterType": "LOT_SIZE", "stepSize": "1", "maxQty": "1000000", "minQty": "1"},
            {"filterType": "MARKET_LOT_SIZE", "stepSize": "1", "maxQty": "60000", "minQty": "1"},
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 100},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": 4,
            },
        ],
        "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
        "liquidationFee": "0.015000",
        "marketTakeBound": "0.05",
    }


def exchange_info(now_ms: int, specs: Iterable[CoinmSpec], weight_per_min: int) -> dict[str, Any]:
    """`GET /dapi/v1/exchangeInfo`: `contractSize` in USD, `marginAsset` the coin."""
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": weight_per_min,
            },
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
        ],
        "exchangeFilters": [],
        "symbols": [_symbol(s) for s in specs],
    }


def premium_index(q: CoinmQuote, spec: CoinmSpec) -> dict[str, Any]:
    """One row of `GET /dapi/v1/premiumIndex` (always a list at the venue, pair-scoped)."""
    return {
        "symbol": spec.symbol,
        "pair": spec.pair,
        "markPrice": f8(q.mark),
        "indexPrice": f8(q.index),
        "estimatedSettlePrice": f8(q.index),
        "lastFundingRate": f8(q.funding_rate),
        "interestRate": f8(q.interest_rate),
        "nextFundingTime": q.next_funding_ms,
        "time": q.time_ms,
    }


def funding_rows(rows: Iterable[FundingRecord]) -> list[dict[str, Any]]:
    """`GET /dapi/v1/fundingRate` rows (old re-stamped rows carry an empty `markPrice`)."""
    return [
        {
            "symbol": r.symbol,
            "fundingTime": r.time_ms,
            "fundingRate": f8(r.rate),
            "markPrice": f8(r.mark) if r.mark is not None else "",
        }
        for r in rows
    ]


def leverage_brackets(symbol: str, b: Brackets, *, key: str = "symbol") -> dict[str, Any]:
    """`GET /dapi/v2/leverageBracket` (key "symbol") or v1 (key "pair", the pair's id) entry."""
    return {
        key: symbol,
        "notionalCoef": 1.0,
        "brackets": [
            {
                "bracket": i + 1,
                "initialLeverage": int(b.max_leverage[i]),
                "qtyCap": float(b.caps[i]) if i + 1 < len(b.caps) else 9.223372036854776e18,
                "qtylFloor": float(b.floors[i]),
                "maintMarginRatio": float(b.mmrs[i]),
                "cum": round(float(b.cums[i]), 8),
            }
            for i in range(len(b.floors))
        ],
    }


def position_risk(v: CoinmView, update_ms: int) -> dict[str, Any]:
    """One `GET /dapi/v1/positionRisk` row (the fixture's fields and order)."""
    return {
        "symbol": v.symbol,
        "positionAmt": fnum(v.contracts),
        "entryPrice": f8(v.entry),
        "markPrice": f8(v.mark),
        "unRealizedProfit": f8(v.upnl),
        "liquidationPrice": f8(v.liquidation_price) if v.liquidation_price is not None else "0",
        "leverage": fnum(v.leverage),
        "maxQty": "1000",
        "marginType": v.margin_mode,
        "isolatedMargin": f8(v.isolated_wallet + v.upnl) if v.margin_mode == "isolated" else "0.00000000",
        "isAutoAddMargin": "false",
        "positionSide": v.side,
        "notionalValue": f8(v.notional),
        "isolatedWallet": f8(v.isolated_wallet) if v.margin_mode == "isolated" else "0",
        "updateTime": str(update_ms),
        "breakEvenPrice": f8(v.entry),
    }


def _account_position(v: CoinmView, update_ms: int) -> dict[str, Any]:
    return {
        "symbol": v.symbol,
        "positionAmt": fnum(v.contracts),
        "initialMargin": f8(v.initial_margin),
        "maintMargin": f8(v.maint_margin),
        "unrealizedProfit": f8(v.upnl),
        "positionInitialMargin": f8(v.initial_margin),
        "openOrderInitialMargin": "0",
        "leverage": fnum(v.leverage),
        "isolated": v.margin_mode == "isolated",
        "positionSide": v.side,
        "entryPrice": f8(v.entry),
        "breakEvenPrice": f8(v.entry),
        "maxQty": "1000",
        "updateTime": update_ms,
        "notionalValue": f8(v.notional),
    }


def _asset(coin: str, a: Mapping[str, float], update_ms: int) -> dict[str, Any]:
    margin = a["wallet"] + a["upnl"]
    free = max(0.0, a["cross_wallet"] + a["cross_upnl"] - a["im"])
    return {
        "asset": coin,
        "walletBalance": f8(a["wallet"]),
        "unrealizedProfit": f8(a["upnl"]),
        "marginBalance": f8(margin),
        "maintMargin": f8(a["mm"]),
        "initialMargin": f8(a["im"]),
        "positionInitialMargin": f8(a["im"]),
        "openOrderInitialMargin": "0.00000000",
        "maxWithdrawAmount": f8(free),
        "crossWalletBalance": f8(a["cross_wallet"]),
        "crossUnPnl": f8(a["cross_upnl"]),
        "availableBalance": f8(free),
        "updateTime": update_ms,
    }


def account(eng: CoinmEngine, name: str) -> dict[str, Any]:
    """`GET /dapi/v1/account`: per-coin `assets[]` (in coin) and the open positions."""
    acct = eng.accounts[name]
    return {
        "assets": [_asset(c, a, acct.update_ms) for c, a in eng.assets(name).items()],
        "positions": [_account_position(v, acct.update_ms) for v in eng.positions(name)],
        "canDeposit": True,
        "canTrade": True,
        "canWithdraw": True,
        "feeTier": 0,
        "updateTime": 0,
    }


def balance(eng: CoinmEngine, name: str) -> list[dict[str, Any]]:
    """`GET /dapi/v1/balance`: one row per coin."""
    acct = eng.accounts[name]
    rows = []
    for coin, a in eng.assets(name).items():
        free = max(0.0, a["cross_wallet"] + a["cross_upnl"] - a["im"])
        rows.append(
            {
                "accountAlias": "SgsR",
                "asset": coin,
                "balance": f8(a["wallet"]),
                "withdrawAvailable": f8(free),
                "crossWalletBalance": f8(a["cross_wallet"]),
                "crossUnPnl": f8(a["cross_upnl"]),
                "availableBalance": f8(free),
                "updateTime": acct.update_ms,
            }
        )
    return rows


def mark_price_frame(q: CoinmQuote, now_ms: int) -> dict[str, Any]:
    """`<symbol>@markPrice@1s` on dstream: `e,E,s,p,P,i,r,T` and `st` (2 = CM, the 2026 migration)."""
    return {
        "e": "markPriceUpdate",
        "E": now_ms,
        "s": q.symbol,
        "p": f8(q.mark),
        "P": f8(q.index),
        "i": f8(q.index),
        "r": f8(q.funding_rate),
        "T": q.next_funding_ms,
        "st": 2,
    }


def funding_update(acct: CoinmAccount, coin: str, now_ms: int) -> dict[str, Any]:
    """The user stream's `ACCOUNT_UPDATE` after a settlement: the coin wallet only ("FUNDING_FEE")."""
    w = f8(acct.wallets[coin])
    b = [{"a": coin, "wb": w, "cw": w, "bc": "0"}]
    return {"e": "ACCOUNT_UPDATE", "E": now_ms, "T": now_ms, "i": "SfsR", "a": {"m": "FUNDING_FEE", "B": b}}


def account_update(acct: CoinmAccount, closed: CoinmPosition, coin: str, now_ms: int) -> dict[str, Any]:
    """The user stream's `ACCOUNT_UPDATE` after a liquidation closed `closed` (reason "ORDER")."""
    return {
        "e": "ACCOUNT_UPDATE",
        "E": now_ms,
        "T": now_ms,
        "i": "SfsR",
        "a": {
            "m": "ORDER",
            "B": [{"a": coin, "wb": f8(acct.wallets[coin]), "cw": f8(acct.wallets[coin]), "bc": "0"}],
            "P": [
                {
                    "s": closed.symbol,
                    "pa": "0",
                    "ep": "0.0",
                    "bep": "0.0",
                    "cr": "0",
                    "up": "0",
                    "mt": closed.margin_mode,
                    "iw": "0",
                    "ps": closed.side,
                    "ma": coin,
                }
            ],
        },
    }
