"""`symbols = ["*"]` (monitor/collectors/listing.py): which contracts a listing yields, how it resolves."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from monitor.collectors.cadence import stream_limits
from monitor.collectors.listing import (
    binance_listed,
    bybit_listed,
    ccxt_listed,
    keep_listed,
    resolve_listings,
)
from monitor.config import Config, VenueConfig, parse_config
from monitor.errors import ConfigError
from monitor.sim.binance.exchange_info import futures_exchange_info


def test_binance_listing_is_the_trading_usdt_perpetuals() -> None:
    info = futures_exchange_info(0)
    info["symbols"] += [
        {
            "symbol": "BTCUSDT_250627",
            "contractType": "CURRENT_QUARTER",
            "status": "TRADING",
            "marginAsset": "USDT",
        },
        {"symbol": "OLDUSDT", "contractType": "PERPETUAL", "status": "SETTLING", "marginAsset": "USDT"},
        {"symbol": "BTCUSDC", "contractType": "PERPETUAL", "status": "TRADING", "marginAsset": "USDC"},
    ]
    assert binance_listed(info) == ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]


def test_bybit_and_ccxt_listings() -> None:
    rows = [
        {"symbol": "BTCUSDT", "contractType": "LinearPerpetual", "status": "Trading", "settleCoin": "USDT"},
        {"symbol": "BTC-27JUN25", "contractType": "LinearFutures", "status": "Trading", "settleCoin": "USDC"},
        {"symbol": "NEWUSDT", "contractType": "LinearPerpetual", "status": "PreLaunch", "settleCoin": "USDT"},
    ]
    assert bybit_listed({"list": rows}) == ["BTCUSDT"]
    markets: dict[str, Any] = {
        "BTC/USDT:USDT": {"swap": True, "linear": True, "settle": "USDT", "base": "BTC", "quote": "USDT"},
        "ETH/USD:ETH": {"swap": True, "linear": False, "settle": "ETH", "base": "ETH", "quote": "USD"},
        "BTC/USDT": {"spot": True, "base": "BTC", "quote": "USDT"},
        "X/USDT:USDT": {
            "swap": True,
            "linear": True,
            "settle": "USDT",
            "base": "X",
            "quote": "USDT",
            "active": False,
        },
    }
    assert ccxt_listed(markets) == ["BTCUSDT"]


def _cfg(symbols: list[str], **venue: Any) -> Config:
    data = {"venues": [{"name": "v", "symbols": symbols, **venue}]}
    return parse_config(data, {})[0]


async def test_star_resolves_to_the_listing_and_keeps_the_named_ones() -> None:
    cfg = _cfg(["*", "ZZZUSDT"])
    asked: list[str] = []

    async def fetch(v: VenueConfig) -> list[str]:
        asked.append(v.name)
        return ["BTCUSDT", "ZZZUSDT", "ETHUSDT"]

    out = await resolve_listings(cfg, fetch)
    assert asked == ["v"]
    assert out.venues[0].symbols == ("*", "ZZZUSDT", "BTCUSDT", "ETHUSDT")
    # every listed symbol is a stream the evaluator and the collector expect; "*" is none
    assert set(stream_limits(out, out.venues[0])) >= {"mark:BTCUSDT", "mark:ETHUSDT", "mark:ZZZUSDT"}
    assert not any("*" in s for s in stream_limits(out, out.venues[0]))


async def test_a_venue_that_cannot_answer_starts_with_its_named_symbols() -> None:
    async def down(_v: VenueConfig) -> list[str]:
        raise OSError("unreachable")

    out = await resolve_listings(_cfg(["*", "BTCUSDT"]), down)
    assert out.venues[0].symbols == ("*", "BTCUSDT")


def test_a_reload_keeps_what_start_up_resolved() -> None:
    running = _cfg(["*"])
    running = msgspec.structs.replace(
        running, venues=(msgspec.structs.replace(running.venues[0], symbols=("*", "BTCUSDT", "ETHUSDT")),)
    )
    assert keep_listed(running, _cfg(["*"])).venues[0].symbols == ("*", "BTCUSDT", "ETHUSDT")
    assert keep_listed(running, _cfg(["SOLUSDT"])).venues[0].symbols == ("SOLUSDT",)


def test_spot_star_is_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError) as err:
        _cfg(["*"], spot_symbols=["*"])
    assert err.value.path == "venues[0].spot_symbols" and "name the ones" in str(err.value)
