"""Held symbols, Sans-I/O parts: who learns of them, and where their streams are subscribed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from functools import partial

from monitor.clock import ManualClock
from monitor.collectors.base import CollectorStats
from monitor.collectors.binance.wire import parse_combined_frame
from monitor.collectors.held import HeldSymbols, MarketSockets, Topic
from monitor.collectors.pacing import Cooldown, Pacer
from monitor.collectors.testing import RecordingStore
from monitor.collectors.wsfeed import WsFeed, WsPolicy
from monitor.records import FeedState


def sockets(cap: int, limits: dict[str, float]) -> tuple[MarketSockets, RecordingStore]:
    clock, store = ManualClock(), RecordingStore()

    def build(kind: str, index: int, topics: Sequence[Topic]) -> WsFeed:
        return WsFeed(
            name=f"v.{kind}.{index}",
            url="ws://nowhere",
            subscriptions=[sub for sub, _ in topics],
            limits={s: limits[s] for _, ss in topics for s in ss},
            parse=partial(parse_combined_frame, venue="v", market="perp"),
            sink=store,
            clock=clock,
            stats=CollectorStats("v"),
            policy=WsPolicy(),
            connect_pacer=Pacer(clock, 1.0),
            cooldown=Cooldown(clock),
        )

    return MarketSockets(cap, limits, build), store


def topic(symbol: str) -> Topic:
    return (f"{symbol.lower()}@markPrice@1s", (f"mark:{symbol}",))


def test_held_topics_fill_the_last_socket_then_open_new_ones() -> None:
    """Cap 3, two configured: the first held symbol joins the running socket (a live SUBSCRIBE, its
    stream DOWN "subscribing" until it speaks), the next two get a socket of their own."""
    limits = {f"mark:S{i}USDT": 3.0 for i in range(5)}
    ms, store = sockets(3, limits)
    assert ms.extend("market", [topic("S0USDT"), topic("S1USDT")])[0].name == "v.market.0"
    created = ms.extend("market", [topic(f"S{i}USDT") for i in (2, 3, 4)])
    assert [f.name for f in created] == ["v.market.1"]
    running, new = ms.by_kind["market"]
    assert running.subscriptions == ("s0usdt@markPrice@1s", "s1usdt@markPrice@1s", "s2usdt@markPrice@1s")
    assert running.limits == {"mark:S0USDT": 3.0, "mark:S1USDT": 3.0, "mark:S2USDT": 3.0}
    assert "mark:S2USDT" in running.live.streams
    assert new.subscriptions == ("s3usdt@markPrice@1s", "s4usdt@markPrice@1s")
    (status,) = store.statuses("mark:S2USDT")
    assert (status.state, status.reason) == (FeedState.DOWN, "subscribing")


async def test_held_symbols_are_told_once_beyond_the_configured_ones() -> None:
    """Configured symbols and repeats are not news; a waiter wakes on a new one, or times out."""
    clock = ManualClock()
    held = HeldSymbols("v", ["BTCUSDT"])
    waiter = asyncio.ensure_future(held.wait(0, clock))
    held.note(["BTCUSDT"])
    await asyncio.sleep(0)
    assert not waiter.done()
    held.note(["ETHUSDT", "BTCUSDT", "ETHUSDT"])
    assert await waiter is True
    held.note(["ETHUSDT"])
    assert held.extra == ("ETHUSDT",) and held.watched == ("BTCUSDT", "ETHUSDT")
    assert await held.wait(1, clock, timeout_s=600.0) is False  # nothing new: the reference refresh runs
    assert clock.monotonic_ns() == 600 * 1_000_000_000
