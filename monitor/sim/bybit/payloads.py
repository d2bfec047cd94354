"""Bybit v5 JSON payloads: the REST envelope, instruments, tickers, books, risk limits, funding.

The private rows (positions, executions, wallet, key reads) are in `account_payloads.py`.

Field sets and types follow the docs examples in `shared/fixtures/bybit-docs-examples/` (every value
a string except the few the venue sends as numbers: `positionIdx`, `riskId`, `seq`, `adlRankIndicator`,
`autoAddMargin`, `tradeMode`, booleans). Prices carry the symbol's price scale, sizes its quantity
step, money 8 decimals trimmed, so `float(string)` is exactly the engine's float. A `liqPrice` or
`bustPrice` the engine has none for is "" (the venue's "no price liquidates it").
"""

from __future__ import annotations

from typing import Any

from monitor.sim.bybit.market import BybitQuote
from monitor.sim.bybit.symbols import BybitSpec, RiskTier
from monitor.sim.funding import FundingRecord
from monitor.sim.numfmt import fnum

__all__ = [
    "envelope",
    "error_body",
    "funding_history",
    "linear_instrument",
    "linear_ticker",
    "open_interest_rows",
    "orderbook",
    "risk_limit_rows",
    "spot_instrument",
    "spot_ticker",
    "ws_linear_ticker",
    "ws_spot_ticker",
]


def _dec(step: str) -> int:
    return len(step.partition(".")[2])


def _px(x: float, spec: BybitSpec) -> str:
    return f"{x:.{spec.price_scale}f}"


def _qty(x: float, step: str) -> str:
    return f"{x:.{_dec(step)}f}"


def _opt_px(x: float, spec: BybitSpec) -> str:
    return _px(x, spec) if x > 0 else ""


def envelope(result: Any, now_ms: int) -> dict[str, Any]:
    return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": now_ms}


