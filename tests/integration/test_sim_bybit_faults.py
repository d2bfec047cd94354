"""Faults on the simulated Bybit, each as an unmodified ccxt client (or a raw socket) observes it.

Bybit has its own `Faults`: what is switched on for it leaves the Binance hosts alone.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
import ccxt
import ccxt.async_support as ccxta
import ccxt.pro as ccxtpro
import pytest

from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.testing import bybit_config, running_simulator

pytestmark = pytest.mark.integration
TIMEOUT = 5.0


async def test_rest_faults_map_to_the_venue_answers() -> None:
    """5xx page → ExchangeNotAvailable; retCode 10006 (API limit) and 403 (IP ban) → RateLimitExceeded."""
    async with running_simulator(bybit_config()) as sim:
        ex = ccxta.bybit({"options": {"fetchMarkets": {"types": ["linear"]}}})
        point_ccxt_at(ex, sim)
        try:
            await ex.load_markets()
            sim.bybit.faults.fail_rest(1, status=502)
            with pytest.raises(ccxt.ExchangeNotAvailable):
                await ex.fetch_ticker("BTC/USDT:USDT")
            sim.bybit.faults.rate_limit(calls_429=1, calls_418=1)
            with pytest.raises(ccxt.RateLimitExceeded, match="10006"):
                await ex.fetch_ticker("BTC/USDT:USDT")
            with pytest.raises(ccxt.RateLimitExceeded):
                await ex.fetch_ticker("BTC/USDT:USDT")
            assert (await ex.fetch_ticker("BTC/USDT:USDT"))["symbol"] == "BTC/USDT:USDT"
        finally:
            await ex.close()
        # the Binance host never saw those faults
        async with aiohttp.ClientSession() as http, http.get(f"{sim.futures_rest_url}/fapi/v1/time") as resp:
            assert resp.status == 200


async def test_disconnect_closes_bybit_sockets_and_ccxt_reconnects() -> None:
    async with running_simulator(bybit_config()) as sim:
        ex = ccxtpro.bybit({"options": {"fetchMarkets": {"types": ["linear"]}}})
        point_ccxt_at(ex, sim)
        try:
            await asyncio.wait_for(ex.watch_ticker("BTC/USDT:USDT"), TIMEOUT)
            sim.bybit.faults.disconnect_all()
            with pytest.raises(ccxt.NetworkError):
                for _ in range(50):
                    await asyncio.wait_for(ex.watch_ticker("BTC/USDT:USDT"), TIMEOUT)
            t = await asyncio.wait_for(ex.watch_ticker("BTC/USDT:USDT"), TIMEOUT)  # a fresh connection
            assert t["info"]["symbol"] == "BTCUSDT"
        finally:
            await ex.close()


async def test_malformed_frame_then_normal_deltas() -> None:
    async with (
        running_simulator(bybit_config()) as sim,
        aiohttp.ClientSession() as http,
        http.ws_connect(f"{sim.bybit_ws_url}/v5/public/linear") as ws,
    ):
        await ws.send_str(json.dumps({"op": "subscribe", "args": ["tickers.SOLUSDT"]}))
        for _ in range(2):  # ack, snapshot
            await asyncio.wait_for(ws.receive(), TIMEOUT)
        sim.bybit.faults.send_malformed()
        texts = [(await asyncio.wait_for(ws.receive(), TIMEOUT)).data for _ in range(3)]
        bad = [t for t in texts if not t.endswith("}")]
        assert len(bad) == 1
        with pytest.raises(json.JSONDecodeError):
            json.loads(bad[0])
        assert all(json.loads(t)["topic"] == "tickers.SOLUSDT" for t in texts if t not in bad)


async def test_a_silent_peer_is_dropped_and_a_pinging_one_kept() -> None:
    """The venue's idle rule: no message for `ws_pong_timeout_s` closes the socket; pings keep it."""
    cfg = bybit_config(ws_ping_s=0.1, ws_pong_timeout_s=1.0)
    async with running_simulator(cfg) as sim, aiohttp.ClientSession() as http:
        silent = await http.ws_connect(f"{sim.bybit_ws_url}/v5/public/linear")
        chatty = await http.ws_connect(f"{sim.bybit_ws_url}/v5/public/linear")
        for _ in range(25):  # 2.5 s of pings 0.1 s apart: well past the silent one's 1 s
            await chatty.send_str(json.dumps({"op": "ping"}))
            await asyncio.sleep(0.1)
        msg = await asyncio.wait_for(silent.receive(), TIMEOUT)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING)
        assert not chatty.closed
        await chatty.close()
        await silent.close()


async def test_refused_connections_are_per_venue() -> None:
    """Binance's hosts down (ECONNREFUSED) while Bybit accepts, then the other way round."""
    no_reuse = aiohttp.TCPConnector(force_close=True)  # each request a new connect
    async with running_simulator(bybit_config()) as sim, aiohttp.ClientSession(connector=no_reuse) as http:

        async def reachable(url: str) -> bool:
            try:
                async with http.get(url) as resp:
                    return resp.status == 200
            except aiohttp.ClientConnectorError:
                return False

        binance, bybit = f"{sim.futures_rest_url}/fapi/v1/time", f"{sim.bybit_rest_url}/v5/market/time"
        sim.faults.refuse_connections(30.0)
        await asyncio.wait_for(sim.listeners.refused.wait(), TIMEOUT)
        assert (await reachable(binance), await reachable(bybit)) == (False, True)
        sim.bybit.faults.refuse_connections(0.5)
        await asyncio.wait_for(sim.bybit_listeners.refused.wait(), TIMEOUT)
        assert await reachable(bybit) is False
        await asyncio.wait_for(sim.bybit_listeners.accepting.wait(), TIMEOUT)
        assert await reachable(bybit) is True
