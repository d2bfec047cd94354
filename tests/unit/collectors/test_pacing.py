"""Pacing and cool-down, on a manual clock: limits hold without a single real sleep."""

from __future__ import annotations

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
