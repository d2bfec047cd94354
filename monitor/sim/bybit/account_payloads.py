"""Bybit v5 private payloads: positions, executions, the unified wallet, account info and key reads.

Split from `payloads.py` (the market half and the envelope) because these rows are built from the
account engine's views, not from quotes: `/v5/position/list`, `/v5/account/{wallet-balance,info}`,
`/v5/user/query-api`, `/v5/asset/coin/query-info` and the private socket's position, execution and
wallet pushes. Shapes and number formats are `payloads.py`'s (its docstring says which values the
venue sends as numbers, and how prices and sizes are written).
"""

from __future__ import annotations

from typing import Any

from monitor.sim.bybit.payloads import _opt_px, _px, _qty
from monitor.sim.bybit.symbols import BybitSpec
from monitor.sim.bybit.views import BybitLiquidation, BybitPositionView, BybitWalletView
from monitor.sim.numfmt import fnum

__all__ = [
    "account_info",
    "coin_info",
    "execution_row",
    "position_row",
    "query_api",
    "wallet_row",
    "ws_position_row",
    "ws_wallet_row",
]


def position_row(v: BybitPositionView, spec: BybitSpec) -> dict[str, Any]:
    return {
        "positionIdx": v.position_idx,
        "riskId": v.risk_id,
        "riskLimitValue": fnum(v.risk_limit),
        "symbol": v.symbol,
        "side": v.side,
        "size": _qty(v.size, spec.step),
        "avgPrice": fnum(v.avg_price) if v.size else "0",
        "positionValue": fnum(v.value),
        "tradeMode": 1 if v.isolated else 0,
        "positionStatus": "Normal",
        "autoAddMargin": 0,
        "adlRankIndicator": 2 if v.size else 0,
        "leverage": fnum(v.leverage),
        "breakEvenPrice": fnum(v.avg_price) if v.size else "",
        "positionBalance": fnum(v.balance),
        "markPrice": _px(v.mark, spec),
        "liqPrice": _opt_px(v.liq_price, spec),
        "bustPrice": _opt_px(v.bust_price, spec),
        "positionMM": fnum(v.mm),
        "positionMMByMp": fnum(v.mm_mp),
        "positionIM": fnum(v.im),
        "positionIMByMp": fnum(v.im_mp),
        "tpslMode": "Full",
        "takeProfit": "",
        "stopLoss": "",
        "trailingStop": "0",
        "unrealisedPnl": fnum(v.upnl),
        "curRealisedPnl": fnum(v.realised),
        "cumRealisedPnl": fnum(v.realised),
        "seq": v.seq,
        "isReduceOnly": False,
        "mmrSysUpdateTime": "",
        "leverageSysUpdatedTime": "",
        "sessionAvgPrice": "",
        "createdTime": str(v.created_ms),
        "updatedTime": str(v.updated_ms),
    }


def ws_position_row(v: BybitPositionView, spec: BybitSpec) -> dict[str, Any]:
    """The private `position` topic's item: the REST row with `entryPrice` and `category`."""
    row = position_row(v, spec)
    row["entryPrice"] = row.pop("avgPrice")
    row["mmrSysUpdatedTime"] = row.pop("mmrSysUpdateTime")
    row["category"] = "linear"
    return row


def execution_row(liq: BybitLiquidation, spec: BybitSpec) -> dict[str, Any]:
    """The private `execution` item of a liquidation (`execType` "BustTrade"; fields as in ccxt's
    unified-account example): the position closed by a market order on the opposite side."""
    size = abs(liq.qty)
    return {
        "category": "linear",
        "symbol": liq.symbol,
        "execFee": "0",
        "execId": f"{liq.order_id}-0",
        "execPrice": _px(liq.exec_price, spec),
        "execQty": _qty(size, spec.step),
        "execType": "BustTrade",
        "execValue": fnum(size * liq.exec_price),
        "isMaker": False,
        "feeRate": "0",
        "tradeIv": "",
        "markIv": "",
        "blockTradeId": "",
        "markPrice": _px(liq.price, spec),
        "indexPrice": "",
        "underlyingPrice": "",
        "leavesQty": "0",
        "orderId": liq.order_id,
        "orderLinkId": "",
        "orderPrice": _px(liq.exec_price, spec),
        "orderQty": _qty(size, spec.step),
        "orderType": "Market",
        "stopOrderType": "UNKNOWN",
        "side": "Sell" if liq.qty > 0 else "Buy",
        "execTime": str(liq.time_ms),
        "isLeverage": "0",
    }


