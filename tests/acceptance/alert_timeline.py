"""A scripted timeline for the rule engine, after Alertmanager's acceptance DSL.

`at(t, value)` sets the figure from second t on (it holds until the next `at`); `want(Between(a, b),
state, severity)` expects one event in that window. `run(until)` ticks the engine every `tick_s`
with a ManualClock and `check()` asserts that the events match the wants exactly, in order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from monitor.clock import NS_PER_S, ManualClock
from monitor.config import RuleConfig
from monitor.records import AlertEvent, Figure, FigureKey, Figures
from monitor.rules import RuleEngine

KEY = FigureKey(name="margin_ratio", venue="binance", account="desk1", symbol="BTCUSDT")
GONE = object()  # the figure is absent from the tick's Figures


@dataclass(frozen=True)
class Stale:
    value: float


@dataclass(frozen=True)
class Between:
    start_s: float
    end_s: float


@dataclass
class Timeline:
    rules: tuple[RuleConfig, ...]
    tick_s: float = 1.0
    clock: ManualClock = field(default_factory=ManualClock)
    _script: dict[float, object] = field(default_factory=dict)
    _wants: list[tuple[Between, str, str]] = field(default_factory=list)
    events: list[tuple[float, AlertEvent]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.engine = RuleEngine(self.rules)
        self.t0 = self.clock.now_ns()

    def at(self, t: float, value: float | object) -> Timeline:
        self._script[t] = value
        return self

    def want(self, window: Between, state: str, severity: str) -> Timeline:
        self._wants.append((window, state, severity))
        return self

    def _figures(self, value: object, now_ns: int) -> Figures:
        if value is GONE:
            return Figures(taken_at_ns=now_ns, items={})
        if isinstance(value, Stale):
            fig = Figure(value=value.value, unit="ratio", ts_ns=now_ns, fresh=False, reason="feed stale")
        else:
            assert isinstance(value, float)
            fig = Figure(
                value=value, unit="ratio", ts_ns=now_ns, reason="" if math.isfinite(value) else "no mark"
            )
        return Figures(taken_at_ns=now_ns, items={KEY: fig})

    def run(self, until_s: float) -> list[tuple[float, AlertEvent]]:
        value: object = GONE
        t = 0.0
        while t <= until_s + 1e-9:
            for when in sorted(self._script):
                if when <= t + 1e-9:
                    value = self._script[when]
            now = self.clock.now_ns()
            for ev in self.engine.step(self._figures(value, now), now):
                self.events.append(((now - self.t0) / NS_PER_S, ev))
            self.clock.advance(self.tick_s)
            t += self.tick_s
        return self.events

    def summary(self) -> list[tuple[float, str, str]]:
        return [(t, ev.state.value, ev.severity.label) for t, ev in self.events]

    def check(self) -> None:
        got = self.summary()
        assert len(got) == len(self._wants), f"want {len(self._wants)} events, got {got}"
        for (t, state, sev), (win, wstate, wsev) in zip(got, self._wants, strict=True):
            ok = win.start_s <= t <= win.end_s and (state, sev) == (wstate, wsev)
            assert ok, (
                f"got {(t, state, sev)}, want {wstate} {wsev} in [{win.start_s}, {win.end_s}]; all: {got}"
            )
