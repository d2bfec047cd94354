"""Pacing and cool-down, on a manual clock: limits hold without a single real sleep."""

from __future__ import annotations

import asyncio
import heapq
import itertools

import pytest

from monitor.clock import NS_PER_S, ManualClock
from monitor.collectors.pacing import Cooldown, Pacer, retry_after_s


async def test_pacer_spaces_actions_after_the_burst() -> None:
    """4/s with a burst of 2: two at once, then one every 250 ms."""
    clock = ManualClock()
    pacer = Pacer(clock, rate_per_s=4.0, burst=2)
    times = []
    for _ in range(5):
        await pacer.wait()
        times.append(clock.monotonic_ns() / NS_PER_S)
    assert times == pytest.approx([0.0, 0.0, 0.25, 0.5, 0.75])


class QueuedClock(ManualClock):
    """A manual clock whose sleepers wake only when `run` moves time to their deadline.

    `ManualClock.sleep` advances time itself, so concurrent sleepers would push each other
    forward; here time moves from one deadline to the next, as a real clock would.
    """

    def __init__(self) -> None:
        super().__init__()
        self._sleepers: list[tuple[int, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    async def sleep(self, seconds: float) -> None:
        wake = asyncio.get_running_loop().create_future()
        deadline = self.monotonic_ns() + round(max(0.0, seconds) * NS_PER_S)
        heapq.heappush(self._sleepers, (deadline, next(self._order), wake))
        await wake

    async def settle(self) -> None:
        for _ in range(5):
            await asyncio.sleep(0)

    async def run(self, tasks: list[asyncio.Task[None]]) -> None:
        """Wake each sleeper at its deadline until every task is done."""
        await self.settle()
        while not all(t.done() for t in tasks):
            deadline, _, wake = heapq.heappop(self._sleepers)
            self.advance(max(0, deadline - self.monotonic_ns()) / NS_PER_S)
            if not wake.done():
                wake.set_result(None)
            await self.settle()


def passing(clock: ManualClock, pacer: Pacer, times: list[float]) -> asyncio.Task[None]:
    async def go() -> None:
        await pacer.wait()
        times.append(clock.monotonic_ns() / NS_PER_S)

    return asyncio.create_task(go())


async def test_concurrent_callers_each_take_the_next_slot() -> None:
    """Four callers of a 1/s pacer at once pass at 0, 1, 2 and 3 s (they used to pass at 0, 1, 1, 1)."""
    clock = QueuedClock()
    pacer = Pacer(clock, rate_per_s=1.0)
    times: list[float] = []
    tasks = [passing(clock, pacer, times) for _ in range(4)]
    await clock.run(tasks)
    assert times == pytest.approx([0.0, 1.0, 2.0, 3.0])


async def test_concurrent_callers_keep_the_burst() -> None:
    """4/s with a burst of 2, five callers at once: two now, then one every 250 ms."""
    clock = QueuedClock()
    pacer = Pacer(clock, rate_per_s=4.0, burst=2)
    times: list[float] = []
    tasks = [passing(clock, pacer, times) for _ in range(5)]
    await clock.run(tasks)
    assert times == pytest.approx([0.0, 0.0, 0.25, 0.5, 0.75])


async def test_a_cancelled_last_caller_gives_its_slot_back() -> None:
    """The last reservation comes free when its caller is cancelled: the next caller takes it."""
    clock = QueuedClock()
    pacer = Pacer(clock, rate_per_s=1.0)
    times: list[float] = []
    first, second, third = (passing(clock, pacer, times) for _ in range(3))
    await clock.settle()
    third.cancel()  # it held the 2 s slot, and nobody waits behind it
    await clock.settle()
    late = passing(clock, pacer, times)
    await clock.run([first, second, third, late])
    assert times == pytest.approx([0.0, 1.0, 2.0])


async def test_a_cancelled_caller_with_others_behind_keeps_the_spacing() -> None:
    """A slot with a caller queued behind it stays spent: no two actions ever pass within 1 s."""
    clock = QueuedClock()
    pacer = Pacer(clock, rate_per_s=1.0)
    times: list[float] = []
    first, second, third = (passing(clock, pacer, times) for _ in range(3))
    await clock.settle()
    second.cancel()  # its 1 s slot has the 2 s one behind it
    await clock.settle()
    late = passing(clock, pacer, times)
    await clock.run([first, second, third, late])
    assert times == pytest.approx([0.0, 2.0, 3.0])


async def test_cooldown_holds_until_retry_after() -> None:
    """A 418 with Retry-After 120 holds the venue for 120 s; a shorter later hold does not shorten it."""
    clock = ManualClock()
    cd = Cooldown(clock)
    cd.hold(120.0, 418)
    cd.hold(5.0, 429)
    await cd.wait()
    assert clock.monotonic_ns() / NS_PER_S == pytest.approx(120.0)
    assert cd.remaining_s() == 0.0


@pytest.mark.parametrize(
    ("headers", "status", "expected"),
    [
        ({"Retry-After": "7"}, 429, 7.0),
        ({"retry-after": "0"}, 418, 0.0),
        ({}, 429, 60.0),
        ({}, 418, 120.0),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 418, 120.0),
        (None, 503, 60.0),
    ],
)
def test_retry_after_header_or_a_hard_default(
    headers: dict[str, str] | None, status: int, expected: float
) -> None:
    """Delta-seconds are honoured; without a usable header the wait is long, never zero."""
    assert retry_after_s(headers, status) == expected