def _coin(w: BybitWalletView) -> dict[str, Any]:
    return {
        "coin": "USDT",
        "equity": fnum(w.equity),
        "usdValue": fnum(w.equity),
        "walletBalance": fnum(w.wallet),
        "availableToWithdraw": fnum(w.available),
        "availableToBorrow": "",
        "borrowAmount": "0",
        "accruedInterest": "0",
        "totalOrderIM": "0",
        "totalPositionIM": fnum(w.initial_margin),
        "totalPositionMM": fnum(w.maint_margin),
        "unrealisedPnl": fnum(w.upnl),
        "cumRealisedPnl": fnum(w.realised),
        "bonus": "0",
        "collateralSwitch": True,
        "marginCollateral": True,
        "locked": "0",
        "spotHedgingQty": "0",
        "spotBorrow": "0",
    }


def ws_wallet_row(w: BybitWalletView) -> dict[str, Any]:
    margin_balance = w.equity if w.margin_mode == "REGULAR_MARGIN" else w.equity - w.available
    return {
        "accountIMRate": fnum(w.im_rate) if w.im_rate != float("inf") else "",
        "accountIMRateByMp": fnum(w.im_rate) if w.im_rate != float("inf") else "",
        "accountMMRate": fnum(w.mm_rate) if w.mm_rate != float("inf") else "",
        "accountMMRateByMp": fnum(w.mm_rate) if w.mm_rate != float("inf") else "",
        "totalEquity": fnum(w.equity),
        "totalWalletBalance": fnum(w.wallet),
        "totalMarginBalance": fnum(margin_balance),
        "totalAvailableBalance": fnum(w.available),
        "totalPerpUPL": fnum(w.upnl),
        "totalInitialMargin": fnum(w.initial_margin),
        "totalInitialMarginByMp": fnum(w.initial_margin),
        "totalMaintenanceMargin": fnum(w.maint_margin),
        "totalMaintenanceMarginByMp": fnum(w.maint_margin),
        "coin": [_coin(w)],
        "accountLTV": "0",
        "accountType": "UNIFIED",
    }


def wallet_row(w: BybitWalletView) -> dict[str, Any]:
    return ws_wallet_row(w)


def account_info(w: BybitWalletView, created_ms: int) -> dict[str, Any]:
    return {
        "marginMode": w.margin_mode,
        "updatedTime": str(created_ms),
        "unifiedMarginStatus": 6,
        "dcpStatus": "OFF",
        "timeWindow": 10,
        "smpGroup": 0,
        "isMasterTrader": False,
        "spotHedgingStatus": "OFF",
    }


def query_api(api_key: str, user_id: int, read_only: bool) -> dict[str, Any]:
    """`/v5/user/query-api`: ccxt reads `unified`/`uta` to pick the unified-account paths."""
    return {
        "id": str(13_770_000 + user_id),
        "note": "perpmon simulator",
        "apiKey": api_key,
        "readOnly": 1 if read_only else 0,
        "secret": "",
        "permissions": {
            "ContractTrade": [] if read_only else ["Order", "Position"],
            "Spot": [] if read_only else ["SpotTrade"],
            "Wallet": ["AccountTransfer"] if not read_only else [],
            "Options": [],
            "Derivatives": [],
            "CopyTrading": [],
            "BlockTrade": [],
            "Exchange": [],
            "NFT": [],
            "Affiliate": [],
            "Earn": [],
        },
        "ips": ["*"],
        "type": 1,
        "deadlineDay": 83,
        "expiredAt": "",
        "createdAt": "2026-01-01T00:00:00Z",
        "unified": 0,
        "uta": 1,
        "userID": 24_600_000 + user_id,
        "inviterID": 0,
        "vipLevel": "No VIP",
        "mktMakerLevel": "0",
        "affiliateID": 0,
        "rsaPublicKey": "",
        "isMaster": True,
        "parentUid": "0",
        "kycLevel": "LEVEL_DEFAULT",
        "kycRegion": "",
    }


def coin_info(coins: list[str]) -> dict[str, Any]:
    def row(coin: str) -> dict[str, Any]:
        return {
            "name": coin,
            "coin": coin,
            "remainAmount": "1500000",
            "chains": [
                {
                    "chainType": coin,
                    "confirmation": "12",
                    "withdrawFee": "1" if coin == "USDT" else "0.0005",
                    "depositMin": "0",
                    "withdrawMin": "10" if coin == "USDT" else "0.001",
                    "chain": coin if coin != "USDT" else "ETH",
                    "chainDeposit": "1",
                    "chainWithdraw": "1",
                    "minAccuracy": "8",
                    "withdrawPercentageFee": "0",
                }
            ],
        }

    return {"rows": [row(c) for c in coins]}
