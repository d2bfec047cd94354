"""A frame that lands while a full tick is under way is evaluated between two of its stages, and the
full tick neither resolves what that frame fired nor steps the rules back in time (monitor/loop.py
`_between`, monitor/app.py `Daemon.tick`).

The book, daemon and gated manual clock are those of test_daemon_frame_tick (the Binance FAQ account,
BTC's LP 26,316.89). A frame "lands mid-tick" by the evaluator's stage generator putting the mark into
the store and moving the clock past the coalescing window just before it hands a stage back.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Daemon
from monitor.records import Figures
from tests.unit.test_daemon_frame_tick import LP_BTC, _daemon, mark
from tests.unit.test_daemon_tick_frames import GatedClock, run_to


def alerts(d: Daemon) -> list[tuple[str, str, str]]:
    """(symbol, severity, state) of every alert stored in the outbox so far (leases them)."""
    assert d.outbox is not None
    return [
        (a.labels["symbol"], a.severity.label, a.state.value)
        for n in d.outbox.lease_many("desk", 100)
        for a in n.notification.alerts
        if a.labels.get("alertname") == "LiquidationDistance"
    ]


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[tuple[Daemon, GatedClock, dict[str, Any]]]:
    """The loop on the FAQ book; `seen` records the engine's `now`s and, once armed (`at_stage`,
    `price`), puts that mark mid-tick and notes what the outbox held at the next stage boundary."""
    clock = GatedClock()
    d = _daemon(tmp_path, clock)
    seen: dict[str, Any] = {"nows": [], "at_stage": None, "price": 0.0, "mid": None, "kinds_mid": None}
    real_steps, real_step = d.evaluator.steps, d.engine.step

    def steps(snap: Any, now: int, models: Any) -> Generator[str, bool | None, Figures]:
        inner = real_steps(snap, now, models)
        injected, sent = False, None
        while True:
            try:
                stage = inner.send(sent)  # passes the daemon's "resumed after a pause" on
            except StopIteration as done:
                figures: Figures = done.value
                return figures
            if injected and seen["mid"] is None:  # the stage boundary after the frame tick ran
                seen["mid"] = alerts(d)
                seen["kinds_mid"] = dict(d.eval_stats.kinds)
            if stage == seen["at_stage"] and not injected:
                d.store.put(mark(clock, "BTCUSDT", seen["price"]))
                clock.advance(0.003)  # past frame_coalesce_ms: due at the next stage boundary
                injected = True
            sent = yield stage

    def step(figures: Figures, now: int, replaced: Any = None) -> Any:
        seen["nows"].append(now)
        return real_step(figures, now, replaced)

    d.evaluator.steps = steps  # type: ignore[method-assign]
    d.engine.step = step  # type: ignore[method-assign]
    task = asyncio.create_task(d._evaluation_loop())
    yield d, clock, seen
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_frame_during_a_full_tick_alerts_before_it_ends_and_is_not_resolved_by_it(
    running: Any,
) -> None:
    """The slot at 1.0 s starts a full tick on the safe mark; after its market stage BTC's mark lands
    3 % above its LP. The frame tick between stages stores the critical while the full tick is still
    running; the full tick then steps the rules on a fresh frame (its own account figures are the
    older, safe ones), so the critical stays firing, and the engine's `now` never goes back."""
    d, clock, seen = running
    await run_to(d, clock, 0.5)
    assert d.latest is not None
    lp = d.latest.items[LP_BTC].value
    assert alerts(d) == []
    seen["at_stage"], seen["price"] = "market", lp / 0.97
    await run_to(d, clock, 1.0)
    assert ("BTCUSDT", "critical", "firing") in seen["mid"]  # in the outbox before the full tick ended
    assert seen["kinds_mid"] == {"full": 1, "frame": 1}  # the start tick, then this frame; no 2nd full yet
    assert d.eval_stats.kinds == {"full": 2, "frame": 1}
    assert "reframe" in d.eval_stats.stages_s  # the full tick's rules ran on a fresh frame
    assert all(state == "firing" for _, _, state in alerts(d))  # nothing resolved by the older marks
    assert d.latest.items[LP_BTC].value == pytest.approx(lp, abs=0.005)
    assert seen["nows"] == sorted(seen["nows"]) and len(seen["nows"]) == 3
    seen["at_stage"] = None
    await run_to(d, clock, 2.0)  # the next slot: a plain full tick, still firing, time still forward
    assert all(state == "firing" for _, _, state in alerts(d))
    assert seen["nows"] == sorted(seen["nows"]) and len(seen["nows"]) == 4


async def test_the_full_ticks_duration_is_its_own_work_not_the_frame_tick_between(running: Any) -> None:
    """On the manual clock the full tick's own work takes no time but the 3 ms the mark's arrival took
    as its market stage was handed back (between stages, so in no stage); the frame tick run between
    its stages (5 ms here) is in neither its duration nor its stages."""
    d, clock, seen = running
    real = d.tick

    async def tick(frame: bool = False, between: Any = None, nested: bool = False) -> str:
        kind: str = await real(frame, between, nested)
        if nested:
            clock.advance(0.005)
        return kind

    d.tick = tick  # type: ignore[method-assign]
    await run_to(d, clock, 0.5)
    assert d.latest is not None
    seen["at_stage"], seen["price"] = "market", d.latest.items[LP_BTC].value / 0.97
    await run_to(d, clock, 1.0)
    assert d.eval_stats.kinds == {"full": 2, "frame": 1}
    assert d.eval_stats.last_duration_s == pytest.approx(0.003, abs=1e-9)
    assert sum(d.eval_stats.stages_s.values()) == pytest.approx(0.0, abs=1e-9)
    assert d.eval_stats.frame_last_duration_s == pytest.approx(0.0, abs=1e-9)  # advanced after it returned


async def test_without_a_frame_a_full_tick_runs_its_stages_through_and_steps_once(running: Any) -> None:
    """No frame: no frame tick between stages, no reframe, one rules step per full tick."""
    d, clock, seen = running
    await run_to(d, clock, 2.5)
    assert d.eval_stats.kinds == {"full": 3, "frame": 0}
    assert "reframe" not in d.eval_stats.stages_s
    assert len(seen["nows"]) == 3 and seen["nows"] == sorted(seen["nows"])
