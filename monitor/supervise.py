"""Named, supervised tasks: a crash is logged and the task restarted with backoff.

No bare `create_task` in perpmon: a collector that dies silently is the stall users fear most.
A supervised coroutine that returns normally is done; one that raises is restarted after a
backoff delay that resets once it has run for `healthy_after_s`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from monitor.backoff import backoff
from monitor.clock import NS_PER_S, Clock

__all__ = ["Supervisor"]

log = structlog.get_logger(__name__)


class Supervisor:
    def __init__(self, clock: Clock, healthy_after_s: float = 30.0) -> None:
        self._clock = clock
        self._healthy_ns = int(healthy_after_s * NS_PER_S)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self.restarts: dict[str, int] = {}

    def spawn(self, name: str, factory: Callable[[], Awaitable[None]], restart: bool = True) -> None:
        if name in self._tasks and not self._tasks[name].done():
            raise RuntimeError(f"task {name} is already running")
        self.restarts.setdefault(name, 0)
        task = asyncio.create_task(self._run(name, factory, restart), name=name)
        self._tasks[name] = task

    async def _run(self, name: str, factory: Callable[[], Awaitable[None]], restart: bool) -> None:
        delays = backoff(initial_s=0.5, max_s=30.0)
        while True:
            started = self._clock.monotonic_ns()
            try:
                await factory()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("task crashed", task=name)
                if not restart:
                    return
            if self._clock.monotonic_ns() - started >= self._healthy_ns:
                delays = backoff(initial_s=0.5, max_s=30.0)
            self.restarts[name] += 1
            await self._clock.sleep(next(delays))

    def running(self) -> list[str]:
        return sorted(n for n, t in self._tasks.items() if not t.done())

    async def stop(self, timeout_s: float = 5.0) -> None:
        tasks = [t for t in self._tasks.values() if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=timeout_s)
        self._tasks.clear()
