"""A scripted timeline for the rule engine, after Alertmanager's acceptance DSL.

`at(t, value)` sets the figure from second t on (it holds until the next `at`; `key=` scripts another
figure, e.g. a feed's `feed_stale`); `want(Between(a, b), state, severity)` expects one event in that
window (`alertname=` narrows it when several rules speak). `run(until)` ticks the engine every
`tick_s` with a ManualClock and `check()` asserts that the events match the wants exactly, in order.
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
    _script: dict[FigureKey, dict[float, object]] = field(default_factory=dict)
    _wants: list[tuple[Between, str, str, str | None]] = field(default_factory=list)
    events: list[tuple[float, AlertEvent]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.engine = RuleEngine(self.rules)
        self.t0 = self.clock.now_ns()

    def at(self, t: float, value: float | object, key: FigureKey = KEY) -> Timeline:
        self._script.setdefault(key, {})[t] = value
        return self

    def want(self, window: Between, state: str, severity: str, alertname: str | None = None) -> Timeline:
        self._wants.append((window, state, severity, alertname))
        return self

    @staticmethod
    def _figure(value: object, now_ns: int) -> Figure:
        if isinstance(value, Stale):
            return Figure(value=value.value, unit="ratio", ts_ns=now_ns, fresh=False, reason="feed stale")
        assert isinstance(value, float)
        reason = "" if math.isfinite(value) else "no mark"
        return Figure(value=value, unit="ratio", ts_ns=now_ns, reason=reason)

    def _figures(self, t: float, now_ns: int) -> Figures:
        items: dict[FigureKey, Figure] = {}
        for key, script in self._script.items():
            value: object = GONE
            for when in sorted(script):
                if when <= t + 1e-9:
                    value = script[when]
            if value is not GONE:
                items[key] = self._figure(value, now_ns)
        return Figures(taken_at_ns=now_ns, items=items)

    def run(self, until_s: float) -> list[tuple[float, AlertEvent]]:
        t = 0.0
        while t <= until_s + 1e-9:
            now = self.clock.now_ns()
            for ev in self.engine.step(self._figures(t, now), now):
                self.events.append(((now - self.t0) / NS_PER_S, ev))
            self.clock.advance(self.tick_s)
            t += self.tick_s
        return self.events

    def summary(self) -> list[tuple[float, str, str]]:
        return [(t, ev.state.value, ev.severity.label) for t, ev in self.events]

    def check(self) -> None:
        got = [(t, ev.state.value, ev.severity.label, ev.labels["alertname"]) for t, ev in self.events]
        assert len(got) == len(self._wants), f"want {len(self._wants)} events, got {got}"
        for (t, state, sev, name), (win, wstate, wsev, wname) in zip(got, self._wants, strict=True):
            ok = win.start_s <= t <= win.end_s and (state, sev) == (wstate, wsev) and wname in (None, name)
            assert ok, (
                f"got {(t, state, sev, name)}, want {wname or ''} {wstate} {wsev} "
                f"in [{win.start_s}, {win.end_s}]; all: {got}"
            )
