"""WsFeed against scripted loopback servers: the failure modes the simulator cannot stage.

Each server is a few lines of `websockets` on a free port: one that repeats its last frame forever
(python-binance#1090), one that refuses the handshake with 429 + Retry-After, one that records how
SUBSCRIBE messages arrive.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any

import pytest
from websockets.asyncio.server import Request, Response, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Response as HttpResponse

from monitor.clock import LiveClock
from monitor.collectors.base import CollectorStats
from monitor.collectors.binance.wire import parse_combined_frame
from monitor.collectors.pacing import Cooldown, Pacer
from monitor.collectors.testing import RecordingStore, wait_until
from monitor.collectors.wsfeed import WsFeed, WsPolicy
from monitor.records import FeedState, MarkPrice

pytestmark = pytest.mark.integration

FRAME = (
    '{"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":%d,"s":"BTCUSDT",'
    '"p":"100.0","i":"100.0","r":"0.0001","T":0}}'
)


@asynccontextmanager
async def server(
    handler: Callable[[ServerConnection], Awaitable[None]],
    process_request: Callable[[ServerConnection, Request], Response | None] | None = None,
) -> AsyncIterator[str]:
    async with serve(handler, "127.0.0.1", 0, process_request=process_request) as srv:
        port = next(iter(srv.sockets)).getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


def feed(url: str, store: RecordingStore, stats: CollectorStats, **policy: Any) -> WsFeed:
    clock = LiveClock()
    return WsFeed(
        name="t.market.0",
        url=url,
        subscriptions=["btcusdt@markPrice@1s"],
        limits={"mark:BTCUSDT": 0.5},
        parse=partial(parse_combined_frame, venue="t", market="perp"),
        sink=store,
        clock=clock,
        stats=stats,
        policy=WsPolicy(**{"backoff_initial_s": 0.05, "overlap_s": 0.1, **policy}),
        connect_pacer=Pacer(clock, 100.0, 10),
        cooldown=Cooldown(clock),
    )


@asynccontextmanager
async def running(f: WsFeed) -> AsyncIterator[None]:
    task = asyncio.create_task(f.run())
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_stream_that_repeats_its_last_frame_is_stale_and_reconnected() -> None:
    """The same frame every 20 ms is not life: dropped as repeats, STALE after 0.5 s, then a new socket."""
    connections: list[int] = []

    async def repeat_forever(ws: ServerConnection) -> None:
        connections.append(1)
        first = 3 * len(connections) - 2
        for n in [first, first + 1, first + 2] + [first + 2] * 10_000:  # 3 fresh frames, then a loop
            await ws.send(FRAME % (1_700_000_000_000 + n))
            await asyncio.sleep(0.02)

    store, stats = RecordingStore(), CollectorStats("t")
    async with server(repeat_forever) as url, running(feed(url, store, stats)):
        await wait_until(lambda: stats.events["stale_reconnect"] >= 1, 3, "a forced reconnect")
        await wait_until(lambda: len(connections) >= 2, 2, "a second connection")
    seen = [m.ts_event_ns // 1_000_000 - 1_700_000_000_000 for m in store.of(MarkPrice)]
    assert seen == list(range(1, len(seen) + 1)) and len(seen) >= 4
    assert stats.dropped["repeated"] > 10
    assert FeedState.STALE in [s.state for s in store.statuses("mark:BTCUSDT")]


async def test_a_parser_bug_is_counted_and_never_reconnects() -> None:
    """A parser that raises on one frame: `parser_error` counted, the socket stays, later frames stored."""

    async def frames(ws: ServerConnection) -> None:
        for n in range(1, 40):
            await ws.send(FRAME % (1_700_000_000_000 + n))
            await asyncio.sleep(0.005)
        await ws.wait_closed()

    def flaky(raw: bytes | str, now: int) -> Any:
        if "000000007" in str(raw):
            raise RuntimeError("a bug")
        return parse_combined_frame(raw, now, "t", "perp")

    store, stats = RecordingStore(), CollectorStats("t")
    f = feed("", store, stats)
    f.parse = flaky
    async with server(frames) as url:
        f.url = url
        async with running(f):
            await wait_until(lambda: len(store.of(MarkPrice)) == 38, 3, "every other frame")
    assert stats.dropped["parser_error"] == 1
    assert stats.reconnects["t.market.0"] == 0


async def test_a_handshake_refused_with_429_holds_reconnects_for_retry_after() -> None:
    """429 + Retry-After: 1 on the handshake: the next attempt waits ≥ 1 s (the venue-wide cool-down)."""
    loop = asyncio.get_running_loop()
    attempts: list[float] = []

    def refuse_once(conn: ServerConnection, request: Request) -> Response | None:
        attempts.append(loop.time())
        if len(attempts) == 1:
            return HttpResponse(429, "Too Many Requests", Headers({"Retry-After": "1"}), b"")
        return None

    async def frames(ws: ServerConnection) -> None:
        for n in range(1, 1000):
            await ws.send(FRAME % (1_700_000_000_000 + n))
            await asyncio.sleep(0.02)

    store, stats = RecordingStore(), CollectorStats("t")
    async with server(frames, refuse_once) as url, running(feed(url, store, stats)):
        await wait_until(lambda: len(store.of(MarkPrice)) > 0, 4, "data after the cool-down")
    assert attempts[1] - attempts[0] >= 1.0
    assert stats.events["rate_limited"] == 1


async def test_subscriptions_are_batched_and_paced_under_the_venue_limit() -> None:
    """300 streams in SUBSCRIBEs of 50, no faster than 5 messages a second."""
    loop = asyncio.get_running_loop()
    got: list[tuple[float, list[str]]] = []

    async def record(ws: ServerConnection) -> None:
        async for msg in ws:
            req = json.loads(msg)
            got.append((loop.time(), req["params"]))
            await ws.send(json.dumps({"result": None, "id": req["id"]}))

    store, stats = RecordingStore(), CollectorStats("t")
    f = feed("", store, stats, subscribe_rate_per_s=5.0, subscribe_batch=50)
    f.subscriptions = tuple(f"s{i}usdt@markPrice@1s" for i in range(300))
    async with server(record) as url:
        f.url = url
        async with running(f):
            await wait_until(lambda: len(got) == 6, 3, "six SUBSCRIBE messages")
    assert [len(p) for _, p in got] == [50] * 6
    assert [name for _, p in got for name in p] == list(f.subscriptions)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(got)]
    assert min(gaps) >= 0.19


async def test_a_stream_added_while_running_is_subscribed_live_watched_and_resubscribed() -> None:
    """`add` (a symbol an account was found holding): one SUBSCRIBE on the live connection, with the
    next id; the new stream has its own limit (it goes STALE when the venue never sends it); and the
    replacement connection subscribes the whole list, old and added."""
    got: list[tuple[int, int, list[str]]] = []  # (connection, request id, stream names)
    conns = itertools.count(1)

    async def btc_only(ws: ServerConnection) -> None:
        n = next(conns)

        async def frames() -> None:
            for i in itertools.count(1):
                await ws.send(FRAME % (1_700_000_000_000 + 1000 * n + i))
                await asyncio.sleep(0.02)

        sender = asyncio.ensure_future(frames())
        try:
            async for msg in ws:
                req = json.loads(msg)
                got.append((n, req["id"], req["params"]))
        finally:
            sender.cancel()

    store, stats = RecordingStore(), CollectorStats("t")
    f = feed("", store, stats)
    async with server(btc_only) as url:
        f.url = url
        async with running(f):
            await wait_until(lambda: len(store.of(MarkPrice)) > 3, 3, "marks on the first connection")
            f.add(["ethusdt@markPrice@1s"], {"mark:ETHUSDT": 0.5})
            await wait_until(lambda: len(got) >= 2, 3, "the added SUBSCRIBE")
            assert got[:2] == [(1, 1, ["btcusdt@markPrice@1s"]), (1, 2, ["ethusdt@markPrice@1s"])]
            assert [s.reason for s in store.statuses("mark:ETHUSDT")][:1] == ["subscribing"]
            await wait_until(lambda: any(c == 2 for c, _, _ in got), 5, "a replacement connection")
    assert FeedState.STALE in [s.state for s in store.statuses("mark:ETHUSDT")]
    assert [p for c, _, p in got if c == 2] == [["btcusdt@markPrice@1s", "ethusdt@markPrice@1s"]]
    assert f.limits == {"mark:BTCUSDT": 0.5, "mark:ETHUSDT": 0.5}
