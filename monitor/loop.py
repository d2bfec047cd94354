"""The evaluation loop: when the daemon ticks, and of which kind.

Apart from `app.py` (which wires the daemon and runs one tick) because the scheduling is its own
job: ticks start on a fixed grid of `interval_s` (a tick that overruns skips slots instead of
bursting, monitor/metronome.py), a frame that moved an input wakes the loop at once within its CPU
share (monitor/frames.py), stored alerts get their delivery attempt before the next tick, and the
heap is settled once the first ticks have built what every tick reuses. A full tick runs stage by
stage, and a frame that is due runs its tick between two stages (`_between`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import structlog

from monitor.frames import DELIVERY_GRACE_S, FrameGate, delay_s, wait_frame_or_sleep
from monitor.metronome import Metronome

if TYPE_CHECKING:
    from monitor.app import Daemon

__all__ = ["SETTLE_AFTER_TICKS", "evaluation_loop"]

log = structlog.get_logger("monitor.app")

SETTLE_AFTER_TICKS = 5  # the heap is frozen once the first ticks built what every tick reuses


async def evaluation_loop(d: Daemon) -> None:
    """Tick on the `interval_s` grid, and at once when a frame moved an input (monitor/frames.py)."""
    mono = d.clock.monotonic_ns
    d.store.on_put = d.frames.note  # here, not at build: a test or a restart may swap the store
    beat = Metronome(d.cfg.evaluation.interval_s, mono())
    gate = FrameGate()
    trigger, next_periodic_ns = "periodic", mono()
    while True:
        t0, dispatcher = mono(), d.dispatcher
        handoffs = dispatcher.handoffs
        d.eval_stats.ticks[trigger] = d.eval_stats.ticks.get(trigger, 0) + 1
        try:
            async with d.swap_lock:
                # either kind covers every frame so far: the account stage reads the whole store
                d.eval_stats.frames += d.frames.take().frames
                between = _between(d, gate) if trigger == "periodic" else None
                await d.tick(frame=trigger == "frame", between=between)
            d.notify.watchdog(mono())  # only a loop that ticks pets the watchdog
            if not d.heap_settled and d.eval_stats.count >= SETTLE_AFTER_TICKS:
                d.settle_heap()
        except Exception:
            d.eval_stats.errors += 1
            log.exception("evaluation tick failed")
        if trigger == "frame":  # the share bounds what frames cost; the grid's ticks run regardless
            gate.ran(t0, mono())
        if dispatcher.handoffs != handoffs:  # alerts stored: receivers try them before another tick
            await dispatcher.attempted(DELIVERY_GRACE_S)
        if trigger == "periodic":  # the next slot of a fixed grid; re-read: a reload may change it
            next_periodic_ns = beat.next_ns(d.cfg.evaluation.interval_s, mono())
            d.eval_stats.skipped = beat.skipped
        trigger = await _next_trigger(d, next_periodic_ns, gate)


def _between(d: Daemon, gate: FrameGate) -> Callable[[], Awaitable[bool]]:
    """What a full tick awaits after each stage (`Daemon.tick` `between`): a frame tick, if one is due.

    A desk-scale full evaluation holds the loop for tens of milliseconds; a crossing frame that
    lands meanwhile is evaluated at the next stage boundary, within the same gate (coalescing and
    CPU share) as between ticks, against the last completed full tick, and its alerts get their
    delivery attempt before the evaluation goes on. The swap lock stays held by the full tick:
    a reload never lands mid-tick. Returns whether it took frames (the full tick then steps the
    rules on a fresh frame at its end, `Daemon.tick`).
    """
    mono = d.clock.monotonic_ns

    async def between() -> bool:
        ev = d.cfg.evaluation
        if not (ev.on_frame and d.frames.pending):
            return False
        if gate.ready_ns(d.frames.first_ns, ev.frame_coalesce_ms, ev.frame_cpu_share) > mono():
            return False
        t0, dispatcher = mono(), d.dispatcher
        handoffs = dispatcher.handoffs
        d.eval_stats.ticks["frame"] = d.eval_stats.ticks.get("frame", 0) + 1
        d.eval_stats.frames += d.frames.take().frames
        try:
            await d.tick(frame=True, nested=True)
        except Exception:
            d.eval_stats.errors += 1
            log.exception("frame tick within a full tick failed")
        gate.ran(t0, mono())
        if dispatcher.handoffs != handoffs:
            await dispatcher.attempted(DELIVERY_GRACE_S)
        return True

    return between


async def _next_trigger(d: Daemon, next_periodic_ns: int, gate: FrameGate) -> str:
    """Wait for the next tick: "periodic" on its slot, or "frame" once a burst settled within budget.

    A frame ready when a slot is also due goes first: its tick takes milliseconds where a desk's
    full tick takes a tenth of a second or more, and the CPU share still leaves the slot its turn.
    """
    mono = d.clock.monotonic_ns
    while True:
        ev, now = d.cfg.evaluation, mono()
        ready = (
            gate.ready_ns(d.frames.first_ns, ev.frame_coalesce_ms, ev.frame_cpu_share)
            if ev.on_frame and d.frames.pending
            else None
        )
        if ready is not None and ready <= now:  # before a due slot: a frame tick is the short one
            return "frame"
        if now >= next_periodic_ns:
            return "periodic"
        if not ev.on_frame:
            await d.clock.sleep(delay_s(next_periodic_ns, now))
        elif ready is not None:
            await d.clock.sleep(delay_s(min(ready, next_periodic_ns), now))
        else:
            await wait_frame_or_sleep(d.clock, d.frames, delay_s(next_periodic_ns, now))
