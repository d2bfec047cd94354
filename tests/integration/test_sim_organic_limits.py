"""The simulator's limits are the venues' own, reached by traffic, not switched on by a test.

Binance: request weight per route per IP and host, `X-MBX-USED-WEIGHT-1M` on every answer, 429 with
Retry-After past the minute's limit, 418 only for a client that comes back inside it; connection
attempts per 5 minutes; incoming messages per second per connection. Bybit: per-UID limits with the
`X-Bapi-Limit*` headers and retCode 10006, and the 403 IP ban. Unmodified ccxt sees them as it sees
the real venues', and perpmon's REST path (`RestCaller` + `Cooldown`) waits the Retry-After out.
Clocks are manual where the minute matters: the venue's window and the client's waits move together.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import ccxt.async_support as ccxta
import pytest

from monitor.clock import ManualClock
from monitor.collectors.base import CollectorStats
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.pacing import Cooldown
from monitor.config import SimLimitsConfig
from monitor.errors import RetryableFeedError
from monitor.sim.bybit.auth import signed_headers
from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.server import Simulator
from monitor.sim.testing import BYBIT_TEST_KEYS, bybit_config, fast_config, running_simulator

pytestmark = pytest.mark.integration

S = 1_000_000_000
MINUTE_NS = 60 * S


def _clock_at(second_of_minute: int) -> ManualClock:
    return ManualClock(start_ns=(1_795_000_000 * S // MINUTE_NS) * MINUTE_NS + second_of_minute * S)


@asynccontextmanager
async def _ccxt(sim: Simulator, cls: Any = ccxta.binanceusdm, **conf: Any) -> AsyncIterator[Any]:
    ex = cls({"enableRateLimit": False, **conf})
    point_ccxt_at(ex, sim)
    try:
        yield ex
    finally:
        await ex.close()


async def test_concurrent_heavy_calls_get_429_once_the_minute_weight_is_spent() -> None:
    """300 concurrent all-symbol premiumIndex calls (weight 10 each) against 2400 a minute: 240
    served, one 429 with -1003 and the seconds left in the minute, and the rest, sent on regardless,
    418; every answer says the weight used."""
    cfg = fast_config(limits=SimLimitsConfig(inflight_grace_s=0))  # no call counts as already on its way
    async with running_simulator(cfg, clock=_clock_at(30)) as sim, aiohttp.ClientSession() as http:
        url = f"{sim.futures_rest_url}/fapi/v1/premiumIndex"

        async def one() -> tuple[int, int, str | None, Any]:
            async with http.get(url) as r:
                return (
                    r.status,
                    int(r.headers["X-MBX-USED-WEIGHT-1M"]),
                    r.headers.get("Retry-After"),
                    await r.json(),
                )

        answers = await asyncio.gather(*(one() for _ in range(300)))
        statuses = [a[0] for a in answers]
        assert (statuses.count(200), statuses.count(429)) == (240, 1)
        refused = next(a for a in answers if a[0] == 429)
        assert (refused[2], refused[3]["code"]) == ("30", -1003)
        # the burst kept going inside the Retry-After: banned, as the venue bans such an IP
        assert statuses.count(418) == 59 and sim.futures_limit.bans() == 1
        assert max(a[1] for a in answers) == 2400
        async with http.get(f"{sim.spot_rest_url}/api/v3/exchangeInfo") as r:  # spot: its own budget
            assert (r.status, r.headers["X-MBX-USED-WEIGHT-1M"]) == (200, "20")


async def test_ccxt_sees_the_weight_and_raises_its_own_errors_on_429_and_418() -> None:
    cfg = fast_config(limits=SimLimitsConfig(weight_per_min_futures=25, inflight_grace_s=0))
    async with running_simulator(cfg, clock=_clock_at(50)) as sim, _ccxt(sim) as ex:
        info = await ex.fapiPublicGetExchangeInfo()  # weight 1; it states the limit it enforces
        assert info["rateLimits"][0] == {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": "MINUTE",
            "intervalNum": 1,
            "limit": 25,
        }
        await ex.fapiPublicGetPremiumIndex()  # weight 10
        assert ex.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "11"
        await ex.fapiPublicGetPremiumIndex()
        with pytest.raises(ccxta.DDoSProtection) as limited:
            await ex.fapiPublicGetPremiumIndex()  # 31 > 25
        assert "429" in str(limited.value)
        assert ex.last_response_headers["Retry-After"] == "10"
        with pytest.raises(ccxta.DDoSProtection) as banned:
            await ex.fapiPublicGetPremiumIndex()  # back inside the Retry-After
        assert "418" in str(banned.value) and sim.futures_limit.bans() == 1
        assert ex.last_response_headers["Retry-After"] == "120"  # a first ban: 2 minutes


async def test_the_native_rest_path_waits_out_retry_after_and_is_never_banned() -> None:
    """perpmon's `RestCaller` holds every call until the Retry-After has passed (its clock is the
    venue's here, so waiting moves the venue's minute): calls past the limit are refused, none banned."""
    clock = _clock_at(50)
    cfg = fast_config(limits=SimLimitsConfig(weight_per_min_futures=25))
    async with running_simulator(cfg, clock=clock) as sim, _ccxt(sim) as ex:
        stats = CollectorStats("binance")
        rest = RestCaller(Cooldown(clock), stats, [])
        served, refused_at, resumed_at = 0, [], []
        while served < 6:
            before = clock.now_ns()
            try:
                await rest.call(ex, ex.fapiPublicGetPremiumIndex)
            except RetryableFeedError as exc:
                left_in_minute = MINUTE_NS - clock.now_ns() % MINUTE_NS
                assert exc.retry_after_s == left_in_minute / S  # the header, read from ccxt's response
                refused_at.append(clock.now_ns())
                continue
            served += 1
            if refused_at and before == refused_at[-1]:
                resumed_at.append(clock.now_ns())
        assert len(refused_at) >= 2 and stats.events["rate_limited"] == len(refused_at)
        assert sim.futures_limit.bans() == 0 and sim.futures_limit.served_418 == 0
        # every call after a 429 went out only once the venue's minute had turned
        assert all(t // MINUTE_NS > r // MINUTE_NS for t, r in zip(resumed_at, refused_at, strict=False))


async def test_a_client_that_ignores_retry_after_is_banned_over_rest_and_websocket() -> None:
    cfg = fast_config(limits=SimLimitsConfig(weight_per_min_futures=5, ban_s=30.0, inflight_grace_s=0))
    clock = _clock_at(10)
    async with running_simulator(cfg, clock=clock) as sim, aiohttp.ClientSession() as http:
        depth = f"{sim.futures_rest_url}/fapi/v1/depth?symbol=BTCUSDT&limit=5"  # weight 2
        statuses = []
        for _ in range(4):
            async with http.get(depth) as r:
                statuses.append((r.status, r.headers.get("Retry-After")))
        assert statuses == [(200, None), (200, None), (429, "50"), (418, "30")]
        ws = f"{sim.futures_ws_url}/ws/btcusdt@markPrice@1s"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(ws)
        assert refused.value.status == 418  # the ban covers connection attempts
        clock.advance(31.0)
        async with http.get(depth) as r:
            assert r.status == 429  # the ban is over, the minute's weight is still spent
        clock.advance(20.0)
        async with http.get(depth) as r:
            assert r.status == 200  # a new minute
        async with http.ws_connect(ws) as conn:
            assert not conn.closed
        assert sim.futures_limit.bans() == 1


async def test_connection_attempts_past_the_five_minute_budget_are_refused_then_banned() -> None:
    cfg = fast_config(limits=SimLimitsConfig(ws_connects_per_5min=3, inflight_grace_s=0))
    async with running_simulator(cfg, clock=_clock_at(0)) as sim, aiohttp.ClientSession() as http:
        ws = f"{sim.futures_ws_url}/ws/btcusdt@markPrice@1s"
        for _ in range(3):
            async with http.ws_connect(ws):
                pass
        with pytest.raises(aiohttp.WSServerHandshakeError) as limited:
            await http.ws_connect(ws)
        assert (limited.value.status, limited.value.headers["Retry-After"]) == (429, "300")  # type: ignore[index]
        with pytest.raises(aiohttp.WSServerHandshakeError) as banned:
            await http.ws_connect(ws)
        assert banned.value.status == 418
        async with http.ws_connect(f"{sim.spot_ws_url}/ws/btcusdt@bookTicker") as spot:
            assert not spot.closed  # the spot host counts its own


@pytest.mark.parametrize(("host", "per_s"), [("futures", 10), ("spot", 5)])
async def test_a_connection_sending_past_the_message_rate_is_closed(host: str, per_s: int) -> None:
    async with running_simulator() as sim, aiohttp.ClientSession() as http:
        base = sim.futures_ws_url if host == "futures" else sim.spot_ws_url
        async with http.ws_connect(f"{base}/ws") as ws:
            for n in range(per_s):  # at the limit: all answered
                await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": n})
            for n in range(per_s):
                assert (await ws.receive_json(timeout=5))["id"] == n
            await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": per_s})  # one more in the same second
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.CLOSE and ws.close_code == 1008
        hub = sim.futures_hub if host == "futures" else sim.spot_hub
        assert hub.rate_closed == 1


async def test_bybit_reports_per_uid_limits_and_answers_10006_past_them() -> None:
    cfg = bybit_config(limits=SimLimitsConfig(bybit_api_per_s=2))
    async with running_simulator(cfg, clock=_clock_at(0)) as sim, aiohttp.ClientSession() as http:
        key, secret = (x.reveal() for x in BYBIT_TEST_KEYS["carol"])
        query = "category=linear&settleCoin=USDT"

        async def positions() -> tuple[int, dict[str, str], Any]:
            headers = signed_headers(key, secret, query, sim.bybit.now_ms())
            async with http.get(f"{sim.bybit_rest_url}/v5/position/list?{query}", headers=headers) as r:
                return r.status, dict(r.headers), await r.json()

        got = [await positions() for _ in range(3)]
        assert [(s, b["retCode"], h["X-Bapi-Limit"], h["X-Bapi-Limit-Status"]) for s, h, b in got] == [
            (200, 0, "2", "1"),
            (200, 0, "2", "0"),
            (200, 10006, "2", "0"),
        ]
        assert got[2][2]["retMsg"] == "Too many visits!"
        assert int(got[2][1]["X-Bapi-Limit-Reset-Timestamp"]) == sim.bybit.now_ms() + 1000
        async with http.get(f"{sim.bybit_rest_url}/v5/market/tickers?category=linear") as r:
            assert r.status == 200 and "X-Bapi-Limit" not in r.headers  # public: the IP limit only
        async with _ccxt(sim, ccxta.bybit, apiKey=key, secret=secret) as ex:
            with pytest.raises(ccxta.RateLimitExceeded):
                await ex.privateGetV5PositionList({"category": "linear", "settleCoin": "USDT"})


async def test_bybit_bans_an_ip_past_600_requests_in_5_seconds() -> None:
    cfg = bybit_config(limits=SimLimitsConfig(bybit_ip_per_5s=4))
    clock = _clock_at(0)
    async with running_simulator(cfg, clock=clock) as sim, aiohttp.ClientSession() as http:
        url = f"{sim.bybit_rest_url}/v5/market/time"
        statuses = []
        for _ in range(6):
            async with http.get(url) as r:
                statuses.append(r.status)
        assert statuses == [200, 200, 200, 200, 403, 403]
        clock.advance(601.0)
        async with http.get(url) as r:
            assert r.status == 200
        assert sim.bybit.ip_limit.bans == 1


async def test_funding_history_and_info_have_their_own_bucket_that_ccxt_sees() -> None:
    """fundingRate and fundingInfo share 3 calls (500 on the venue) and cost no weight; the fourth is a
    429 that unmodified ccxt raises as DDoSProtection, while weighted calls go on being served."""
    cfg = fast_config(limits=SimLimitsConfig(funding_per_5min=3, inflight_grace_s=0))
    async with running_simulator(cfg, clock=_clock_at(0)) as sim, _ccxt(sim) as ex:
        await ex.fapiPublicGetFundingRate({"symbol": "BTCUSDT", "limit": 5})
        await ex.fapiPublicGetFundingInfo()
        await ex.fapiPublicGetFundingRate({"symbol": "ETHUSDT", "limit": 5})
        assert ex.last_response_headers["X-MBX-USED-WEIGHT-1M"] == "0"
        with pytest.raises(ccxta.DDoSProtection) as limited:
            await ex.fapiPublicGetFundingInfo()
        assert "429" in str(limited.value) and ex.last_response_headers["Retry-After"] == "300"
        assert sim.futures_limit.funding.refused == 1 and sim.futures_limit.bans() == 0


async def test_bybit_refuses_websocket_connections_past_its_five_minute_budget() -> None:
    """Two connection attempts per 5 min (500 on the venue): the third handshake gets the IP limit's 403,
    and unmodified ccxt.pro fails its watch with a ccxt error instead of hanging."""
    import ccxt.pro as ccxtpro

    cfg = bybit_config(limits=SimLimitsConfig(bybit_ws_connects_per_5min=2))
    async with running_simulator(cfg, clock=_clock_at(0)) as sim, aiohttp.ClientSession() as http:
        url = f"{sim.bybit_ws_url}/v5/public/linear"
        for _ in range(2):
            async with http.ws_connect(url) as conn:
                assert not conn.closed
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url)
        assert refused.value.status == 403
        async with _ccxt(sim, ccxtpro.bybit) as ex:
            with pytest.raises(ccxta.BaseError):
                await asyncio.wait_for(ex.watch_ticker("BTC/USDT:USDT"), 20)
        assert sim.bybit.ws_connects.refused >= 2
