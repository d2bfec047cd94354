"""Frame-driven evaluation: a frame that moves a figure's input wakes the evaluation loop at once.

On the fixed grid alone a mark that crosses a liquidation threshold waits up to `interval_s` for
the next tick, while a bare websocket bot sees it within milliseconds (issue 21). So the store tells
a `FrameSignal` what each record it takes moved — a market's mark (keyed by venue and symbol) or an
account's positions and balances (venue and account) — and the loop runs a frame tick as soon as
the frame has settled, not on the next slot. A frame tick redoes the account stage on the new marks
(`Evaluator.frame`): the figures alerts race on. Book tops and depth move only the book's figures,
which the grid's full tick computes, so they do not wake the loop (at desk scale they arrive without
pause). The periodic grid stays for everything else and for what moves with time alone: staleness,
model age, repeats, heartbeats.

Two limits keep this cheap:
- Coalescing. A burst (Binance sends every mark of `!markPrice@arr` in one message; a wick moves
  the mark and the account within a few ms) evaluates once: the tick waits `frame_coalesce_ms`
  after the first frame of the burst, so a frame's wait is bounded by it.
- A CPU share. A frame-triggered tick starts no sooner than `its predecessor's duration /
  frame_cpu_share` after the last frame-triggered tick started, so those ticks use at most that
  share of a core however many frames arrive; the grid's own ticks are not counted against it (they
  run anyway, and a desk-scale full tick would otherwise hold frames back for several of its
  durations).

The signal keeps what moved (`Moved`), which the loop counts. Which accounts a frame tick computes
again is not taken from it: the account stage compares each market's and account's inputs with
those of its last computation (monitor/evaluation/account_subset.py), which stays exact whichever
tick ran last, a frame tick between a full tick's stages included (monitor/loop.py `_between`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass

from monitor.clock import NS_PER_S, Clock
from monitor.records import AccountSnapshot, MarginCall, MarkPrice

__all__ = ["DELIVERY_GRACE_S", "FrameGate", "FrameSignal", "Moved", "delay_s", "wait_frame_or_sleep"]

# After a tick that stored alerts, the loop lets the receivers' workers make their attempt (lease,
# POST) before the next tick takes the event loop, for at most this long (Dispatcher.attempted): a
# desk-scale tick holds the loop for seconds, and an alert must not wait behind the next one.
DELIVERY_GRACE_S = 0.05
_MARKET = (MarkPrice,)  # mark, index and premium ride on it; Quote and BookLevels wait for the grid
_ACCOUNT = (AccountSnapshot, MarginCall)


@dataclass(frozen=True, slots=True)
class Moved:
    """What moved since the last tick took the signal."""

    markets: frozenset[tuple[str, str]]  # (venue, symbol): mark, index
    accounts: frozenset[tuple[str, str]]  # (venue, account): positions, balances, margin calls
    frames: int  # records that signalled, folded into this one tick
    first_ns: int  # monotonic time the first of them arrived; 0 when none did


class FrameSignal:
    """The store's `on_put` hook: collects what moved and wakes the loop on the first frame.

    `note` runs on every record the collectors put (the hot path: a type check and a set add);
    it must be called on the event loop's thread, as the collectors' sinks are.
    """

    def __init__(self, monotonic_ns: Callable[[], int]) -> None:
        self._mono = monotonic_ns
        self._markets: set[tuple[str, str]] = set()
        self._accounts: set[tuple[str, str]] = set()
        self._frames = 0
        self._first_ns = 0
        self._event = asyncio.Event()
        self.total = 0  # frames signalled since start (perpmon_evaluation_frames)

    def note(self, record: object) -> None:
        if isinstance(record, _MARKET):
            self._markets.add((record.venue, record.symbol))
        elif isinstance(record, _ACCOUNT):
            self._accounts.add((record.venue, record.account))
        else:
            return
        if not self._frames:
            self._first_ns = self._mono()
            self._event.set()
        self._frames += 1
        self.total += 1

    @property
    def pending(self) -> bool:
        return self._frames > 0

    @property
    def first_ns(self) -> int:
        """Monotonic arrival of the first frame not yet taken (0: none pending)."""
        return self._first_ns

    def take(self) -> Moved:
        """What moved since the last take; the signal starts empty again."""
        moved = Moved(frozenset(self._markets), frozenset(self._accounts), self._frames, self._first_ns)
        self._markets.clear()
        self._accounts.clear()
        self._frames = self._first_ns = 0
        self._event.clear()
        return moved

    async def wait(self) -> None:
        await self._event.wait()


class FrameGate:
    """When the next frame tick may start: after the burst settled, and within the CPU share.

    Told only of frame-triggered ticks (`ran`): the share bounds what frames cost, on top of the grid.
    """

    def __init__(self) -> None:
        self._start_ns = 0
        self._duration_ns = 0

    def ran(self, start_ns: int, end_ns: int) -> None:
        """A frame-triggered tick ran from `start_ns` to `end_ns` (monotonic)."""
        self._start_ns, self._duration_ns = start_ns, max(0, end_ns - start_ns)

    def ready_ns(self, first_ns: int, coalesce_ms: float, cpu_share: float) -> int:
        """Monotonic time from which a frame tick may start, for a burst whose first frame came at `first_ns`.

        A tick of duration d followed by no other tick before `start + d / share` keeps the loop
        busy at most `share` of the time, frames or not.
        """
        settled = first_ns + round(coalesce_ms * 1_000_000)
        budget = self._start_ns + round(self._duration_ns / cpu_share)
        return max(settled, budget)


async def wait_frame_or_sleep(clock: Clock, signal: FrameSignal, seconds: float) -> None:
    """Return when a frame arrives or `seconds` have passed on `clock`, whichever comes first."""
    if signal.pending:
        return
    sleeper = asyncio.ensure_future(clock.sleep(seconds))
    waiter = asyncio.ensure_future(signal.wait())
    try:
        await asyncio.wait((sleeper, waiter), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for t in (sleeper, waiter):
            t.cancel()
        # the helpers' own CancelledError comes back as a result; a cancel of *this* task landing
        # here must propagate: suppressed, it left the evaluation loop ticking after its task was
        # cancelled, and a daemon stop (or a test) awaiting it waited for ever
        await asyncio.gather(sleeper, waiter, return_exceptions=True)


def delay_s(until_ns: int, now_ns: int) -> float:
    """Seconds from `now_ns` to `until_ns` (monotonic), never negative."""
    return max(0, until_ns - now_ns) / NS_PER_S
