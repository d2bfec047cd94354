"""One rate-limit arithmetic for everything perpmon paces: venue calls and chat sends alike.

Why one: a venue's connection limit and a chat's send limit are the same problem (at most one
action per interval, bursts allowed), and two hand-written buckets drifted apart in how they
start, round and refill. GCRA keeps a single number, the theoretical arrival time of the next
action, so it has no refill step to get wrong and no float of tokens to round.
"""

from __future__ import annotations

from monitor.clock import NS_PER_S

__all__ = ["Gcra"]


class Gcra:
    """At most `rate_per_s` actions a second, up to `burst` at once (burst may be fractional).

    Starts full: the first `burst` actions pass at once, as a token bucket that starts full would.
    Times are the caller's monotonic nanoseconds, so a manual clock drives it in tests.
    """

    def __init__(self, rate_per_s: float, burst: float = 1.0) -> None:
        self.interval_ns = round(NS_PER_S / rate_per_s)  # whole ns: waits add up exactly
        self.slack_ns = round((max(1.0, burst) - 1.0) * NS_PER_S / rate_per_s)
        self.tat: int | None = None  # theoretical arrival time of the next action; None: never used

    def reserve(self, now_ns: int) -> tuple[int, int, int]:
        """Take the next slot whether or not it is due: (ns to wait for it, tat before, tat after).

        For callers that queue (pacing): each concurrent caller takes the next free slot, so a
        mass reconnect passes one interval apart instead of all together after the same sleep.
        """
        before = now_ns if self.tat is None else max(self.tat, now_ns)
        self.tat = after = before + self.interval_ns
        return max(0, before - self.slack_ns - now_ns), before, after

    def give_back(self, before: int, after: int) -> None:
        """Undo a reservation, but only while it is the last one (a slot others queued behind stays spent)."""
        if self.tat == after:
            self.tat = before

    def try_take(self, now_ns: int) -> int:
        """Take a slot if one is due now (0); otherwise take nothing and say how many ns until one is."""
        base = now_ns if self.tat is None else max(self.tat, now_ns)
        wait = base - self.slack_ns - now_ns
        if wait > 0:
            return wait
        self.tat = base + self.interval_ns
        return 0
