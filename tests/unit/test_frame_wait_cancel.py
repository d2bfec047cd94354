"""A cancelled evaluation loop stops: the frame wait never swallows the cancel of the task awaiting it.

The wait's cleanup awaited its two helper tasks under `suppress(CancelledError)`; a cancel that
landed on that await (the sleep had just finished) was swallowed, the evaluation loop went on
ticking, and whoever awaited its end (daemon stop, a test) waited for ever. Found when the whole
suite hung in test_daemon_tick_durable on a clean clone.
"""

from __future__ import annotations

import asyncio

from monitor.clock import ManualClock
from monitor.frames import FrameSignal, wait_frame_or_sleep


async def test_a_cancel_at_any_point_of_the_wait_ends_it_cancelled() -> None:
    for turns in range(8):  # land the cancel on each await of the wait in turn, cleanup included
        clock = ManualClock()
        signal = FrameSignal(clock.monotonic_ns)
        task = asyncio.create_task(wait_frame_or_sleep(clock, signal, 1.0))
        for _ in range(turns):
            await asyncio.sleep(0)
        if not task.cancel():
            continue  # it had already returned: nothing to cancel at this point
        done, _ = await asyncio.wait({task}, timeout=5)
        assert done, f"the wait did not end after a cancel at turn {turns}"
        assert task.cancelled(), f"a cancel at turn {turns} was swallowed: the wait returned normally"
