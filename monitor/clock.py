"""The only module that reads wall time.

Every component takes a `Clock` so tests can drive time by hand (`ManualClock`) and never sleep;
the evaluator's tick time is the one "now" for its cycle.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["NS_PER_S", "Clock", "LiveClock", "ManualClock", "thread_cpu_ns"]

NS_PER_S = 1_000_000_000


class Clock(Protocol):
    def now_ns(self) -> int:
        """Unix epoch nanoseconds."""
        ...

    def monotonic_ns(self) -> int:
        """A clock that never jumps backwards, for durations and deadlines."""
        ...

    async def sleep(self, seconds: float) -> None: ...


class LiveClock:
    """Wall time for production and for the embedded simulator (venues stamp real time)."""

    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class ManualClock:
    """A clock that moves only when told to; `sleep` advances it instead of waiting."""

    def __init__(self, start_ns: int = 1_700_000_000 * NS_PER_S) -> None:
        self._now = start_ns
        self._mono = 0

    def now_ns(self) -> int:
        return self._now

    def monotonic_ns(self) -> int:
        return self._mono

    def advance(self, seconds: float) -> None:
        step = round(seconds * NS_PER_S)
        if step < 0:
            raise ValueError("a manual clock only moves forward")
        self._now += step
        self._mono += step

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)


def thread_cpu_ns() -> int:
    """CPU time the calling thread has used (not wall time): what a job in a worker thread cost.

    Only that thread's own work counts, which is why the daemon runs one BLAS thread
    (`OPENBLAS_NUM_THREADS=1`): a BLAS pool's helper threads would do work no one measured.
    """
    return time.thread_time_ns()
