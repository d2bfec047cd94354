"""Every real response in ccxt's static fixtures against the simulator's answer to the same call, and
ccxt's recorded request log replayed through ccxt at the simulator.

Shapes: the same keys, recursively, and the same JSON types. The fixtures were recorded by ccxt's
tooling, which in older captures turned integers into digit strings ("updateTime": "1722161166529",
"lastUpdateId": "35263532345"), while the venue's own docs and connector models type those fields as
integers. Where the simulator follows the venue there, the field is named in INT_FIELDS with that
reason; a digit string is accepted for it, nothing else is relaxed.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import ccxt.async_support as ccxta
import pytest

from monitor.clock import ManualClock
from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.server import Simulator
from monitor.sim.testing import TEST_KEYS, fast_config, running_simulator, signed_query

pytestmark = pytest.mark.integration
LOCAL = Path(__file__).parents[1] / "testdata" / "sim"  # copies of ../shared/fixtures/ccxt-static
RESPONSES = LOCAL / "binance.EXCERPT-usdm-relevant.json"
REQUESTS = LOCAL / "ccxt-request-binanceusdm.json"

# fixture entry → (host, path, signed?, params) of the simulator call that answers it; None: not served
ENDPOINTS: dict[tuple[str, int], tuple[str, str, bool, dict[str, str]] | None] = {
    ("fetchPositions", 0): ("futures", "/fapi/v3/positionRisk", True, {}),
    ("fetchPositions", 1): ("futures", "/fapi/v3/positionRisk", True, {"symbol": "BTCUSDT"}),
    ("fetchPositions", 2): ("futures", "/fapi/v3/account", True, {}),
    ("fetchPositions", 3): None,  # COIN-M (dapi) inverse positions: the simulator lists USDⓈ-M only
    ("fetchBalance", 0): ("futures", "/fapi/v2/account", True, {}),
    ("fetchMarginMode", 0): ("futures", "/fapi/v1/symbolConfig", True, {"symbol": "BTCUSDT"}),
    ("fetchOrderBook", 0): ("futures", "/fapi/v1/depth", False, {"symbol": "BTCUSDT", "limit": "5"}),
    ("fetchTicker", 0): ("spot", "/api/v3/ticker/24hr", False, {"symbol": "BTCUSDT"}),
}
# (endpoint, key): integers at the venue (docs / connector models), digit strings in the fixture
INT_FIELDS = {
    ("/fapi/v1/symbolConfig", "leverage"): "symbolConfig docs: leverage INT",
    ("/fapi/v1/depth", "lastUpdateId"): "order book docs: lastUpdateId LONG",
    ("/fapi/v1/depth", "E"): "order book docs: message output time LONG",
    ("/fapi/v1/depth", "T"): "order book docs: transaction time LONG",
    ("/api/v3/ticker/24hr", "openTime"): "spot rest-api.md: LONG",
    ("/api/v3/ticker/24hr", "closeTime"): "spot rest-api.md: LONG",
    ("/api/v3/ticker/24hr", "firstId"): "spot rest-api.md: LONG",
    ("/api/v3/ticker/24hr", "lastId"): "spot rest-api.md: LONG",
    ("/api/v3/ticker/24hr", "count"): "spot rest-api.md: LONG",
}


def _mismatches(endpoint: str, real: Any, ours: Any, where: str = "$") -> list[str]:
    """Where `ours` differs from `real` in keys or JSON types (empty: same shape)."""
    if isinstance(real, dict):
        if not isinstance(ours, dict):
            return [f"{where}: object expected, got {type(ours).__name__}"]
        out = [f"{where}: keys {sorted(set(real) ^ set(ours))} differ"] if set(real) != set(ours) else []
        for k in set(real) & set(ours):
            if (
                (endpoint, k) in INT_FIELDS
                and isinstance(ours[k], int)
                and re.fullmatch(r"-?\d+", str(real[k]))
            ):
                continue
            out += _mismatches(endpoint, real[k], ours[k], f"{where}.{k}")
        return out
    if isinstance(real, list):
        if not isinstance(ours, list):
            return [f"{where}: array expected, got {type(ours).__name__}"]
        if not real:
            return []
        out = []
        for i, item in enumerate(ours):  # rows against the real rows (the last one for extra rows)
            out += _mismatches(endpoint, real[min(i, len(real) - 1)], item, f"{where}[{i}]")
        return out
    if type(real) is not type(ours):
        return [f"{where}: {type(real).__name__} expected, got {type(ours).__name__} ({ours!r})"]
    return []


def _entries() -> list[tuple[str, int]]:
    methods = json.loads(RESPONSES.read_text())["methods"]
    return [(m, i) for m, cases in methods.items() for i in range(len(cases))]


def test_every_fixture_entry_is_mapped() -> None:
    """A new fixture entry cannot be skipped silently: each one names its endpoint or why there is none."""
    assert sorted(_entries()) == sorted(ENDPOINTS)


async def _answer(sim: Simulator, host: str, path: str, signed: bool, params: dict[str, str]) -> Any:
    base = sim.futures_rest_url if host == "futures" else sim.spot_rest_url
    headers = {}
    if signed:
        key, secret = TEST_KEYS["alice"]
        headers["X-MBX-APIKEY"] = key.reveal()
        query = signed_query(secret, params, sim.clock.now_ns() // 1_000_000)
    else:
        query = "&".join(f"{k}={v}" for k, v in params.items())
    async with aiohttp.ClientSession() as http, http.get(f"{base}{path}?{query}", headers=headers) as r:
        assert r.status == 200, await r.text()
        return await r.json()


@pytest.mark.parametrize("entry", [e for e, ep in ENDPOINTS.items() if ep is not None], ids=str)
async def test_answer_has_the_real_keys_and_json_types(entry: tuple[str, int]) -> None:
    method, index = entry
    real = json.loads(RESPONSES.read_text())["methods"][method][index]["httpResponse"]
    endpoint = ENDPOINTS[entry]
    assert endpoint is not None
    host, path, signed, params = endpoint
    async with running_simulator(fast_config(), clock=ManualClock(time.time_ns())) as sim:
        ours = await _answer(sim, host, path, signed, params)
    assert _mismatches(path, real, ours) == []


def test_the_comparison_catches_a_wrong_type_or_a_missing_key() -> None:
    real = {"a": "1", "b": [["1.0", "2"]], "updateTime": "17"}
    assert _mismatches("/x", real, {"a": "1", "b": [["1.0", "2"]], "updateTime": "9"}) == []
    assert _mismatches("/x", real, {"a": 1, "b": [["1.0", "2"]], "updateTime": "9"})
    assert _mismatches("/x", real, {"a": "1", "b": [["1.0", 2]], "updateTime": "9"})
    assert _mismatches("/x", real, {"a": "1", "updateTime": "9"})
    assert _mismatches("/x", real, {"a": "1", "b": [["1.0", "2"]], "updateTime": 9})  # not in INT_FIELDS


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _request_cases() -> list[dict[str, Any]]:
    methods = json.loads(REQUESTS.read_text())["methods"]
    return [case for cases in methods.values() for case in cases]


@pytest.mark.parametrize("case", _request_cases(), ids=lambda c: c["description"])
async def test_ccxt_request_log_is_served(case: dict[str, Any]) -> None:
    """ccxt sends the very request it recorded (same path, same parameters) and the venue answers it."""
    key, secret = TEST_KEYS["alice"]
    async with running_simulator(fast_config()) as sim:
        ex = ccxta.binanceusdm(
            {"apiKey": key.reveal(), "secret": secret.reveal(), "enableLastJsonResponse": True}
        )
        point_ccxt_at(ex, sim)
        try:
            await getattr(ex, _snake(case["method"]))(*case["input"])
            sent = urlsplit(ex.last_request_url)
            body = ex.last_json_response
        finally:
            await ex.close()
    recorded = urlsplit(case["url"])
    assert sent.path == recorded.path
    volatile = {"timestamp", "signature"}
    assert {k: v for k, v in parse_qsl(sent.query) if k not in volatile} == {
        k: v for k, v in parse_qsl(recorded.query) if k not in volatile
    }
    if case["method"] == "cancelOrders":  # no open orders: the venue's per-id "unknown order"
        ids = case["input"][2].get("clientOrderIds") or case["input"][2].get("orderIds")
        assert body == [{"code": -2011, "msg": "Unknown order sent."}] * len(ids)


def _none_keys(parsed: dict[str, Any]) -> set[str]:
    return {k for k, v in parsed.items() if v is None}


async def test_ccxt_parses_ours_like_the_real_responses() -> None:
    """The fixture's parsedResponse and ccxt's parse of our answer: same keys, same fields filled."""
    methods = json.loads(RESPONSES.read_text())["methods"]
    key, secret = TEST_KEYS["alice"]
    creds = {"apiKey": key.reveal(), "secret": secret.reveal()}
    async with running_simulator(fast_config()) as sim:
        sim.pause()
        usdm = ccxta.binanceusdm(creds)
        spot = ccxta.binance({**creds, "options": {"fetchMarkets": {"types": ["spot", "linear"]}}})
        for ex in (usdm, spot):
            point_ccxt_at(ex, sim)
        try:
            book = await usdm.fetch_order_book("BTC/USDT:USDT", 5)
            ticker = await spot.fetch_ticker("BTC/USDT")
            mode = await usdm.fetch_margin_mode("BTC/USDT:USDT")
        finally:
            for ex in (usdm, spot):
                await ex.close()
        q = sim.market.quotes["BTCUSDT"]
    real_book = methods["fetchOrderBook"][0]["parsedResponse"]
    assert set(book) >= set(real_book) and len(book["bids"]) == len(real_book["bids"]) == 5
    assert book["bids"][0] == [q.bid, q.bid_qty] and book["asks"][0] == [q.ask, q.ask_qty]
    assert 0 < book["nonce"] <= q.update_id and 0 < book["timestamp"] <= q.time_ms  # ticks go on while paused
    real_ticker = methods["fetchTicker"][0]["parsedResponse"]
    assert set(ticker) == set(real_ticker)
    assert _none_keys(ticker) == _none_keys(real_ticker)
    assert (ticker["bid"], ticker["ask"], ticker["last"]) == (q.spot_bid, q.spot_ask, q.index)
    real_mode = methods["fetchMarginMode"][0]["parsedResponse"]
    assert set(mode) == set(real_mode) and mode["marginMode"] == "cross"
