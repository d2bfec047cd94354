"""Start a daemon on the embedded simulator with the market held still until it has seen the accounts.

The simulator replays on the wall clock from its own start, which `Daemon.start` does first; the
rest of start-up (keys, listings, backfill, the first snapshots) took about 1 s on an idle box and
12 s on a loaded 2-core one. At 600x the crash replay liquidates its positions 9-18 s in, so on a
loaded box they were gone (or nearly) before the daemon had seen them. Held, the replay starts
once the daemon knows every position, whatever start-up cost.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable
from unittest import mock

from monitor.app import Daemon
from monitor.sim.server import Simulator

__all__ = ["play_once_seen", "start_held"]


async def start_held(daemon: Daemon) -> Simulator:
    """`daemon.start()` with its simulator paused from the first tick; `resume()` lets it play."""
    real_start = Simulator.start

    async def start(sim: Simulator) -> None:
        sim.pause()
        await real_start(sim)

    with mock.patch.object(Simulator, "start", start):
        await daemon.start()
    assert daemon.simulator is not None, "the config does not enable the simulator"
    return daemon.simulator


def _seen(daemon: Daemon, accounts: set[str]) -> bool:
    figs = daemon.latest
    return figs is not None and accounts <= {
        k.account
        for k, f in figs.items.items()
        if k.name == "liquidation_distance_ratio" and math.isfinite(f.value)
    }


async def play_once_seen(daemon: Daemon, accounts: Iterable[str], limit_s: float = 60.0) -> None:
    """Resume the held market once a tick has a liquidation distance for each of `accounts`."""
    assert daemon.simulator is not None
    want = set(accounts)
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not _seen(daemon, want):
        if loop.time() > end:
            raise AssertionError(f"the daemon never saw the positions of {sorted(want)}")
        await asyncio.sleep(0.05)
    daemon.simulator.resume()
