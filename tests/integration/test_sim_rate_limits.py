"""The venue's 418 is earned, not scripted: only a client that comes back inside a 429's Retry-After.

Binance answers 429 with Retry-After, and bans (418) the IP of a client that keeps going without
waiting it out. The simulator's rate-limit switch now behaves so: a client that waits is served, its
armed ban dropped; one that does not is banned; WebSocket handshakes inside the window are refused
with the same status.
"""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from monitor.clock import ManualClock
from monitor.sim.testing import running_simulator

pytestmark = pytest.mark.integration


async def _status(session: aiohttp.ClientSession, url: str) -> int:
    async with session.get(url) as r:
        return r.status


async def test_a_client_that_ignores_retry_after_is_banned_and_one_that_waits_is_not() -> None:
    async with running_simulator() as sim, aiohttp.ClientSession() as http:
        ping = f"{sim.futures_rest_url}/fapi/v1/ping"
        sim.faults.rate_limit(calls_429=1, calls_418=1, retry_after_s=1)
        assert await _status(http, ping) == 429
        assert await _status(http, ping) == 418  # straight back: banned
        assert sim.faults.bans == 1

        sim.faults.rate_limit(calls_429=1, calls_418=1, retry_after_s=1)
        assert await _status(http, ping) == 429
        ws = sim.futures_ws_url.rstrip("/") + "/ws/btcusdt@markPrice@1s"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(ws)  # a connection attempt inside the Retry-After is limited too
        assert refused.value.status == 429
        await asyncio.sleep(1.1)  # waits it out
        assert [await _status(http, ping) for _ in range(3)] == [200, 200, 200]
        assert sim.faults.bans == 1  # no second ban: the armed 418 was dropped
        async with http.ws_connect(ws) as conn:
            assert not conn.closed


async def test_futures_and_spot_keep_their_own_request_counters() -> None:
    """fapi and api are separate hosts with separate limits: spot calls do not use up futures'."""
    async with running_simulator(clock=ManualClock()) as sim, aiohttp.ClientSession() as http:

        async def used(url: str) -> int:
            async with http.get(url) as r:
                return int(r.headers["X-MBX-USED-WEIGHT-1M"])

        futures, spot = f"{sim.futures_rest_url}/fapi/v1/ping", f"{sim.spot_rest_url}/api/v3/ping"
        first = await used(futures)  # the clock stands still: one minute throughout
        assert [await used(spot) for _ in range(5)] == [1, 2, 3, 4, 5]
        assert await used(futures) == first + 1
