"""The simulator's WebSocket protocol on the wire: URL layouts, SUBSCRIBE, keep-alive, user data, faults."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any

import aiohttp
import pytest

from monitor.clock import ManualClock
from monitor.sim.server import Simulator
from monitor.sim.testing import TEST_KEYS, fast_config, running_simulator

pytestmark = pytest.mark.integration
T = 3.0
H8_MS = 8 * 3_600_000


async def _json(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await asyncio.wait_for(ws.receive(), T)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def _listen_key(base: str, account: str = "alice") -> str:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{base}/fapi/v1/listenKey", headers={"X-MBX-APIKEY": TEST_KEYS[account][0].reveal()}) as r,
    ):
        return str((await r.json())["listenKey"])


async def test_subscribe_protocol_on_a_ccxt_style_path() -> None:
    """SUBSCRIBE → {"result":null,"id"}; LIST_SUBSCRIPTIONS; then raw frames; UNSUBSCRIBE stops them."""
    async with (
        running_simulator() as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.futures_ws_url}/market/ws/0") as ws,
    ):
        await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@markPrice@1s"], "id": 1}))
        assert await _json(ws) == {"result": None, "id": 1}
        await ws.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": "abc"}))
        frames = [await _json(ws) for _ in range(3)]
        assert {"result": ["btcusdt@markPrice@1s"], "id": "abc"} in frames
        data = next(f for f in frames if "e" in f)
        assert (data["e"], data["s"]) == ("markPriceUpdate", "BTCUSDT")
        await ws.send_str(json.dumps({"method": "UNSUBSCRIBE", "params": ["btcusdt@markPrice@1s"], "id": 2}))
        while (await _json(ws)).get("id") != 2:
            pass
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(ws.receive(), 0.3)
        await ws.send_str("{not json")
        assert (await _json(ws))["error"]["code"] == 3


async def test_combined_streams_are_wrapped_and_arrays_stay_arrays() -> None:
    async with (
        running_simulator() as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.futures_ws_url}/stream?streams=btcusdt@bookTicker/!markPrice@arr@1s") as ws,
    ):
        seen: dict[str, Any] = {}
        while len(seen) < 2:
            f = await _json(ws)
            seen[f["stream"]] = f["data"]
        assert seen["btcusdt@bookTicker"]["e"] == "bookTicker"
        assert isinstance(seen["!markPrice@arr@1s"], list) and len(seen["!markPrice@arr@1s"]) == 4


@pytest.mark.parametrize(
    "path", ["/ws/btcusdt@bookTicker", "/stream/ws/0?x=1", "/stream?streams=btcusdt@bookTicker"]
)
async def test_spot_book_ticker_has_no_event_type(path: str) -> None:
    async with (
        running_simulator() as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.spot_ws_url}{path}") as ws,
    ):
        if "/stream/ws/" in path:
            await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 7}))
            assert await _json(ws) == {"result": None, "id": 7}
        f = await _json(ws)
        data = f["data"] if "streams=" in path else f
        assert "e" not in data and data["s"] == "BTCUSDT" and float(data["a"]) > float(data["b"])


async def test_pings_both_ways_and_silent_peers_are_dropped() -> None:
    """The server answers pings, pings every ws_ping_s and closes a peer silent past the timeout."""
    cfg = fast_config(ws_ping_s=0.1, ws_pong_timeout_s=0.35)
    async with running_simulator(cfg) as sim, aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{sim.futures_ws_url}/ws", autoping=False) as ws:
            await ws.ping(b"hi")
            kinds = set()
            while aiohttp.WSMsgType.PONG not in kinds or aiohttp.WSMsgType.PING not in kinds:
                kinds.add((await asyncio.wait_for(ws.receive(), T)).type)
            msg = await asyncio.wait_for(ws.receive(), T)  # we never pong: the server gives up
            while msg.type == aiohttp.WSMsgType.PING:
                msg = await asyncio.wait_for(ws.receive(), T)
            assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1008
        async with http.ws_connect(
            f"{sim.futures_ws_url}/ws/btcusdt@markPrice@1s"
        ) as ws:  # autoping: stays up
            for _ in range(12):
                await _json(ws)


async def test_faults_stall_malformed_repeat_disconnect() -> None:
    async with (
        running_simulator() as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.futures_ws_url}/ws/btcusdt@bookTicker", autoping=False) as ws,
    ):
        await _json(ws)
        sim.faults.stall()
        await asyncio.sleep(0.1)
        with pytest.raises(asyncio.TimeoutError):  # drain what was queued before the stall, then silence
            while True:
                await asyncio.wait_for(ws.receive(), 0.2)
        await ws.ping(b"still there?")
        assert (await asyncio.wait_for(ws.receive(), T)).type == aiohttp.WSMsgType.PONG
        sim.faults.stall(False)
        sim.faults.send_malformed()
        msg = await asyncio.wait_for(ws.receive(), T)
        with pytest.raises(json.JSONDecodeError):
            json.loads(msg.data)
        sim.faults.repeat_frames()
        frames = [(await asyncio.wait_for(ws.receive(), T)).data for _ in range(4)]
        assert any(a == b for a, b in itertools.pairwise(frames))
        sim.faults.disconnect_all()
        while (msg := await asyncio.wait_for(ws.receive(), T)).type == aiohttp.WSMsgType.TEXT:
            pass
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1001


async def _registered(sim: Simulator, key: str, before: frozenset[object] = frozenset()) -> None:
    """Wait until the simulator routes the key's events to a connection not in `before` (not a fixed
    sleep: the server registers the socket after the client's handshake returns, later when loaded)."""
    for _ in range(1000):
        if any(key in c.listen_keys for c in sim.futures_hub.connections if c not in before):
            return
        await asyncio.sleep(0.005)
    raise AssertionError("the user stream connection was never registered")


