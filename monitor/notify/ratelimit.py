"""A token bucket for chat receivers that throttle senders (Telegram ~20/min per group).

Going over a chat's limit earns a 429 and, on Telegram, a growing ban; waiting on our side
instead lets the pipeline fold the backlog into one merged message when the bucket refills.
"""

from __future__ import annotations

from monitor.bucket import Gcra
from monitor.clock import NS_PER_S, Clock
from monitor.errors import RetryableDeliveryError

__all__ = ["RateLimiter"]


class RateLimiter:
    """`per_minute` sends, with bursts up to `burst`; `take()` raises when none is due.

    The arithmetic is the venues' pacing bucket (monitor/bucket.py); what differs is the answer
    when the bucket is empty: a chat send does not queue, it is retried later (and merged with
    what arrives meanwhile), so `take` refuses instead of sleeping.
    """

    def __init__(self, clock: Clock, per_minute: float, burst: float | None = None) -> None:
        self._clock = clock
        self._bucket = Gcra(per_minute / 60.0, burst if burst is not None else max(1.0, per_minute / 4))

    def take(self) -> None:
        """Spend one send, or raise RetryableDeliveryError saying how long until one is free."""
        wait_ns = self._bucket.try_take(self._clock.monotonic_ns())
        if wait_ns > 0:
            raise RetryableDeliveryError("rate_limited", retry_after_s=wait_ns / NS_PER_S)