def error_body(ret_code: int, msg: str, now_ms: int) -> dict[str, Any]:
    return {"retCode": ret_code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": now_ms}


# --- market ------------------------------------------------------------------------------------
def linear_instrument(spec: BybitSpec) -> dict[str, Any]:
    first = spec.tiers[0]
    return {
        "symbol": spec.symbol,
        "contractType": "LinearPerpetual",
        "status": "Trading",
        "baseCoin": spec.base,
        "quoteCoin": "USDT",
        "launchTime": str(spec.launch_ms),
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(spec.price_scale),
        "leverageFilter": {
            "minLeverage": "1",
            "maxLeverage": f"{first.max_leverage:.2f}",
            "leverageStep": "0.01",
        },
        "priceFilter": {"minPrice": spec.tick, "maxPrice": "1999999.80", "tickSize": spec.tick},
        "lotSizeFilter": {
            "maxOrderQty": spec.max_qty,
            "minOrderQty": spec.step,
            "qtyStep": spec.step,
            "postOnlyMaxOrderQty": spec.max_qty,
            "maxMktOrderQty": spec.max_qty,
            "minNotionalValue": "5",
        },
        "unifiedMarginTrade": True,
        "fundingInterval": spec.funding_hours * 60,
        "settleCoin": "USDT",
        "copyTrading": "both",
        "upperFundingRate": fnum(spec.funding_cap),
        "lowerFundingRate": fnum(-spec.funding_cap),
        "isPreListing": False,
        "preListingInfo": None,
        "riskParameters": {"priceLimitRatioX": "0.01", "priceLimitRatioY": "0.02"},
        "displayName": "",
    }


def spot_instrument(spec: BybitSpec, symbol_id: int) -> dict[str, Any]:
    return {
        "symbolId": symbol_id,
        "symbol": spec.symbol,
        "baseCoin": spec.base,
        "quoteCoin": "USDT",
        "innovation": "0",
        "status": "Trading",
        "marginTrading": "utaOnly",
        "stTag": "0",
        "lotSizeFilter": {
            "basePrecision": spec.spot_step,
            "quotePrecision": "0.0000001",
            "minOrderQty": spec.spot_step,
            "maxOrderQty": "83",
            "minOrderAmt": "5",
            "maxOrderAmt": "8000000",
            "maxLimitOrderQty": "83",
            "maxMarketOrderQty": "41.5",
            "postOnlyMaxLimitOrderSize": "60000",
        },
        "priceFilter": {"tickSize": spec.spot_tick},
        "riskParameters": {"priceLimitRatioX": "0.005", "priceLimitRatioY": "0.01"},
        "symbolType": "",
    }


def _pcnt(q: BybitQuote) -> str:
    return f"{(q.last - q.prev_24h) / q.prev_24h:.6f}" if q.prev_24h else "0"


def ws_linear_ticker(q: BybitQuote, spec: BybitSpec) -> dict[str, Any]:
    """The `tickers.{symbol}` snapshot fields of a linear perpetual (docs example, same order)."""
    return {
        "symbol": q.symbol,
        "tickDirection": "ZeroPlusTick",
        "price24hPcnt": _pcnt(q),
        "lastPrice": _px(q.last, spec),
        "prevPrice24h": _px(q.prev_24h, spec),
        "highPrice24h": _px(q.high, spec),
        "lowPrice24h": _px(q.low, spec),
        "prevPrice1h": _px(q.prev_24h, spec),
        "markPrice": _px(q.mark, spec),
        "indexPrice": _px(q.index, spec),
        "openInterest": _qty(q.open_interest, spec.step),
        "openInterestValue": f"{q.open_interest * q.mark:.2f}",
        "turnover24h": f"{q.turnover:.4f}",
        "volume24h": _qty(q.volume, spec.step),
        "fundingIntervalHour": str(spec.funding_hours),
        "fundingCap": fnum(spec.funding_cap),
        "nextFundingTime": str(q.next_funding_ms),
        "fundingRate": fnum(q.funding_rate),
        "bid1Price": _px(q.bid, spec),
        "bid1Size": _qty(q.bid_size, spec.step),
        "ask1Price": _px(q.ask, spec),
        "ask1Size": _qty(q.ask_size, spec.step),
        "preOpenPrice": "",
        "preQty": "",
        "curPreListingPhase": "",
    }


def linear_ticker(q: BybitQuote, spec: BybitSpec) -> dict[str, Any]:
    """A `/v5/market/tickers?category=linear` item (the field order of the docs)."""
    ws = ws_linear_ticker(q, spec)
    keys = (
        "symbol lastPrice indexPrice markPrice prevPrice24h price24hPcnt highPrice24h lowPrice24h "
        "prevPrice1h openInterest openInterestValue turnover24h volume24h fundingRate nextFundingTime"
    )
    row: dict[str, Any] = {k: ws[k] for k in keys.split()}
    row.update(
        predictedDeliveryPrice="",
        basisRate="",
        deliveryFeeRate="",
        deliveryTime="0",
        ask1Size=ws["ask1Size"],
        bid1Price=ws["bid1Price"],
        ask1Price=ws["ask1Price"],
        bid1Size=ws["bid1Size"],
        basis="",
        preOpenPrice="",
        preQty="",
        curPreListingPhase="",
        fundingIntervalHour=ws["fundingIntervalHour"],
        basisRateYear="",
        fundingCap=ws["fundingCap"],
    )
    return row


def _spot_last(q: BybitQuote, spec: BybitSpec) -> str:
    return f"{q.spot_bid:.{_dec(spec.spot_tick)}f}"


def spot_ticker(q: BybitQuote, spec: BybitSpec) -> dict[str, Any]:
    d = _dec(spec.spot_tick)
    return {
        "symbol": q.symbol,
        "bid1Price": f"{q.spot_bid:.{d}f}",
        "bid1Size": _qty(q.spot_bid_size, spec.spot_step),
        "ask1Price": f"{q.spot_ask:.{d}f}",
        "ask1Size": _qty(q.spot_ask_size, spec.spot_step),
        "lastPrice": _spot_last(q, spec),
        "prevPrice24h": f"{q.prev_24h:.{d}f}",
        "price24hPcnt": f"{(q.spot_bid - q.prev_24h) / q.prev_24h:.4f}",
        "highPrice24h": f"{max(q.high, q.spot_ask):.{d}f}",
        "lowPrice24h": f"{min(q.low, q.spot_bid):.{d}f}",
        "turnover24h": f"{q.turnover * 0.5:.8f}",
        "volume24h": _qty(q.volume * 0.5, spec.spot_step),
        "usdIndexPrice": f"{q.index:.8f}",
    }


def ws_spot_ticker(q: BybitQuote, spec: BybitSpec) -> dict[str, Any]:
    t = spot_ticker(q, spec)
    keys = "symbol lastPrice highPrice24h lowPrice24h prevPrice24h volume24h turnover24h price24hPcnt"
    return {k: t[k] for k in (*keys.split(), "usdIndexPrice")}


def orderbook(q: BybitQuote, spec: BybitSpec, depth: int, spot: bool, update_id: int) -> dict[str, Any]:
    """`/v5/market/orderbook`: level 0 is the ticker's top; deeper levels step one tick away with
    sizes growing with distance (a plausible shape, the simulator models only the top)."""
    tick_s, step_s = (spec.spot_tick, spec.spot_step) if spot else (spec.tick, spec.step)
    tick, pd, qd = float(tick_s), _dec(tick_s), _dec(step_s)
    bid, ask = (q.spot_bid, q.spot_ask) if spot else (q.bid, q.ask)
    bid_qty, ask_qty = (q.spot_bid_size, q.spot_ask_size) if spot else (q.bid_size, q.ask_size)
    floor = 10.0**-qd
    bids = [
        [f"{bid - i * tick:.{pd}f}", f"{max(bid_qty, floor) * (1 + 0.5 * i):.{qd}f}"]
        for i in range(depth)
        if bid - i * tick > 0
    ]
    asks = [
        [f"{ask + i * tick:.{pd}f}", f"{max(ask_qty, floor) * (1 + 0.5 * i):.{qd}f}"] for i in range(depth)
    ]
    return {
        "s": q.symbol,
        "b": bids,
        "a": asks,
        "ts": q.time_ms,
        "u": update_id,
        "seq": update_id,
        "cts": q.time_ms,
    }


def open_interest_rows(points: list[tuple[int, float]], spec: BybitSpec) -> list[dict[str, Any]]:
    """`/v5/market/open-interest` items, newest first: (time ms, contracts)."""
    return [
        {"openInterest": _qty(oi, spec.step), "timestamp": str(t)}
        for t, oi in sorted(points, key=lambda p: p[0], reverse=True)
    ]


def risk_limit_rows(spec: BybitSpec) -> list[dict[str, Any]]:
    def row(t: RiskTier) -> dict[str, Any]:
        return {
            "id": t.id,
            "symbol": spec.symbol,
            "riskLimitValue": fnum(t.limit),
            "maintenanceMargin": fnum(t.mmr),
            "initialMargin": fnum(t.imr),
            "isLowestRisk": 1 if t.id == 1 else 0,
            "maxLeverage": f"{t.max_leverage:.2f}",
            "mmDeduction": fnum(t.deduction) if t.deduction else "",
        }

    return [row(t) for t in spec.tiers]


def funding_history(rows: list[FundingRecord]) -> list[dict[str, Any]]:
    """Newest first, as the venue sends them."""
    return [
        {"symbol": r.symbol, "fundingRate": fnum(r.rate), "fundingRateTimestamp": str(r.time_ms)}
        for r in sorted(rows, key=lambda r: r.time_ms, reverse=True)
    ]
