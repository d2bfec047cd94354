"""The simulated Bybit's wire shapes against the venue's own docs examples (same keys, same JSON types).

Every payload is taken off the wire of a running simulator (REST over HTTP, topics over the socket),
not from the payload builders, and compared with the examples extracted from bybit-exchange/docs
@072c197d (copied under tests/testdata/sim/bybit-docs-examples/).
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from monitor.sim.bybit.auth import realtime_signature, signed_headers
from monitor.sim.server import Simulator
from monitor.sim.testing import BYBIT_TEST_KEYS, bybit_config, running_simulator

pytestmark = pytest.mark.integration
DOCS = Path(__file__).parents[1] / "testdata" / "sim" / "bybit-docs-examples"
TIMEOUT = 5.0


def examples(name: str) -> list[Any]:
    """The JSON blocks of one docs page, verbatim but for `//` comments, `....` elisions, trailing commas."""
    out: list[Any] = []
    for chunk in (DOCS / name).read_text().split("\n----\n")[1:]:
        text = chunk[chunk.index("{") :]
        text = re.sub(r"//[^\n]*", "", text)
        text = re.sub(r"^\s*\.{3,}\s*$", "", text, flags=re.M)
        text = re.sub(r",(\s*[\]}])", r"\1", text)
        decoder = json.JSONDecoder()
        pos = 0
        while True:
            obj, end = decoder.raw_decode(text, pos)
            out.append(obj)
            pos = text.find("{", end)
            if pos < 0:
                break
    return out


def same_shape(ours: Any, theirs: Any, path: str = "$") -> None:
    """Same keys at every level, and the same JSON type wherever the example has a value."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict), path
        assert set(ours) == set(theirs), (
            f"{path}: extra {set(ours) - set(theirs)}, missing {set(theirs) - set(ours)}"
        )
        for k, v in theirs.items():
            same_shape(ours[k], v, f"{path}.{k}")
    elif isinstance(theirs, list):
        assert isinstance(ours, list), path
        if theirs and ours:
            same_shape(ours[0], theirs[0], f"{path}[0]")
    elif theirs is not None:
        assert type(ours) is type(theirs), f"{path}: {type(ours).__name__} vs {type(theirs).__name__}"


async def get(sim: Simulator, path: str, query: str = "", account: str | None = None) -> Any:
    headers: dict[str, str] = {}
    if account is not None:
        key, secret = BYBIT_TEST_KEYS[account]
        headers = signed_headers(key.reveal(), secret.reveal(), query, sim.bybit.now_ms())
    url = f"{sim.bybit_rest_url}{path}" + (f"?{query}" if query else "")
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        assert resp.status == 200
        return await resp.json()


async def test_rest_answers_have_the_docs_shapes() -> None:
    async with running_simulator(bybit_config()) as sim:
        sim.pause()
        tickers = await get(sim, "/v5/market/tickers", "category=linear")
        doc = examples("market_tickers.json-examples.txt")[0]  # inverse perp: the same field set as linear
        same_shape(tickers, doc)
        assert [t["symbol"] for t in tickers["result"]["list"]] == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]

        spot = await get(sim, "/v5/market/tickers", "category=spot&symbol=BTCUSDT")
        same_shape(spot, examples("market_tickers.json-examples.txt")[2])

        spot_instr = await get(sim, "/v5/market/instruments-info", "category=spot")
        same_shape(spot_instr, examples("market_instrument.json-examples.txt")[1])

        history = await get(sim, "/v5/market/funding/history", "category=linear&symbol=BTCUSDT&limit=5")
        same_shape(history, examples("market_history-fund-rate.json-examples.txt")[0])
        times = [int(r["fundingRateTimestamp"]) for r in history["result"]["list"]]
        assert len(times) == 5 and times == sorted(times, reverse=True)  # newest first

        risk = await get(sim, "/v5/market/risk-limit", "category=linear&symbol=BTCUSDT")
        doc_risk = examples("market_risk-limit.json-examples.txt")[0]
        same_shape(risk["result"]["list"][0], doc_risk["result"]["list"][0])
        assert risk["result"]["list"][0]["mmDeduction"] == ""  # tier 1, as in the example
        assert risk["result"]["list"][1]["mmDeduction"] == "10000"

        positions = await get(sim, "/v5/position/list", "category=linear&settleCoin=USDT", "carol")
        same_shape(positions, examples("position_position.json-examples.txt")[0])

        wallet = await get(sim, "/v5/account/wallet-balance", "accountType=UNIFIED", "carol")
        same_shape(wallet, examples("account_wallet-balance.json-examples.txt")[0])

        info = await get(sim, "/v5/account/info", "", "dave")
        # (this docs example elides the envelope's retExtInfo and time)
        same_shape(info["result"], examples("account_account-info.json-examples.txt")[0]["result"])
        assert info["result"]["marginMode"] == "ISOLATED_MARGIN"


