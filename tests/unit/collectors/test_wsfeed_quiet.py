"""Which silent streams a change-only feed probes, and when (no socket: frames are handed in)."""

from __future__ import annotations

from collections.abc import Mapping

from monitor.clock import NS_PER_S, ManualClock
from monitor.collectors.base import CollectorStats
from monitor.collectors.pacing import Cooldown, Pacer
from monitor.collectors.testing import RecordingStore
from monitor.collectors.wsfeed import WsFeed, WsPolicy
from monitor.records import MarkPrice, Quote, Record


class NoProbe:
    async def confirm(self, last: Mapping[str, Record]) -> list[Record]:
        return []

    async def aclose(self) -> None:
        return None


def frame(raw: bytes | str, now: int) -> list[Record]:
    """One ticker frame: the mark and a perp book top, as Bybit's `tickers` gives both."""
    t = int(raw)
    return [
        MarkPrice(venue="v", symbol="X", ts_event_ns=t, ts_recv_ns=now, mark=1.0, index=1.0),
        Quote(
            venue="v",
            symbol="X",
            market="perp",
            ts_event_ns=t,
            ts_recv_ns=now,
            bid=1,
            bid_size=1,
            ask=2,
            ask_size=1,
        ),
    ]


def feed(clock: ManualClock, limits: dict[str, float]) -> WsFeed:
    return WsFeed(
        name="v.linear.0",
        url="ws://unused",
        subscriptions=["tickers.X"],
        limits=limits,
        parse=frame,
        sink=RecordingStore(),
        clock=clock,
        stats=CollectorStats("v"),
        policy=WsPolicy(),
        connect_pacer=Pacer(clock, 1.0),
        cooldown=Cooldown(clock),
        quiet=NoProbe(),
    )


def test_only_watched_streams_are_probed_and_together() -> None:
    """The book top is not watched (`perp_books = false`): never probed, and no KeyError either.
    The mark is due at half its limit; a second watched stream silent long enough rides along."""
    clock = ManualClock()
    f = feed(clock, {"mark:X": 1.0})
    assert f._handle(b"1")
    assert f._quiet_due(clock.monotonic_ns()) == ([], 0.5 * NS_PER_S)
    clock.advance(0.5)
    assert f._quiet_due(clock.monotonic_ns())[0] == ["mark:X"]

    g = feed(clock, {"mark:X": 1.0, "book:perp:X": 1.5})
    assert g._handle(b"2")
    clock.advance(0.5)
    assert sorted(g._quiet_due(clock.monotonic_ns())[0]) == ["book:perp:X", "mark:X"]


def test_a_control_reply_carries_no_record() -> None:
    """A frame that yields nothing (a pong, an ack) is what the reader checks for a pong."""
    clock = ManualClock()
    f = feed(clock, {"mark:X": 1.0})
    f.parse = lambda raw, now: []
    assert not f._handle(b'{"op":"pong"}')
