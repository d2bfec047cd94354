"""The newer faults as clients see them: the 24 h cut, delayed frames, bad prices, refused connects.

Time is a `ManualClock` moved by `SimControl.advance`, so "24 h" and "5 s late" are clock facts, not
waits; those tests set a tick so long that the background tick never fires and every frame comes
from a tick the test runs. The older faults (drop, stall with pongs, malformed JSON, repeated
frames, 5xx, 429 → 418, listenKey expiry) are in test_sim_ws.py and test_sim_ccxt_rest.py.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

import aiohttp
import ccxt
import ccxt.pro as ccxtpro
import pytest

from monitor.clock import ManualClock
from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.control import SimControl
from monitor.sim.testing import fast_config, running_simulator

pytestmark = pytest.mark.integration
T = 3.0
MANUAL = fast_config(tick_s=3_600.0)  # ticks only when the test says so


async def _until(fut: Any, sim: Any) -> Any:
    """Tick the market until the awaitable (e.g. a ccxt watch) resolves."""
    task = asyncio.ensure_future(fut)
    for _ in range(200):
        done, _pending = await asyncio.wait({task}, timeout=0.02)
        if done:
            return task.result()
        sim.tick()
    task.cancel()
    raise AssertionError("never resolved")


async def _text(ws: aiohttp.ClientWebSocketResponse) -> Any:
    msg = await asyncio.wait_for(ws.receive(), T)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def _drain(ws: aiohttp.ClientWebSocketResponse, quiet_s: float = 0.3) -> list[Any]:
    """Read until nothing has come for `quiet_s` (only meaningful when the test drives the ticks)."""
    out: list[Any] = []
    while True:
        try:
            msg = await asyncio.wait_for(ws.receive(), quiet_s)
        except TimeoutError:
            return out
        assert msg.type == aiohttp.WSMsgType.TEXT, msg
        out.append(json.loads(msg.data))


async def test_every_connection_is_cut_at_24_hours() -> None:
    """Futures and spot sockets opened together all close (1001) when the clock reaches 24 h, not before."""
    clock = ManualClock()
    async with running_simulator(MANUAL, clock=clock) as sim, aiohttp.ClientSession() as http:
        ctl = SimControl(sim)
        sockets = [
            await http.ws_connect(f"{sim.futures_ws_url}/ws/btcusdt@bookTicker"),
            await http.ws_connect(f"{sim.futures_ws_url}/stream?streams=ethusdt@markPrice@1s"),
            await http.ws_connect(f"{sim.spot_ws_url}/ws/btcusdt@bookTicker"),
        ]
        sim.tick()
        for ws in sockets:
            await _text(ws)
        ctl.advance(86_399.0, step_s=3_600.0)
        for ws in sockets:
            await _drain(ws)
            assert not ws.closed
        ctl.advance(1.0)
        for ws in sockets:
            while (msg := await asyncio.wait_for(ws.receive(), T)).type == aiohttp.WSMsgType.TEXT:
                pass
            assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 1001
            assert msg.extra == "connection reached 24h"
        assert not sim.futures_hub.connections and not sim.spot_hub.connections
        async with http.ws_connect(f"{sim.futures_ws_url}/ws/btcusdt@bookTicker") as again:
            sim.tick()
            assert (await _text(again))["s"] == "BTCUSDT"  # a reconnect starts a fresh 24 h


async def test_ccxt_pro_sees_the_24h_cut_as_a_network_error_and_resubscribes() -> None:
    clock = ManualClock()
    async with running_simulator(MANUAL, clock=clock) as sim:
        ex = ccxtpro.binanceusdm({"options": {"fetchCurrencies": False}})
        point_ccxt_at(ex, sim)
        try:
            await _until(ex.watch_mark_price("BTC/USDT:USDT"), sim)
            pending = asyncio.ensure_future(ex.watch_mark_price("BTC/USDT:USDT"))
            await asyncio.sleep(0.1)
            assert not pending.done()  # no tick, no frame
            SimControl(sim).advance(86_400.0, step_s=86_400.0)
            with pytest.raises(ccxt.NetworkError):
                while True:  # the frame of the cutting tick may still resolve it first
                    await asyncio.wait_for(pending, T)
                    pending = asyncio.ensure_future(ex.watch_mark_price("BTC/USDT:USDT"))
            again = await _until(ex.watch_mark_price("BTC/USDT:USDT"), sim)
            assert again["markPrice"] == sim.market.quotes["BTCUSDT"].mark
        finally:
            await ex.close()


async def test_delayed_frames_arrive_late_by_the_clock_and_in_order() -> None:
    clock = ManualClock()
    async with (
        running_simulator(MANUAL, clock=clock) as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.futures_ws_url}/ws/btcusdt@bookTicker") as ws,
    ):
        ctl = SimControl(sim)
        sim.tick()
        first = await _text(ws)
        assert first["E"] == clock.now_ns() // 1_000_000  # no delay: stamped now
        sim.faults.delay_frames(5.0)
        await _drain(ws)  # what was queued before the delay
        ctl.advance(4.0, step_s=1.0)
        assert await _drain(ws) == []  # everything since is held
        ctl.advance(2.0, step_s=1.0)
        late = await _drain(ws)
        assert late, "held frames were never released"
        now_ms = clock.now_ns() // 1_000_000
        assert [now_ms - f["E"] for f in late] == [5_000]  # the frame of the first held tick, 5 s on
        assert [f["E"] for f in late] == sorted(f["E"] for f in late)
        sim.faults.delay_frames(0.0)
        ctl.advance(5.0, step_s=1.0)  # the backlog drains, then frames are fresh again
        await _drain(ws)
        ctl.advance(1.0)
        fresh = await _drain(ws)
        assert fresh and fresh[-1]["E"] == clock.now_ns() // 1_000_000


@pytest.mark.parametrize("kind", ["nan", "negative", "zero", "wrong_type"])
async def test_bad_prices_in_well_formed_frames(kind: str) -> None:
    """A raw client gets valid JSON with the usual keys whose prices are NaN, < 0, 0 or numbers."""
    async with (
        running_simulator() as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.futures_ws_url}/stream?streams=btcusdt@markPrice@1s/btcusdt@bookTicker") as ws,
    ):
        while (first := await _text(ws))["stream"] != "btcusdt@markPrice@1s":
            pass
        good = first["data"]
        sim.faults.corrupt_prices(kind, broadcasts=1_000)  # type: ignore[arg-type]
        seen: dict[str, dict[str, Any]] = {}
        count: dict[str, int] = {}
        while min(count.values(), default=0) < 3 or len(count) < 2:  # past frames queued before
            f = await _text(ws)
            seen[f["stream"]] = f["data"]
            count[f["stream"]] = count.get(f["stream"], 0) + 1
        mark = seen["btcusdt@markPrice@1s"]
        book = seen["btcusdt@bookTicker"]
        assert mark.keys() >= {"e", "E", "s", "p", "i", "r", "T"} and book.keys() >= {"b", "a", "B", "A"}
        if kind == "nan":
            assert mark["p"] == "NaN" and math.isnan(float(book["b"]))
        elif kind == "negative":
            assert float(mark["p"]) < 0 and float(book["a"]) < 0
        elif kind == "zero":
            assert float(mark["p"]) == 0 and float(book["b"]) == 0
        else:
            assert isinstance(mark["p"], float) and isinstance(mark["E"], str)
        assert isinstance(book["B"], str) and isinstance(mark["r"], str)  # quantities and rates untouched
        assert isinstance(good["p"], str) and float(good["p"]) > 0


@pytest.mark.parametrize("kind", ["nan", "negative", "zero"])
async def test_ccxt_pro_passes_bad_mark_prices_through(kind: str) -> None:
    """What a ccxt.pro user gets: the bad number itself, no error; the daemon has to judge it."""
    async with running_simulator() as sim:
        ex = ccxtpro.binanceusdm({"options": {"fetchCurrencies": False}})
        point_ccxt_at(ex, sim)
        try:
            await asyncio.wait_for(ex.watch_mark_price("BTC/USDT:USDT"), T)
            sim.faults.corrupt_prices(kind, broadcasts=1_000)  # type: ignore[arg-type]
            for _ in range(10):  # past frames already queued with good prices
                got = (await asyncio.wait_for(ex.watch_mark_price("BTC/USDT:USDT"), T))["markPrice"]
                if got is None or math.isnan(got) or got <= 0:
                    break
            if kind == "nan":
                assert got is None or math.isnan(got)
            elif kind == "negative":
                assert got is not None and got < 0
            else:
                assert got == 0
        finally:
            await ex.close()


async def test_refused_connections_for_a_while() -> None:
    """New TCP connects are refused (REST, WS, ccxt); open sockets carry on; then it listens again."""
    clock = ManualClock()
    async with running_simulator(MANUAL, clock=clock) as sim, aiohttp.ClientSession() as http:
        ex = ccxt.async_support.binanceusdm({"options": {"fetchCurrencies": False}})
        point_ccxt_at(ex, sim)
        try:
            async with http.ws_connect(f"{sim.futures_ws_url}/ws/btcusdt@bookTicker") as open_ws:
                sim.tick()
                await _text(open_ws)
                sim.faults.refuse_connections(30.0)
                await asyncio.wait_for(sim.listeners.refused.wait(), T)
                with pytest.raises(aiohttp.ClientConnectorError):
                    await http.get(f"{sim.futures_rest_url}/fapi/v1/ping")
                with pytest.raises(aiohttp.ClientConnectorError):
                    await http.ws_connect(f"{sim.spot_ws_url}/ws/btcusdt@bookTicker")
                with pytest.raises(ccxt.NetworkError):
                    await ex.fetch_mark_price("BTC/USDT:USDT")
                await _drain(open_ws)
                SimControl(sim).advance(1.0)
                assert (await _text(open_ws))["s"] == "BTCUSDT"  # the open socket still gets frames
                SimControl(sim).advance(29.0, step_s=29.0)
                await asyncio.wait_for(sim.listeners.accepting.wait(), T)
            mark = (await ex.fetch_mark_price("BTC/USDT:USDT"))["markPrice"]
            assert mark == sim.market.quotes["BTCUSDT"].mark
        finally:
            await ex.close()


async def test_stall_keeps_the_socket_and_pongs_while_ccxt_waits() -> None:
    """Stalled: no market frames, yet the socket is open and answers protocol pings (ccxt's keep-alive)."""
    cfg = fast_config()
    async with (
        running_simulator(cfg) as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.futures_ws_url}/ws/btcusdt@markPrice@1s", autoping=False) as ws,
    ):
        await _text(ws)
        sim.faults.stall()
        await _drain(ws)
        for i in range(3):
            await ws.ping(f"p{i}".encode())
            msg = await asyncio.wait_for(ws.receive(), T)
            assert (msg.type, msg.data) == (aiohttp.WSMsgType.PONG, f"p{i}".encode())
        assert not ws.closed and await _drain(ws) == []
        sim.faults.stall(False)
        assert (await _text(ws))["e"] == "markPriceUpdate"
