"""Deciding a transition and storing it are one step: a refused outbox write delays an event,
never loses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import structlog

from monitor.app import Daemon
from monitor.clock import ManualClock
from monitor.config import parse_config
from monitor.notify import Dispatcher, Outbox
from monitor.notify.model import Notification
from monitor.records import Figure, FigureKey, Figures
from tests.unit.test_daemon_tick_frames import stand_in

GONE = FigureKey(name="position_disappeared", venue="binance", account="degen", symbol="BTCUSDT", side="BOTH")
CONFIG: dict[str, Any] = {
    "http": {"port": 0},
    "evaluation": {"heartbeat_s": 0.0},
    "receivers": [{"name": "desk", "type": "console"}],
    "rules": [  # the shipped rule: repeat_s = 0, so the engine tells it exactly once
        {
            "name": "PositionDisappeared",
            "figure": "position_disappeared",
            "op": ">",
            "levels": [{"severity": "critical", "threshold": 0.5}],
        }
    ],
}


class _Notifier:
    name = "desk"

    async def notify(self, n: Notification) -> None:  # the workers are not run: the outbox is read
        raise AssertionError("not delivered in this test")


def _daemon(tmp_path: Path, clock: ManualClock) -> Daemon:
    cfg, secrets = parse_config({**CONFIG, "state_dir": str(tmp_path)}, {})
    d = Daemon(cfg, secrets, clock=clock)
    d.outbox = Outbox(tmp_path / "outbox.sqlite3")
    d.dispatcher = Dispatcher(cfg.receivers, {"desk": _Notifier()}, d.outbox, clock)  # type: ignore[dict-item]
    gone_from = clock.now_ns() + 1_000_000_000  # the position vanishes on the second tick

    def evaluate(snapshot: object, now: int, models: object) -> Figures:
        value = 1.0 if now >= gone_from else 0.0
        return Figures(taken_at_ns=now, items={GONE: Figure(value=value, unit="flag", ts_ns=now)})

    stand_in(d, evaluate)
    return d


def _refuse_once(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = Outbox.enqueue

    def enqueue(self: Outbox, notes: list[Notification]) -> int:
        calls.append(len(notes))
        if len(calls) == 1:
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, notes)

    monkeypatch.setattr(Outbox, "enqueue", enqueue)
    return calls


def _stored(d: Daemon) -> list[tuple[str, str, str]]:
    assert d.outbox is not None
    return [
        (a.labels["alertname"], a.state.value, n.notification.reason.value)
        for n in d.outbox.lease_many("desk", 100)
        for a in n.notification.alerts
    ]


async def test_an_event_refused_by_the_outbox_is_stored_on_the_next_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PositionDisappeared (told once, never repeated) decided on a tick whose write fails arrives with
    the next tick's write, as a first notification, once."""
    clock = ManualClock()
    d = _daemon(tmp_path, clock)
    await d.tick()  # nothing to tell: the position is there
    calls = _refuse_once(monkeypatch)
    clock.advance(1.0)
    with pytest.raises(sqlite3.OperationalError):
        await d.tick()  # the engine decided; the disk refused
    assert [e.labels["alertname"] for e in d.unsent] == ["PositionDisappeared"]
    assert d.eval_stats.held == 1  # perpmon_alerts_held
    clock.advance(1.0)
    await d.tick()  # the engine has nothing new; the held event goes now
    assert calls == [1, 1] and d.unsent == [] and d.eval_stats.held == 0
    assert _stored(d) == [("PositionDisappeared", "firing", "first")]


async def test_the_evaluation_loop_survives_a_refused_write_and_delivers_later(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop counts the failed tick, keeps ticking, and the event is in the outbox afterwards."""
    clock = ManualClock()
    d = _daemon(tmp_path, clock)
    _refuse_once(monkeypatch)
    loop = asyncio.create_task(d._evaluation_loop())
    try:
        for _ in range(1000):
            if d.eval_stats.count >= 3:
                break
            await asyncio.sleep(0.001)
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert d.eval_stats.errors == 1 and d.eval_stats.count >= 3
    assert _stored(d) == [("PositionDisappeared", "firing", "first")]


async def test_a_held_event_is_written_to_the_log_once_with_what_the_desk_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the outbox refuses, the decided alert is in the journal (which outlives a watchdog restart)."""
    clock = ManualClock()
    d = _daemon(tmp_path, clock)
    await d.tick()
    real = Outbox.enqueue
    refusals = [2]

    def enqueue(self: Outbox, notes: list[Notification]) -> int:
        if refusals[0] > 0:
            refusals[0] -= 1
            raise sqlite3.OperationalError("database or disk is full")
        return real(self, notes)

    monkeypatch.setattr(Outbox, "enqueue", enqueue)
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):  # refused, refused, stored
            clock.advance(1.0)
            with contextlib.suppress(sqlite3.OperationalError):
                await d.tick()
    held = [e for e in logs if e["event"].startswith("alert held")]
    assert len(held) == 1, "told once, when first held, not on every retry"
    assert held[0]["log_level"] == "error" and held[0]["alertname"] == "PositionDisappeared"
    assert held[0]["labels"]["account"] == "degen" and held[0]["severity"] == "critical"
    assert _stored(d) == [("PositionDisappeared", "firing", "first")]


async def test_figure_unavailable_takes_the_daemons_path_to_the_receivers(tmp_path: Path) -> None:
    """A margin ratio NaN from the start: the daemon's ticks put FigureUnavailable in the outbox for the
    receiver that takes critical alerts, after `[evaluation] unavailable_for_s`, like any alert."""
    clock = ManualClock()
    margin = FigureKey(name="margin_ratio", venue="binance", account="degen")
    rule = {
        "name": "MarginRatio",
        "figure": "margin_ratio",
        "op": ">",
        "levels": [{"severity": "warning", "threshold": 0.5}, {"severity": "critical", "threshold": 0.8}],
    }
    data = {
        **CONFIG,
        "state_dir": str(tmp_path),
        "evaluation": {"heartbeat_s": 0.0, "unavailable_for_s": 10.0},
        "receivers": [{"name": "desk", "type": "console", "match": {"severity": "critical"}}],
        "rules": [rule],
    }
    cfg, secrets = parse_config(data, {})
    d = Daemon(cfg, secrets, clock=clock)
    d.outbox = Outbox(tmp_path / "outbox.sqlite3")
    d.dispatcher = Dispatcher(cfg.receivers, {"desk": _Notifier()}, d.outbox, clock)  # type: ignore[dict-item]

    def evaluate(snapshot: object, now: int, models: object) -> Figures:
        nan = Figure(value=float("nan"), unit="ratio", ts_ns=now, reason="no_mark")
        return Figures(taken_at_ns=now, items={margin: nan})

    d.evaluator.evaluate = evaluate  # type: ignore[method-assign]
    for _ in range(12):
        await d.tick()
        clock.advance(1.0)
    assert _stored(d) == [("FigureUnavailable", "firing", "first")]
