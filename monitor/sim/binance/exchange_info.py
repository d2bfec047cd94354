"""`exchangeInfo` for the futures and spot hosts, in the shapes ccxt's `parse_market` accepts.

Futures symbols carry `contractType: PERPETUAL` (ccxt makes a swap of any entry with that key),
`marginAsset` (settle currency) and the PRICE_FILTER / LOT_SIZE / MARKET_LOT_SIZE filters that give
precision and limits (venues.md §1.2), the tick written as the venue writes it ("0.10" for
BTCUSDT). Spot symbols carry the fields of §2.4, their filters at 8 decimals as the spot API
writes every number ("tickSize":"0.01000000").
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from monitor.sim.symbols import SYMBOLS, SymbolSpec

__all__ = ["futures_exchange_info", "spot_exchange_info"]

_RATE_LIMITS = [
    {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": 2400},
    {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
    {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
]


def _futures_symbol(s: SymbolSpec) -> dict[str, Any]:
    return {
        "symbol": s.symbol,
        "pair": s.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": s.onboard_ms,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": s.base,
        "quoteAsset": s.quote,
        "marginAsset": s.quote,
        "pricePrecision": s.price_precision,
        "quantityPrecision": s.qty_precision,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": ["PoW"] if s.base == "BTC" else [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": f"{s.liquidation_fee:.6f}",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {"minPrice": s.tick, "maxPrice": "4529764", "filterType": "PRICE_FILTER", "tickSize": s.tick},
            {"stepSize": s.step, "filterType": "LOT_SIZE", "maxQty": "1000", "minQty": s.step},
            {"stepSize": s.step, "filterType": "MARKET_LOT_SIZE", "maxQty": "120", "minQty": s.step},
            {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
            {"limit": 10, "filterType": "MAX_NUM_ALGO_ORDERS"},
            {"notional": "100", "filterType": "MIN_NOTIONAL"},
            {
                "multiplierDown": "0.9500",
                "multiplierUp": "1.0500",
                "multiplierDecimal": "4",
                "filterType": "PERCENT_PRICE",
            },
        ],
        "orderTypes": [
            "LIMIT",
            "MARKET",
            "STOP",
            "STOP_MARKET",
            "TAKE_PROFIT",
            "TAKE_PROFIT_MARKET",
            "TRAILING_STOP_MARKET",
        ],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "permissionSets": ["GRID", "COPY"],
    }


def futures_exchange_info(
    now_ms: int, specs: Iterable[SymbolSpec] = SYMBOLS, weight_per_min: int = 2400
) -> dict[str, Any]:
    """`rateLimits` states the weight limit the simulator enforces (monitor/sim/limits.py)."""
    weight = {**_RATE_LIMITS[0], "limit": weight_per_min}
    return {
        "timezone": "UTC",
        "serverTime": now_ms,
        "futuresType": "U_MARGINED",
        "rateLimits": [weight, *_RATE_LIMITS[1:]],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [_futures_symbol(s) for s in specs],
    }


def _q8(text: str) -> str:
    """Spot writes every decimal at 8 places ("0.01" → "0.01000000"); futures writes them as set."""
    return f"{Decimal(text):.8f}"


def _spot_symbol(s: SymbolSpec) -> dict[str, Any]:
    return {
        "symbol": s.symbol,
        "status": "TRADING",
        "baseAsset": s.base,
        "baseAssetPrecision": 8,
        "quoteAsset": s.quote,
        "quotePrecision": 8,
        "quoteAssetPrecision": 8,
        "baseCommissionPrecision": 8,
        "quoteCommissionPrecision": 8,
        "orderTypes": [
            "LIMIT",
            "LIMIT_MAKER",
            "MARKET",
            "STOP_LOSS",
            "STOP_LOSS_LIMIT",
            "TAKE_PROFIT",
            "TAKE_PROFIT_LIMIT",
        ],
        "icebergAllowed": True,
        "ocoAllowed": True,
        "otoAllowed": True,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": True,
        "cancelReplaceAllowed": True,
        "amendAllowed": True,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": True,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": _q8(s.spot_tick),
                "maxPrice": "1000000.00000000",
                "tickSize": _q8(s.spot_tick),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": _q8(s.spot_step),
                "maxQty": "9000.00000000",
                "stepSize": _q8(s.spot_step),
            },
            {
                "filterType": "MIN_NOTIONAL",
                "minNotional": "5.00000000",
                "applyToMarket": True,
                "avgPriceMins": 5,
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": "0.00000000",
                "maxQty": "100.00000000",
                "stepSize": "0.00000000",
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT", "MARGIN"]],
        "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
        "allowedSelfTradePreventionModes": ["EXPIRE_TAKER", "EXPIRE_MAKER", "EXPIRE_BOTH"],
    }


def spot_exchange_info(
    now_ms: int, specs: Iterable[SymbolSpec] = SYMBOLS, weight_per_min: int = 6000
) -> dict[str, Any]:
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
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61000},
        ],
        "exchangeFilters": [],
        "symbols": [_spot_symbol(s) for s in specs],
    }
