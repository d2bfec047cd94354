"""The loopback admin API and the `SimControl` handle behind it: accounts, prices, shocks, faults, time."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from monitor.clock import Clock, LiveClock, ManualClock
from monitor.sim.admin import AdminServer
from monitor.sim.control import SimControl
from monitor.sim.server import Simulator
from monitor.sim.testing import fast_config, running_simulator

pytestmark = pytest.mark.integration
MANUAL = fast_config(tick_s=3_600.0)


@asynccontextmanager
async def admin(clock: Clock | None = None) -> AsyncIterator[tuple[Simulator, str, aiohttp.ClientSession]]:
    cfg = MANUAL if isinstance(clock, ManualClock) else fast_config()
    async with running_simulator(cfg, clock=clock) as sim:
        server = AdminServer(SimControl(sim))
        await server.start()
        try:
            async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {server.token}"}) as http:
                yield sim, server.url, http
        finally:
            await server.stop()


async def _call(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> tuple[int, Any]:
    async with http.request(method, url, json=body) as r:
        return r.status, await r.json()


async def test_reads_accounts_and_market_as_the_engine_holds_them() -> None:
    async with admin(ManualClock(time.time_ns())) as (sim, url, http):
        assert url.startswith("http://127.0.0.1:") and url.endswith("/admin")
        assert str(sim.futures_rest_url) not in url  # its own port
        status, accounts = await _call(http, "GET", f"{url}/accounts")
        assert status == 200 and set(accounts) == {"alice", "bob"}
        alice = accounts["alice"]
        eng = {(p.symbol, p.side): p for p in sim.engine.positions("alice")}
        for p in alice["positions"]:
            view = eng[(p["symbol"], p["side"])]
            assert (p["qty"], p["liquidation_price"], p["maint_margin"]) == (
                view.qty,
                view.liquidation_price,
                view.maint_margin,
            )
        assert alice["summary"]["wallet_balance"] == sim.engine.wallet_balance("alice")
        status, market = await _call(http, "GET", f"{url}/market")
        assert market["BTCUSDT"]["mark"] == sim.market.quotes["BTCUSDT"].mark
        assert (await _call(http, "GET", f"{url}/accounts/nobody"))[0] == 404


async def test_set_and_release_a_price_shows_on_the_venue_wire() -> None:
    async with admin(ManualClock(time.time_ns())) as (sim, url, http):
        status, body = await _call(http, "POST", f"{url}/price", {"symbol": "ETHUSDT", "price": 1234.5})
        assert (status, body["mark"]) == (200, 1234.5)
        async with http.get(f"{sim.futures_rest_url}/fapi/v1/premiumIndex?symbol=ETHUSDT") as r:
            assert (await r.json())["markPrice"] == "1234.50000000"
        SimControl(sim).advance(600.0, step_s=60.0)  # the path moves, the pinned symbol does not
        assert sim.market.quotes["ETHUSDT"].mark == 1234.5
        assert (await _call(http, "DELETE", f"{url}/price/ETHUSDT"))[0] == 200
        assert sim.market.quotes["ETHUSDT"].mark != 1234.5
        assert (await _call(http, "DELETE", f"{url}/price/ETHUSDT"))[0] == 404
        bad = [
            {"symbol": "NOPEUSDT", "price": 1.0},
            {"symbol": "BTCUSDT", "price": -5},
            {"symbol": "BTCUSDT", "price": "1"},
            {"symbol": "BTCUSDT"},
        ]
        assert [(await _call(http, "POST", f"{url}/price", b))[0] for b in bad] == [404, 400, 400, 400]


async def test_a_scripted_shock_takes_the_market_down_20_percent_in_one_minute() -> None:
    clock = ManualClock(time.time_ns())
    async with admin(clock) as (sim, url, http):
        before = sim.market.perp_path  # the last-trade path: the shock rewrites it, spot follows
        start = sim.market.replay_s
        status, shock = await _call(http, "POST", f"{url}/shock", {"move": -0.2, "over_s": 60})
        assert status == 200 and shock == {"at_s": start, "move": -0.2, "over_s": 60.0}
        status, state = await _call(http, "POST", f"{url}/advance", {"seconds": 0.5, "step_s": 0.5})
        assert state["replay_s"] == pytest.approx(start + 30.0)  # speed 60: half a replay minute
        half = sim.market.quotes["BTCUSDT"]
        assert half.last == pytest.approx(before.price_at(start + 30.0) * 0.9, rel=2e-3)
        assert half.mark == pytest.approx(half.last, rel=0.01)  # the mark follows (spot moved too)
        await _call(http, "POST", f"{url}/advance", {"seconds": 1.5})
        t = sim.market.replay_s
        q = sim.market.quotes["BTCUSDT"]
        assert q.last == pytest.approx(before.price_at(t) * 0.8, rel=1e-4)  # on the 5 s grid
        assert q.mark == pytest.approx(q.last, rel=0.01) and q.index == pytest.approx(q.last, rel=0.02)
        assert (await _call(http, "POST", f"{url}/shock", {"move": -1.5}))[0] == 400


async def test_pause_resume_and_advance_move_the_clock_only_when_told() -> None:
    clock = ManualClock(time.time_ns())
    async with admin(clock) as (sim, url, http):
        t0 = clock.now_ns()
        status, state = await _call(http, "POST", f"{url}/advance", {"seconds": 10, "step_s": 1})
        assert (status, state["ticks"]) == (200, 10) and clock.now_ns() - t0 == 10 * 10**9
        replay = state["replay_s"]
        assert (await _call(http, "POST", f"{url}/pause"))[1]["paused"] is True
        await _call(http, "POST", f"{url}/advance", {"seconds": 10})
        assert sim.market.replay_s == replay  # paused: the clock moved, the market did not
        await _call(http, "POST", f"{url}/resume")
        await _call(http, "POST", f"{url}/advance", {"seconds": 1})
        assert sim.market.replay_s == pytest.approx(replay + 60.0)
    async with admin(LiveClock()) as (_sim, url, http):
        assert (await _call(http, "POST", f"{url}/advance", {"seconds": 1}))[0] == 409


async def test_faults_by_name() -> None:
    async with admin(ManualClock(time.time_ns())) as (sim, url, http):
        status, known = await _call(http, "GET", f"{url}/faults")
        assert status == 200 and known["corrupt_prices"] == ["broadcasts", "kind"]
        assert (await _call(http, "POST", f"{url}/faults/stall", {"on": True}))[1]["stalled"] is True
        assert sim.faults.stalled
        await _call(http, "POST", f"{url}/faults/delay_frames", {"seconds": 2.5})
        assert sim.faults.delay_s == 2.5
        status, _ = await _call(http, "POST", f"{url}/faults/rate_limit", {"calls_429": 1, "calls_418": 0})
        async with http.get(f"{sim.futures_rest_url}/fapi/v1/ping") as r:
            assert (r.status, (await r.json())["code"]) == (429, -1003)
        expected = [404, 400, 400, 400]
        got = [
            (await _call(http, "POST", f"{url}/faults/{name}", body))[0]
            for name, body in [
                ("meteor", {}),
                ("stall", {"bogus": 1}),
                ("corrupt_prices", {"kind": "purple"}),
                ("fail_rest", {}),  # calls is required
            ]
        ]
        assert got == expected
        async with http.post(f"{url}/faults/stall", data=b"not json") as r:
            assert r.status == 400


async def test_admin_binds_loopback_only() -> None:
    async with running_simulator(MANUAL, clock=ManualClock()) as sim:
        with pytest.raises(ValueError, match="loopback"):
            AdminServer(SimControl(sim), host="0.0.0.0")


async def test_a_request_without_the_token_or_from_a_browser_is_refused() -> None:
    """No token, a wrong one, another scheme: 401. A browser's Origin or Sec-Fetch-Site: 403, even
    with the right token. None of them moves the market."""
    async with admin(ManualClock(time.time_ns())) as (_sim, url, http):
        token = http.headers["Authorization"].removeprefix("Bearer ")
        assert len(token) >= 40, "a fresh random token, 256 bits"
        async with aiohttp.ClientSession() as bare:
            wrong = ({}, {"Authorization": "Bearer " + token[:-1]}, {"Authorization": f"Basic {token}"})
            for headers in wrong:
                async with bare.post(f"{url}/shock", json={"move": -0.5}, headers=headers) as r:
                    body = await r.json()
                    assert r.status == 401 and token not in str(body), headers
            for browser in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
                headers = {"Authorization": f"Bearer {token}", **browser}
                async with bare.post(f"{url}/shock", json={"move": -0.5}, headers=headers) as r:
                    assert r.status == 403, browser
                async with bare.get(f"{url}/state", headers=headers) as r:
                    assert r.status == 403, browser
        status, state = await _call(http, "GET", f"{url}/state")
        assert status == 200 and state["shocks"] == [], "no refused request changed anything"


async def test_two_servers_never_share_a_token() -> None:
    async with running_simulator(MANUAL, clock=ManualClock()) as sim:
        assert AdminServer(SimControl(sim)).token != AdminServer(SimControl(sim)).token
