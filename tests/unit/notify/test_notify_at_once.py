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
