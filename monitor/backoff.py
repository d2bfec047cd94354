"""Reconnect and retry delays: jittered, capped, and reset after a success.

A generator, as in websockets' client: the caller takes `next()` for each failure and builds a
fresh generator once a connection has stayed up, so one bad hour does not slow the next outage.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

__all__ = ["backoff"]


def backoff(
    initial_s: float = 0.5,
    factor: float = 2.0,
    max_s: float = 60.0,
    jitter: float = 0.5,
    rng: random.Random | None = None,
) -> Iterator[float]:
    """Yield delays initial, initial×factor, … capped at max_s, each scaled by U(1−jitter, 1].

    Full jitter spreads reconnects of many clients after a venue-wide drop (thundering herd).
    """
    r = rng or random.Random()
    delay = initial_s
    while True:
        yield delay * (1.0 - jitter * r.random())
        delay = min(max_s, delay * factor)
