"""point_ccxt_at: the venues.md §4.1 recipe on real ccxt instances."""

from __future__ import annotations

import ccxt
import ccxt.pro

from monitor.sim.ccxt_urls import point_ccxt_at

URLS = {
    "futures_rest_url": "http://127.0.0.1:1001",
    "futures_ws_url": "ws://127.0.0.1:1001",
    "spot_rest_url": "http://127.0.0.1:1002",
    "spot_ws_url": "ws://127.0.0.1:1002",
}


def test_rest_hosts_change_and_paths_stay() -> None:
    ex = ccxt.binanceusdm()
    point_ccxt_at(ex, URLS)
    api = ex.urls["api"]
    assert api["fapiPublic"] == "http://127.0.0.1:1001/fapi/v1"
    assert api["fapiPrivateV3"] == "http://127.0.0.1:1001/fapi/v3"
    assert api["fapiData"] == "http://127.0.0.1:1001/futures/data"
    assert api["sapi"] == "http://127.0.0.1:1002/sapi/v1"
    assert api["sapiV4"] == "http://127.0.0.1:1002/sapi/v4"
    assert api["public"] == "http://127.0.0.1:1002/api/v3"
    assert api["v1"] == "http://127.0.0.1:1002/api/v1"
    assert api["dapiPublic"].startswith("https://dapi.binance.com")  # COIN-M is not simulated


def test_pro_websocket_bases() -> None:
    ex = ccxt.pro.binanceusdm()
    point_ccxt_at(ex, URLS)
    assert ex.urls["api"]["ws"]["linear"] == "ws://127.0.0.1:1001/ws"
    assert ex.urls["api"]["ws"]["spot"] == "ws://127.0.0.1:1002/stream/ws"
    assert ex.get_ws_url("linear", "market") == "ws://127.0.0.1:1001/market/ws"


def test_none_leaves_a_client_untouched_and_keywords_win() -> None:
    ex = ccxt.binance()
    before = dict(ex.urls["api"])
    point_ccxt_at(ex, None)
    assert ex.urls["api"] == before
    point_ccxt_at(ex, URLS, spot_rest_url="https://proxy.example/")
    assert ex.urls["api"]["public"] == "https://proxy.example/api/v3"
    assert ex.urls["api"]["fapiPublic"] == "http://127.0.0.1:1001/fapi/v1"
