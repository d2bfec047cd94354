"""Frame-driven ticks on a manual clock: a crossing frame alerts before the next slot, bursts
evaluate once, and frame ticks keep to their share of a core (monitor/frames.py).

The loop runs for real (its own task) against a clock whose sleepers wake only when the test moves
time to their deadline, so "before the next periodic tick" is a statement about the clock, not
about how fast this machine is.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Daemon
from monitor.clock import NS_PER_S, ManualClock
from monitor.config import parse_config
from monitor.frames import Moved
from monitor.notify import Dispatcher, Outbox
from monitor.notify.model import Notification
from monitor.records import Figure, FigureKey, Figures, MarkPrice, Quote

LP = 20_000.0  # the long leg's liquidation price in the stand-in evaluator
SAFE, CROSSING = 30_000.0, 20_600.0  # distance 0.33 and 0.029 (< the critical 0.05)
DIST = FigureKey(
    name="liquidation_distance_ratio", venue="binance", account="degen", symbol="BTCUSDT", side="BOTH"
)
RULE = {  # the shipped rule's levels: the critical fires on the first tick across it, the warning holds 3 s
    "name": "LiquidationDistance",
    "figure": "liquidation_distance_ratio",
    "op": "<",
    "levels": [
        {"severity": "warning", "threshold": 0.10, "clear": 0.12},
        {"severity": "critical", "threshold": 0.05, "clear": 0.06, "for_s": 0.0},
    ],
    "for_s": 3.0,
}


class GatedClock(ManualClock):
    """A manual clock whose sleepers wake only when `run_to` moves time past their deadline."""

    def __init__(self) -> None:
        super().__init__()
        self.sleepers: list[tuple[int, asyncio.Future[None]]] = []

    async def sleep(self, seconds: float) -> None:
        entry = (
            self.monotonic_ns() + round(max(0.0, seconds) * NS_PER_S),
            asyncio.get_running_loop().create_future(),
        )
        self.sleepers.append(entry)
        try:
            await entry[1]
        finally:
            self.sleepers.remove(entry)

    def waiting(self) -> bool:
        return any(not f.done() for _, f in self.sleepers)

    def wake_due(self) -> None:
        for deadline, fut in list(self.sleepers):
            if deadline <= self.monotonic_ns() and not fut.done():
                fut.set_result(None)


async def settle(d: Daemon, clock: GatedClock) -> None:
    """Until the loop waits on the clock again (a tick's outbox write runs in a real thread)."""
    for _ in range(5000):
        for _ in range(10):
            await asyncio.sleep(0)
        if clock.waiting() and not d.swap_lock.locked():
            return
        await asyncio.sleep(0.001)
    raise AssertionError("the evaluation loop never went back to waiting")


async def run_to(d: Daemon, clock: GatedClock, seconds: float) -> None:
    """Move time to `seconds` after the start, waking each sleeper at its own deadline on the way."""
    target = round(seconds * NS_PER_S)
    while True:
        await settle(d, clock)
        due = [dl for dl, f in clock.sleepers if not f.done() and dl <= target]
        step_to = min(due) if due else target
        clock.advance(max(0, step_to - clock.monotonic_ns()) / NS_PER_S)
        clock.wake_due()
        if not due:
            await settle(d, clock)
            return


class _Notifier:
    name = "desk"

    async def notify(self, n: Notification) -> None:  # the workers are not run: the outbox is read
        raise AssertionError("not delivered in this test")


def _daemon(tmp_path: Path, clock: ManualClock, **evaluation: Any) -> Daemon:
    data = {
        "state_dir": str(tmp_path),
        "http": {"port": 0},
        "evaluation": {"heartbeat_s": 0.0, "interval_s": 1.0, **evaluation},
        "receivers": [{"name": "desk", "type": "console"}],
        "rules": [RULE],
    }
    cfg, secrets = parse_config(data, {})
    d = Daemon(cfg, secrets, clock=clock)
    d.outbox = Outbox(tmp_path / "outbox.sqlite3")
    d.dispatcher = Dispatcher(cfg.receivers, {"desk": _Notifier()}, d.outbox, clock)

    def evaluate(snapshot: Any, now: int, models: object) -> Figures:  # the mark the store holds, vs LP
        mark = snapshot.marks[("binance", "BTCUSDT")].mark
        return Figures(
            taken_at_ns=now, items={DIST: Figure(value=(mark - LP) / mark, unit="ratio", ts_ns=now)}
        )

    stand_in(d, evaluate)
    return d


def stand_in(d: Daemon, evaluate: Callable[[Any, int, Any], Figures]) -> None:
    """`evaluate` in place of the evaluator's, whole (`Daemon.tick` alone) or as the one stage of the
    loop's full ticks (`Evaluator.steps`, which the loop drives to run frame ticks between stages)."""

    def steps(snapshot: Any, now: int, models: Any) -> Generator[str, bool | None, Figures]:
        figures = evaluate(snapshot, now, models)
        yield "evaluate"
        return figures

    d.evaluator.evaluate = evaluate  # type: ignore[method-assign]
    d.evaluator.steps = steps  # type: ignore[method-assign]


def mark(clock: ManualClock, price: float, symbol: str = "BTCUSDT") -> MarkPrice:
    now = clock.now_ns()
    return MarkPrice(venue="binance", symbol=symbol, ts_event_ns=now, ts_recv_ns=now, mark=price, index=price)


def stored(d: Daemon) -> list[tuple[str, str, str]]:
    assert d.outbox is not None
    return [
        (a.labels["alertname"], a.state.value, a.severity.label)
        for n in d.outbox.lease_many("desk", 100)
        for a in n.notification.alerts
    ]


@pytest.fixture
async def loop_of(tmp_path: Path) -> AsyncIterator[Any]:
    tasks: list[asyncio.Task[None]] = []

    def start(**evaluation: Any) -> tuple[Daemon, GatedClock]:
        clock = GatedClock()
        d = _daemon(tmp_path, clock, **evaluation)
        d.store.put(mark(clock, SAFE))
        tasks.append(asyncio.create_task(d._evaluation_loop()))
        return d, clock

    yield start
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_a_crossing_frame_raises_its_critical_before_the_next_periodic_tick(loop_of: Any) -> None:
    """Safe at the start tick; at 0.3 s a mark crosses the critical: stored 2 ms later, not at 1 s."""
    d, clock = loop_of()
    await run_to(d, clock, 0.3)
    assert stored(d) == [] and d.eval_stats.ticks == {"periodic": 1, "frame": 0}
    d.store.put(mark(clock, CROSSING))
    await run_to(d, clock, 0.302)  # frame_coalesce_ms = 2 by default
    assert stored(d) == [("LiquidationDistance", "firing", "critical")]
    assert d.eval_stats.ticks == {"periodic": 1, "frame": 1}
    assert clock.monotonic_ns() < NS_PER_S  # the next slot has not come


async def test_with_the_frame_trigger_off_the_crossing_waits_for_the_slot(loop_of: Any) -> None:
    """The same frame with `on_frame = false`: nothing until the 1 s slot (the old behaviour)."""
    d, clock = loop_of(on_frame=False)
    await run_to(d, clock, 0.3)
    d.store.put(mark(clock, CROSSING))
    await run_to(d, clock, 0.99)
    assert stored(d) == [] and d.eval_stats.ticks["frame"] == 0
    await run_to(d, clock, 1.0)
    assert stored(d) == [("LiquidationDistance", "firing", "critical")]
    assert d.eval_stats.ticks == {"periodic": 2, "frame": 0}


async def test_a_per_level_for_holds_the_warning_on_frame_ticks(loop_of: Any) -> None:
    """A frame into the warning band only: no alert on the frame tick; it fires once its 3 s passed."""
    d, clock = loop_of()
    await run_to(d, clock, 0.3)
    d.store.put(mark(clock, 21_500.0))  # distance 0.07: the warning band, not the critical
    await run_to(d, clock, 0.31)
    assert d.eval_stats.ticks["frame"] == 1 and stored(d) == []
    await run_to(d, clock, 3.0)
    assert stored(d) == []  # 2.7 s crossed: still held
    await run_to(d, clock, 4.0)  # the slot at 4 s is 3.7 s after the frame
    assert stored(d) == [("LiquidationDistance", "firing", "warning")]


async def test_frames_within_the_coalescing_window_evaluate_once(loop_of: Any) -> None:
    """Forty marks over 1.5 ms (two symbols, book tops between them) make one frame tick that saw them
    all; the book tops do not signal (they move no figure a frame tick redoes)."""
    d, clock = loop_of(frame_coalesce_ms=2.0)
    taken: list[Moved] = []
    real_take = d.frames.take

    def take() -> Moved:
        taken.append(real_take())
        return taken[-1]

    d.frames.take = take
    await run_to(d, clock, 0.5)
    for i in range(40):
        clock.advance(0.0015 / 40)
        now = clock.now_ns()
        sym = "BTCUSDT" if i % 2 else "ETHUSDT"
        d.store.put(mark(clock, SAFE + i, sym))
        d.store.put(Quote(venue="binance", symbol=sym, market="perp", ts_event_ns=now, ts_recv_ns=now,
                          bid=SAFE, bid_size=1.0, ask=SAFE + 1, ask_size=1.0))  # fmt: skip
    await run_to(d, clock, 0.51)
    assert d.eval_stats.ticks == {"periodic": 1, "frame": 1}
    assert taken[-1].frames == 40 and d.eval_stats.frames == 40
    assert taken[-1].markets == {("binance", "BTCUSDT"), ("binance", "ETHUSDT")}
    assert taken[-1].accounts == frozenset()


async def test_frame_ticks_keep_to_their_share_of_a_core(loop_of: Any) -> None:
    """A mark every millisecond and ticks that take 10 ms: with a 0.25 share, one tick per 40 ms at most."""
    d, clock = loop_of(frame_cpu_share=0.25, frame_coalesce_ms=0.0, interval_s=100.0)
    real = d.evaluator.evaluate
    busy: list[tuple[int, int]] = []

    def slow(snapshot: Any, now: int, models: object) -> Figures:
        start = clock.monotonic_ns()
        clock.advance(0.010)  # the evaluation's own cost, on the manual clock
        busy.append((start, clock.monotonic_ns()))
        figures: Figures = real(snapshot, now, models)
        return figures

    stand_in(d, slow)
    await run_to(d, clock, 0.05)
    begin = clock.monotonic_ns()
    for k in range(1, 1001):  # one second of frames
        d.store.put(mark(clock, SAFE + k))
        await run_to(d, clock, 0.05 + k / 1000)
    elapsed = clock.monotonic_ns() - begin
    frame_busy = sum(e - s for s, e in busy if s >= begin)
    assert d.eval_stats.ticks["periodic"] == 1
    # one per 40 ms: 25 in a second (with share 1, one per frame: 1000)
    assert 20 <= d.eval_stats.ticks["frame"] <= 26
    assert frame_busy <= 0.25 * elapsed + 10_000_000  # one tick's worth of slack at the window's edge