async def _frames(ws: aiohttp.ClientWebSocketResponse, n: int) -> list[dict[str, Any]]:
    return [json.loads((await asyncio.wait_for(ws.receive(), TIMEOUT)).data) for _ in range(n)]


async def test_public_ticker_snapshot_then_deltas_and_ping() -> None:
    async with (
        running_simulator(bybit_config()) as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.bybit_ws_url}/v5/public/linear") as ws,
    ):
        await ws.send_str(json.dumps({"op": "subscribe", "args": ["tickers.BTCUSDT"], "req_id": "7"}))
        ack, snap, delta = await _frames(ws, 3)
        docs = examples("websocket_wss-authentication.json-examples.txt")
        same_shape(ack, docs[10])  # {"success","ret_msg","conn_id","req_id","op"}
        assert (ack["success"], ack["op"], ack["req_id"]) == (True, "subscribe", "7")
        same_shape(snap, examples("websocket_public_ticker.json-examples.txt")[0])
        assert snap["type"] == "snapshot" and delta["type"] == "delta"
        assert delta["topic"] == "tickers.BTCUSDT" and delta["data"]["symbol"] == "BTCUSDT"
        assert set(delta["data"]) < set(snap["data"])  # only what changed
        merged = {**snap["data"], **delta["data"]}
        sim.pause()
        await asyncio.sleep(0.2)
        while True:  # drain to the frozen state, merging as a client does
            try:
                msg = json.loads((await asyncio.wait_for(ws.receive(), 0.6)).data)
            except TimeoutError:
                break
            merged.update(msg["data"])
        q = sim.bybit.market.quotes["BTCUSDT"]
        assert (float(merged["markPrice"]), float(merged["indexPrice"]), float(merged["fundingRate"])) == (
            q.mark,
            q.index,
            q.funding_rate,
        )
        await ws.send_str(json.dumps({"op": "ping", "req_id": "p1"}))
        (pong,) = await _frames(ws, 1)
        same_shape(pong, docs[3])
        assert pong["ret_msg"] == "pong"
        await ws.send_str(json.dumps({"op": "subscribe", "args": ["tickers.DOGEUSDT"], "req_id": "8"}))
        (nack,) = await _frames(ws, 1)
        assert (nack["success"], nack["req_id"]) == (False, "8")


async def test_spot_tickers_are_snapshots_only() -> None:
    async with (
        running_simulator(bybit_config()) as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.bybit_ws_url}/v5/public/spot") as ws,
    ):
        await ws.send_str(json.dumps({"op": "subscribe", "args": ["tickers.ETHUSDT"]}))
        _ack, first, second = await _frames(ws, 3)
        doc = examples("websocket_public_ticker.json-examples.txt")[3]
        same_shape(first, doc)
        assert first["type"] == second["type"] == "snapshot"


