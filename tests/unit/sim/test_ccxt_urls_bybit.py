"""point_bybit_at / point_ccxt_at on real ccxt bybit instances (venues.md §4.1), and the Binance recipe."""

from __future__ import annotations

import ccxt
import ccxt.pro

from monitor.collectors.ccxt_urls import point_binance_at, point_bybit_at
from monitor.sim.ccxt_urls import point_ccxt_at

URLS = {
    "futures_rest_url": "http://127.0.0.1:1001",
    "futures_ws_url": "ws://127.0.0.1:1001",
    "spot_rest_url": "http://127.0.0.1:1002",
    "spot_ws_url": "ws://127.0.0.1:1002",
    "bybit_rest_url": "http://127.0.0.1:1003",
    "bybit_ws_url": "ws://127.0.0.1:1003",
}


def test_every_bybit_rest_key_goes_to_the_one_host() -> None:
    ex = ccxt.bybit()
    point_ccxt_at(ex, URLS)
    api = ex.urls["api"]
    assert {k: api[k] for k in ("spot", "futures", "v2", "public", "private")} == dict.fromkeys(
        ("spot", "futures", "v2", "public", "private"), "http://127.0.0.1:1003"
    )
    assert (
        ex.implode_hostname(api["public"]) + "/v5/market/tickers" == "http://127.0.0.1:1003/v5/market/tickers"
    )


def test_bybit_websocket_paths() -> None:
    ex = ccxt.pro.bybit()
    point_ccxt_at(ex, URLS)
    ws = ex.urls["api"]["ws"]
    assert ws["public"] == {
        c: f"ws://127.0.0.1:1003/v5/public/{c}" for c in ("spot", "inverse", "option", "linear")
    }
    assert ws["private"]["contract"] == ws["private"]["spot"]["unified"] == "ws://127.0.0.1:1003/v5/private"
    assert ws["private"]["trade"] == "wss://stream.bybit.com/v5/trade"  # order entry is not simulated


def test_none_leaves_bybit_untouched_and_binance_never_gets_bybit_urls() -> None:
    ex = ccxt.bybit()
    before = dict(ex.urls["api"])
    point_bybit_at(ex, None, None)
    assert ex.urls["api"] == before
    binance = ccxt.pro.binanceusdm()
    point_ccxt_at(binance, URLS)
    assert binance.urls["api"]["fapiPublic"] == "http://127.0.0.1:1001/fapi/v1"
    assert (
        binance.urls["api"]["ws"]["margin"]
        == binance.urls["api"]["ws"]["spot"]
        == "ws://127.0.0.1:1002/stream/ws"
    )
    again = ccxt.binanceusdm()
    point_binance_at(again, "http://h:1", "http://h:2")
    assert (again.urls["api"]["fapiPrivateV3"], again.urls["api"]["sapi"]) == (
        "http://h:1/fapi/v3",
        "http://h:2/sapi/v1",
    )
