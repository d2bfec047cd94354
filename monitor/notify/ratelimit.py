"""A token bucket for chat receivers that throttle senders (Telegram ~20/min per group).

Going over a chat's limit earns a 429 and, on Telegram, a growing ban; waiting on our side
instead lets the pipeline fold the backlog into one merged message when the bucket refills.
"""

from __future__ import annotations

from monitor.clock import NS_PER_S, Clock
from monitor.errors import RetryableDeliveryError

__all__ = ["RateLimiter"]


class RateLimiter:
    """`per_minute` sends, with bursts up to `burst`; `take()` raises when the bucket is empty."""

    def __init__(self, clock: Clock, per_minute: float, burst: float | None = None) -> None:
        self._clock = clock
        self._rate = per_minute / 60.0  # tokens per second
        self._cap = burst if burst is not None else max(1.0, per_minute / 4)
        self._tokens = self._cap
        self._at = clock.monotonic_ns()

    def _refill(self) -> None:
        now = self._clock.monotonic_ns()
        self._tokens = min(self._cap, self._tokens + (now - self._at) / NS_PER_S * self._rate)
        self._at = now

    def take(self) -> None:
        """Spend one token, or raise RetryableDeliveryError saying how long until one is free."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return
        raise RetryableDeliveryError("rate_limited", retry_after_s=(1.0 - self._tokens) / self._rate)