async def test_private_stream_rejects_unknown_keys_and_serves_both_paths() -> None:
    async with running_simulator() as sim, aiohttp.ClientSession() as http:
        async with http.ws_connect(f"{sim.futures_ws_url}/private/ws?listenKey=nope") as ws:
            msg = await asyncio.wait_for(ws.receive(), T)
            assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1008
        key = await _listen_key(sim.futures_rest_url)
        for url in (f"/private/ws?listenKey={key}", f"/private/ws/{key}", f"/ws/{key}"):
            before = frozenset(sim.futures_hub.connections)  # the last path's socket may not be gone yet
            async with http.ws_connect(f"{sim.futures_ws_url}{url}") as ws:
                q = sim.market.quotes["BTCUSDT"]
                await _registered(sim, key, before)
                sim.engine.settle_funding("BTCUSDT", 0.0001, q.mark, q.time_ms)
                event = await _json(ws)
                assert (
                    event["e"] == "ACCOUNT_UPDATE"
                    and event["a"]["m"] == "FUNDING_FEE"
                    and "P" not in event["a"]
                )


async def test_funding_settles_on_the_wall_clock_and_keys_expire_after_an_hour() -> None:
    """With a ManualClock: crossing 00:00/08:00/16:00 settles funding; 60 min idle expires the key."""
    clock = ManualClock(start_ns=(1_795_000_000_000 // H8_MS * H8_MS + H8_MS - 500) * 1_000_000)
    async with running_simulator(fast_config(), clock=clock) as sim, aiohttp.ClientSession() as http:
        key = await _listen_key(sim.futures_rest_url)
        async with http.ws_connect(f"{sim.futures_ws_url}/private/ws?listenKey={key}") as ws:
            await _registered(sim, key)
            clock.advance(1.0)
            event = await _json(ws)
            assert event["a"]["m"] == "FUNDING_FEE" and event["E"] == clock.now_ns() // 1_000_000
            pay = next(p for p in sim.engine.funding_payments if p.symbol == "BTCUSDT")
            assert pay.amount == pytest.approx(-12.5 * pay.mark * pay.rate, abs=1e-8)
            assert sim.funding.query("BTCUSDT", None, None, 1)[0].time_ms % H8_MS == 0
            # Held still, the market does not replay the hour: at speed 60 one tick would play 60 h of
            # the path (seconds of CPU on a loaded box), and the expiry waits behind it.
            sim.pause()
            clock.advance(3_601.0)
            while (event := await _json(ws))["e"] != "listenKeyExpired":
                pass
            assert event["listenKey"] == key
            msg = await asyncio.wait_for(ws.receive(), T)
            assert msg.type == aiohttp.WSMsgType.CLOSE
        async with http.put(
            f"{sim.futures_rest_url}/fapi/v1/listenKey",
            headers={"X-MBX-APIKEY": TEST_KEYS["alice"][0].reveal()},
        ) as r:
            assert (r.status, (await r.json())["code"]) == (400, -1125)


async def test_fault_expires_a_listen_key_now() -> None:
    async with running_simulator() as sim, aiohttp.ClientSession() as http:
        key = await _listen_key(sim.futures_rest_url, "bob")
        async with http.ws_connect(f"{sim.futures_ws_url}/private/ws/{key}") as ws:
            await _registered(sim, key)
            sim.faults.expire_listen_key("bob")
            event = await _json(ws)
            assert (event["e"], event["listenKey"]) == ("listenKeyExpired", key) and isinstance(
                event["E"], int
            )
            msg = await asyncio.wait_for(ws.receive(), T)
            assert msg.type == aiohttp.WSMsgType.CLOSE


async def test_liquidation_on_the_user_stream() -> None:
    """Driving the market through bob's LONG LP: MARGIN_CALL, autoclose fill, ACCOUNT_UPDATE, record."""
    async with running_simulator() as sim, aiohttp.ClientSession() as http:
        sim.pause()
        key = await _listen_key(sim.futures_rest_url, "bob")
        lp = sim.engine.liquidation_price("bob", "BTCUSDT", "LONG")
        path = sim.market.path
        first_below = next(i for i, p in enumerate(path.prices) if p < lp)
        async with http.ws_connect(f"{sim.futures_ws_url}/private/ws?listenKey={key}") as ws:
            sim.market.seek(float(path.times[first_below - 1]))
            sim.resume()
            kinds = []
            while "ACCOUNT_UPDATE" not in kinds:
                ev = await _json(ws)
                kinds.append(ev["e"])
                if ev["e"] == "ORDER_TRADE_UPDATE":
                    o = ev["o"]
                    assert o["c"].startswith("autoclose-") and o["X"] == "FILLED" and o["ps"] == "LONG"
                    assert float(o["ap"]) <= lp
            assert kinds[-2:] == ["ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"]
        (liq,) = sim.engine.liquidations
        assert (liq.account, liq.side, liq.qty) == ("bob", "LONG", 0.5)
        assert [p.side for p in sim.engine.positions("bob")] == ["SHORT"]


@pytest.mark.parametrize("spot", [False, True])
async def test_partial_depth_streams_top_matches_the_book_ticker(spot: bool) -> None:
    """`<symbol>@depth<N>[@100ms]`: N levels each side, best first; futures as depthUpdate, spot bare."""
    async with running_simulator() as sim, aiohttp.ClientSession() as http:
        base = sim.spot_ws_url if spot else sim.futures_ws_url
        sim.pause()  # every frame then shows the book the quote holds
        async with http.ws_connect(f"{base}/stream?streams=btcusdt@depth5/ethusdt@depth10@100ms") as ws:
            got: dict[str, Any] = {}
            while len(got) < 2:
                f = await _json(ws)
                got[f["stream"]] = f["data"]
            five, ten = got["btcusdt@depth5"], got["ethusdt@depth10@100ms"]
            assert (
                len(five["b"] if not spot else five["bids"]),
                len(ten["a"] if not spot else ten["asks"]),
            ) == (5, 10)
            bids = five["bids"] if spot else five["b"]
            asks = five["asks"] if spot else five["a"]
            q = sim.market.quotes["BTCUSDT"]
            assert float(bids[0][0]) == (q.spot_bid if spot else q.bid)
            assert float(asks[0][0]) == (q.spot_ask if spot else q.ask)
            assert [float(b[0]) for b in bids] == sorted((float(b[0]) for b in bids), reverse=True)
            assert [float(a[0]) for a in asks] == sorted(float(a[0]) for a in asks)
            if spot:
                assert set(five) == {"lastUpdateId", "bids", "asks"}
            else:
                assert (
                    five["e"] == "depthUpdate"
                    and five["s"] == "BTCUSDT"
                    and {"E", "T", "U", "u", "pu"} <= set(five)
                )