async def test_private_auth_then_position_and_wallet_topics() -> None:
    async with (
        running_simulator(bybit_config()) as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.bybit_ws_url}/v5/private") as ws,
    ):
        key, secret = BYBIT_TEST_KEYS["carol"]
        await ws.send_str(json.dumps({"op": "subscribe", "args": ["position"], "req_id": "early"}))
        (refused,) = await _frames(ws, 1)
        assert (refused["success"], refused["ret_msg"]) == (False, "Request not authorized")
        expires = sim.bybit.now_ms() + 10_000
        bad = {"op": "auth", "args": [key.reveal(), expires, realtime_signature("wrong", expires)]}
        await ws.send_str(json.dumps(bad))
        (nope,) = await _frames(ws, 1)
        assert (nope["success"], nope["op"]) == (False, "auth")
        good = {"op": "auth", "args": [key.reveal(), expires, realtime_signature(secret.reveal(), expires)]}
        await ws.send_str(json.dumps(good))
        (auth,) = await _frames(ws, 1)
        same_shape(auth, examples("websocket_wss-authentication.json-examples.txt")[1])
        assert auth["success"] is True
        await ws.send_str(json.dumps({"op": "subscribe", "args": ["position", "wallet"], "req_id": "s"}))
        (ack,) = await _frames(ws, 1)
        assert ack["success"] is True
        sim.bybit.engine.set_position("carol", "ETHUSDT", 5.0, leverage=10.0, now_ms=sim.bybit.now_ms())
        position, wallet = await _frames(ws, 2)
        same_shape(position, examples("websocket_private_position.json-examples.txt")[1])
        same_shape(wallet, examples("websocket_private_wallet.json-examples.txt")[1])
        assert position["data"][0]["symbol"] == "ETHUSDT" and position["data"][0]["size"] == "5.00"
        await ws.send_str(json.dumps({"op": "ping", "req_id": "hb"}))
        (pong,) = await _frames(ws, 1)
        same_shape(pong, examples("websocket_wss-authentication.json-examples.txt")[5])


async def test_signature_rejections_over_http() -> None:
    """Unknown key 10003 (HTTP 401), bad signature 10004, stale or future timestamp 10002."""
    async with running_simulator(bybit_config()) as sim, aiohttp.ClientSession() as http:
        key, secret = BYBIT_TEST_KEYS["carol"]
        query = "accountType=UNIFIED"
        url = f"{sim.bybit_rest_url}/v5/account/wallet-balance?{query}"
        now = sim.bybit.now_ms()
        cases = [
            (signed_headers("no-such-key", secret.reveal(), query, now), 401, 10003),
            (signed_headers(key.reveal(), "wrong-secret", query, now), 200, 10004),
            (signed_headers(key.reveal(), secret.reveal(), query + "&x=1", now), 200, 10004),
            (signed_headers(key.reveal(), secret.reveal(), query, now - 60_000), 200, 10002),
            (signed_headers(key.reveal(), secret.reveal(), query, now + 5_000), 200, 10002),
            (signed_headers(key.reveal(), secret.reveal(), query, now), 200, 0),
        ]
        for headers, status, code in cases:
            async with http.get(url, headers=headers) as resp:
                body = await resp.json()
                assert (resp.status, body["retCode"]) == (status, code), body
                assert set(body) == {"retCode", "retMsg", "result", "retExtInfo", "time"}
                assert key.reveal() not in body["retMsg"] and secret.reveal() not in json.dumps(body)


