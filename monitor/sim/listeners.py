"""The simulator's listening sockets, which a fault can take away for a while.

Refusing connections is done the way a host that is down does it: the listening socket closes, so
a new TCP connect gets ECONNREFUSED, while connections already open carry on. After the given time
on the injected clock (polled every `poll_s` of loop time), each site listens again on the same port.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from aiohttp import web

from monitor.clock import Clock

__all__ = ["Listeners"]

_log = structlog.get_logger()


class Listeners:
    def __init__(self, host: str) -> None:
        self._host = host
        self._sites: list[tuple[web.AppRunner, int, web.TCPSite]] = []
        self._reopen: asyncio.Task[None] | None = None
        self.refused = asyncio.Event()  # set while listening sockets are closed
        self.accepting = asyncio.Event()  # set while they are open

    @property
    def refusing(self) -> bool:
        return self.refused.is_set()

    async def serve(self, runner: web.AppRunner, port: int) -> int:
        """Listen for `runner` on `port` (0: any free port); the bound port."""
        site = web.TCPSite(runner, self._host, port)
        await site.start()
        server = site._server  # the bound socket tells which port 0 became
        sockets = getattr(server, "sockets", None) or []
        bound = int(sockets[0].getsockname()[1]) if sockets else port
        self._sites.append((runner, bound, site))
        self.accepting.set()
        return bound

    def refuse_for(self, seconds: float, clock: Clock, poll_s: float) -> None:
        """Stop listening now; listen again once `clock` has moved on by `seconds`."""
        if self._reopen is not None and not self._reopen.done():
            self._reopen.cancel()
        self._reopen = asyncio.get_running_loop().create_task(
            self._refuse(seconds, clock, poll_s), name="sim-refuse"
        )

    async def _refuse(self, seconds: float, clock: Clock, poll_s: float) -> None:
        until = clock.monotonic_ns() + int(seconds * 1e9)
        if not self.refusing:
            self.accepting.clear()
            for _runner, _port, site in self._sites:
                await site.stop()
            self.refused.set()
            _log.info("sim_refusing_connections", seconds=seconds)
        # polled, not awaited: a manual clock has nothing to wait on, it only moves when told
        while clock.monotonic_ns() < until:  # noqa: ASYNC110
            await asyncio.sleep(poll_s)
        reopened = []
        for runner, port, _site in self._sites:
            site = web.TCPSite(runner, self._host, port)
            await site.start()
            reopened.append((runner, port, site))
        self._sites = reopened
        self.refused.clear()
        self.accepting.set()
        _log.info("sim_accepting_connections")

    async def close(self) -> None:
        if self._reopen is not None:
            self._reopen.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reopen
        self._sites = []
