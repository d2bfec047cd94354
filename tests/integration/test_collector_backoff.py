"""Reconnect delays: jittered, growing, capped, and reset once a connection has delivered data."""

from __future__ import annotations

import asyncio
import itertools
import random
from functools import partial

import pytest
from websockets.asyncio.server import ServerConnection, serve

from monitor.backoff import backoff
from monitor.clock import LiveClock
from monitor.collectors.base import CollectorStats
from monitor.collectors.binance.wire import parse_combined_frame
from monitor.collectors.pacing import Cooldown, Pacer
from monitor.collectors.testing import RecordingStore, wait_until
from monitor.collectors.wsfeed import WsFeed, WsPolicy
from monitor.records import MarkPrice

pytestmark = pytest.mark.integration


def test_delays_double_up_to_the_cap_each_scaled_by_the_jitter() -> None:
    """initial × 2^k capped at max, each in [(1 − jitter) × d, d]; two clients do not march in step."""
    nominal = [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    got = list(itertools.islice(backoff(0.5, 2.0, 10.0, 0.5, random.Random(7)), len(nominal)))
    assert all(0.5 * d <= g <= d for g, d in zip(got, nominal, strict=True))
    other = list(itertools.islice(backoff(0.5, 2.0, 10.0, 0.5, random.Random(8)), len(nominal)))
    assert got != other
    assert list(itertools.islice(backoff(1.0, 3.0, 20.0, 0.0), 4)) == [1.0, 3.0, 9.0, 20.0]


class SleepLog(LiveClock):
    """Real time, but every requested sleep is recorded (and shortened, so the test does not wait)."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        await asyncio.sleep(min(seconds, 0.01))


FRAME = (
    '{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":%d,"s":"BTCUSDT",'
    '"p":"100.0","i":"100.0","r":"0.0001","T":0}}'
)


async def test_the_backoff_grows_while_connections_fail_and_resets_after_one_delivers() -> None:
    """Four connections closed before any data: delays grow; the fifth delivers: the next is initial."""
    accepted: list[int] = []

    async def script(ws: ServerConnection) -> None:
        accepted.append(1)
        await ws.recv()  # the SUBSCRIBE
        if len(accepted) == 5:
            for n in range(3):
                await ws.send(FRAME % (1_700_000_000_000 + n))
        # every connection then ends: closed by the venue

    clock, store, stats = SleepLog(), RecordingStore(), CollectorStats("t")
    async with serve(script, "127.0.0.1", 0) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        feed = WsFeed(
            name="t.market.0",
            url=f"ws://127.0.0.1:{port}",
            subscriptions=["btcusdt@markPrice@1s"],
            limits={"mark:BTCUSDT": 60.0},
            parse=partial(parse_combined_frame, venue="t", market="perp"),
            sink=store,
            clock=clock,
            stats=stats,
            policy=WsPolicy(backoff_initial_s=1.0, backoff_max_s=8.0),
            connect_pacer=Pacer(clock, 1000.0, 100),
            cooldown=Cooldown(clock),
        )
        task = asyncio.create_task(feed.run())
        try:
            await wait_until(lambda: len(accepted) >= 6 and len(clock.sleeps) >= 6, 10, "six connections")
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert len(store.of(MarkPrice)) == 3
    lost = clock.sleeps[:6]  # one sleep after each lost connection, in order
    nominal = [1.0, 2.0, 4.0, 8.0]
    assert all(0.5 * d <= s <= d for s, d in zip(lost[:4], nominal, strict=True)), lost
    assert 0.5 <= lost[4] <= 1.0, f"no reset after the connection that delivered: {lost}"
    assert 1.0 <= lost[5] <= 2.0
    assert stats.reconnects["t.market.0"] >= 6