async def test_depth_one_book_is_a_snapshot_of_the_top() -> None:
    """The documented `orderbook.1` frame (docs v5/websocket/public/orderbook): top of book only."""
    async with (
        running_simulator(bybit_config()) as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.bybit_ws_url}/v5/public/spot") as ws,
    ):
        await ws.send_str(json.dumps({"op": "subscribe", "args": ["orderbook.1.SOLUSDT"], "req_id": "b"}))
        ack, book = await _frames(ws, 2)
        assert ack["success"] is True
        assert set(book) == {"topic", "type", "ts", "data", "cts"} and book["type"] == "snapshot"
        assert set(book["data"]) == {"s", "b", "a", "u", "seq"}
        (bid, bid_size), (ask, ask_size) = book["data"]["b"][0], book["data"]["a"][0]
        assert all(isinstance(x, str) for x in (bid, bid_size, ask, ask_size))
        assert float(bid) < float(ask)
        await ws.send_str(json.dumps({"op": "subscribe", "args": ["orderbook.200.SOLUSDT"], "req_id": "c"}))
        while True:  # depths 1 and 50 are simulated
            reply = json.loads((await asyncio.wait_for(ws.receive(), TIMEOUT)).data)
            if reply.get("op") == "subscribe":
                break
        assert (reply["success"], reply["req_id"]) == (False, "c")


async def test_depth_fifty_book_is_a_snapshot_then_deltas() -> None:
    """`orderbook.50` (docs v5/websocket/public/orderbook): a 50-level snapshot, then deltas of the
    levels that changed; merged, they are the REST book of the same moment."""
    async with (
        running_simulator(bybit_config()) as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.bybit_ws_url}/v5/public/linear") as ws,
    ):
        await ws.send_str(json.dumps({"op": "subscribe", "args": ["orderbook.50.BTCUSDT"], "req_id": "d"}))
        ack, snap = await _frames(ws, 2)
        assert ack["success"] is True
        assert set(snap) == {"topic", "type", "ts", "data", "cts"} and snap["type"] == "snapshot"
        assert set(snap["data"]) == {"s", "b", "a", "u", "seq"}
        assert len(snap["data"]["b"]) == len(snap["data"]["a"]) == 50
        book = {side: dict(snap["data"][side]) for side in ("b", "a")}
        (delta,) = await _frames(ws, 1)
        assert delta["type"] == "delta" and delta["data"]["u"] > snap["data"]["u"]
        for side in ("b", "a"):
            for px, size in delta["data"][side]:
                if size == "0":
                    book[side].pop(px)
                else:
                    book[side][px] = size
        sim.pause()
        while True:  # drain what was sent before the pause
            try:
                frame = json.loads((await asyncio.wait_for(ws.receive(), 0.5)).data)
            except TimeoutError:
                break
            for side in ("b", "a"):
                for px, size in frame["data"][side]:
                    if size == "0":
                        book[side].pop(px)
                    else:
                        book[side][px] = size
        params = {"category": "linear", "symbol": "BTCUSDT", "limit": "50"}
        async with http.get(f"{sim.bybit_rest_url}/v5/market/orderbook", params=params) as r:
            rest = (await r.json())["result"]
        assert book == {"b": dict(rest["b"]), "a": dict(rest["a"])}


async def test_category_position_topic_gets_linear_positions() -> None:
    async with (
        running_simulator(bybit_config()) as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.bybit_ws_url}/v5/private") as ws,
    ):
        key, secret = BYBIT_TEST_KEYS["dave"]
        expires = sim.bybit.now_ms() + 10_000
        auth = {
            "op": "auth",
            "args": [key.reveal(), str(expires), realtime_signature(secret.reveal(), expires)],
        }
        await ws.send_str(json.dumps(auth))
        await ws.send_str(json.dumps({"op": "subscribe", "args": ["position.linear"], "req_id": "1"}))
        authed, ack = await _frames(ws, 2)
        assert authed["success"] is True and ack["success"] is True
        sim.bybit.engine.set_position("dave", "SOLUSDT", 10.0, leverage=5.0, now_ms=sim.bybit.now_ms())
        (frame,) = await _frames(ws, 1)  # no wallet frame: not subscribed
        assert frame["topic"] == "position.linear"
        assert [(r["symbol"], r["size"], r["category"]) for r in frame["data"]] == [
            ("SOLUSDT", "10.0", "linear")
        ]
