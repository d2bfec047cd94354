"""Event-loop lag: the max keeps a stall a scrape would miss; the probe sees a held loop."""

from __future__ import annotations

import asyncio
import contextlib
import math
import time

from prometheus_client import CollectorRegistry, generate_latest

from monitor.clock import NS_PER_S
from monitor.looplag import LoopLag, LoopLagMetrics, probe_loop


def test_nan_before_any_probe_not_zero() -> None:
    lag = LoopLag()
    assert math.isnan(lag.last_s) and math.isnan(lag.max_s)


def test_max_keeps_a_stall_for_the_window_then_forgets_it() -> None:
    lag = LoopLag(window_s=60.0)
    lag.record(0, 0.001)
    lag.record(10 * NS_PER_S, 2.0)  # a two-second stall
    lag.record(20 * NS_PER_S, 0.002)
    assert lag.last_s == 0.002 and lag.max_s == 2.0
    lag.record(71 * NS_PER_S, 0.003)  # the stall is now 61 s old
    assert lag.max_s == 0.003


async def test_probe_sees_a_loop_held_by_blocking_work() -> None:
    lag = LoopLag()
    task = asyncio.create_task(probe_loop(lag, interval_s=0.01))
    try:
        await asyncio.sleep(0.05)
        time.sleep(0.3)  # noqa: ASYNC251 - the blocking work on the loop this probe exists to see
        await asyncio.sleep(0.05)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert lag.max_s >= 0.25


def test_exported_as_two_gauges() -> None:
    lag = LoopLag()
    lag.record(0, 0.5)
    lag.record(1, 0.1)
    reg = CollectorRegistry()
    reg.register(LoopLagMetrics(lag))
    text = generate_latest(reg).decode()
    assert "perpmon_event_loop_lag_seconds 0.1" in text
    assert "perpmon_event_loop_lag_max_seconds 0.5" in text
