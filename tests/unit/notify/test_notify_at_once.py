"""An event handed to the outbox is attempted by its receivers at once: no poll, no wait on the clock.

Frame-driven ticks (monitor/frames.py) put an alert in the outbox milliseconds after the frame; a
worker that waited for a poll interval, or for the next tick, would give that back. The clock here
only moves when something sleeps on it, so "the clock did not move" means nobody waited.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from monitor.clock import NS_PER_S, ManualClock
from monitor.config import ReceiverConfig
from monitor.notify import Dispatcher, Outbox
from monitor.notify.model import Notification
from tests.unit.notify.notify_helpers import T0, event

RECEIVERS = (
    ReceiverConfig(name="desk", type="webhook", url_env="DESK_URL"),
    ReceiverConfig(name="pager", type="webhook", url_env="PAGER_URL"),
)


class _Recorder:
    def __init__(self, name: str, clock: ManualClock, got: list[tuple[str, int]]) -> None:
        self.name, self._clock, self._got = name, clock, got

    async def notify(self, n: Notification) -> None:
        self._got.append((self.name, self._clock.monotonic_ns()))


async def test_every_receiver_attempts_a_submitted_event_without_waiting(tmp_path: Path) -> None:
    """Idle workers, then one submit: both receivers are called, and no one slept on the clock."""
    clock = ManualClock(start_ns=T0 + 5 * NS_PER_S)  # the tick's `now` (T0) is behind the clock
    got: list[tuple[str, int]] = []
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    notifiers = {r.name: _Recorder(r.name, clock, got) for r in RECEIVERS}
    d = Dispatcher(RECEIVERS, notifiers, outbox, clock)  # type: ignore[arg-type]
    workers = asyncio.create_task(d.run())
    try:
        for _ in range(20):  # the workers find an empty queue and wait
            await asyncio.sleep(0)
        assert got == []
        assert await d.submit([event()], T0) == 2
        for _ in range(5000):  # real time: each worker leases in a thread
            if len(got) == 2:
                break
            await asyncio.sleep(0.001)
        assert sorted(got) == [("desk", 0), ("pager", 0)]
        assert clock.monotonic_ns() == 0
    finally:
        workers.cancel()
        await asyncio.gather(workers, return_exceptions=True)
        outbox.close()


async def test_attempted_returns_once_every_told_receiver_has_tried(tmp_path: Path) -> None:
    """The evaluation loop's grace: it ends when both receivers have tried, not at its deadline."""
    clock = ManualClock(start_ns=T0)
    got: list[tuple[str, int]] = []
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    notifiers = {r.name: _Recorder(r.name, clock, got) for r in RECEIVERS}
    d = Dispatcher(RECEIVERS, notifiers, outbox, clock)  # type: ignore[arg-type]
    assert await d.attempted(0.0)  # nothing handed over: nothing to wait for
    await d.submit([event()], T0)
    assert not await d.attempted(0.05)  # no worker runs yet: the deadline ends the wait
    workers = asyncio.create_task(d.run())
    try:
        assert await d.attempted(30.0)
        assert sorted(name for name, _ in got) == ["desk", "pager"]  # tried before it returned
    finally:
        workers.cancel()
        await asyncio.gather(workers, return_exceptions=True)
        outbox.close()


async def test_a_receiver_in_backoff_does_not_hold_the_grace(tmp_path: Path) -> None:
    """A head row waiting out its retry: the new row waits behind it, so the loop need not wait."""
    clock = ManualClock(start_ns=T0)
    got: list[tuple[str, int]] = []
    outbox = Outbox(tmp_path / "outbox.sqlite3")
    desk = RECEIVERS[:1]
    d = Dispatcher(desk, {"desk": _Recorder("desk", clock, got)}, outbox, clock)
    await d.submit([event(symbol="ETHUSDT")], T0)
    head = outbox.lease("desk")
    assert head is not None
    outbox.retry(head.id, T0 + 3600 * NS_PER_S, "http_503")  # the head retries in an hour
    gate = asyncio.Event()

    async def held_sleep(seconds: float) -> None:  # the worker's backoff sleep, held open here
        await gate.wait()

    clock.sleep = held_sleep  # type: ignore[method-assign]
    workers = asyncio.create_task(d.run())
    try:
        await d.submit([event(symbol="BTCUSDT", event_ns=T0 + 1)], T0 + 1)
        assert await d.attempted(30.0)
        assert got == []  # nothing sent: the head waits, and the new row behind it
    finally:
        gate.set()
        workers.cancel()
        await asyncio.gather(workers, return_exceptions=True)
        outbox.close()
