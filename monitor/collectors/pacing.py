"""Staying under a venue's limits: paced actions and a shared cool-down after 429/418.

Binance limits are per IP, not per key or socket: 10 inbound messages per second per connection,
300 connection attempts per 5 minutes, and a request weight per minute that, once broken, answers
429 and then bans the IP (418) for minutes to days if the client keeps going. So one `Cooldown` per
venue holds every REST call and every new connection until the venue's `Retry-After` has passed,
and `Pacer`s spread subscribe messages and connection attempts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from monitor.bucket import Gcra
from monitor.clock import NS_PER_S, Clock

__all__ = ["Cooldown", "Pacer", "retry_after_s"]

# no Retry-After header: wait this long (the venue's ban after a 418 lasts 2 min at least)
DEFAULT_COOLDOWN_S = {429: 60.0, 418: 120.0}


def retry_after_s(headers: Mapping[str, Any] | None, status: int) -> float:
    """Seconds from a `Retry-After` header (delta-seconds form); a hard default when absent."""
    for k, v in (headers or {}).items():
        if str(k).lower() == "retry-after":
            try:
                return max(0.0, float(v))
            except (TypeError, ValueError):
                break
    return DEFAULT_COOLDOWN_S.get(status, 60.0)


class Pacer:
    """At most `rate_per_s` actions per second, with bursts of up to `burst` (monitor/bucket.py).

    A caller reserves its slot before it sleeps: concurrent callers (a mass reconnect, every
    socket of a venue at once) each take the next free slot and pass one interval apart, never
    together after the same sleep. A caller cancelled while it waits gives its slot back only
    when it holds the last reservation; a slot with callers queued behind it stays spent, since
    handing it back would let the next caller in alongside one already waiting (a slot lost
    errs toward fewer actions, never more).
    """

    def __init__(self, clock: Clock, rate_per_s: float, burst: int = 1) -> None:
        self._clock = clock
        self._bucket = Gcra(rate_per_s, burst)

    async def wait(self) -> None:
        wait_ns, before, after = self._bucket.reserve(self._clock.monotonic_ns())
        if wait_ns <= 0:
            return
        try:
            await self._clock.sleep(wait_ns / NS_PER_S)
        except asyncio.CancelledError:
            self._bucket.give_back(before, after)
            raise


class Cooldown:
    """A venue-wide "not before" time, set from `Retry-After`; every request waits on it first."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._until_ns = 0
        self.last_status = 0

    def hold(self, seconds: float, status: int) -> None:
        until = self._clock.monotonic_ns() + int(seconds * NS_PER_S)
        self._until_ns = max(self._until_ns, until)
        self.last_status = status

    def remaining_s(self) -> float:
        return max(0.0, (self._until_ns - self._clock.monotonic_ns()) / NS_PER_S)

    async def wait(self) -> None:
        while (left := self.remaining_s()) > 0:
            await self._clock.sleep(left)
