"""How one alert instance moves: its state, its transitions, and the event that tells of them.

Why a module of its own: `RuleEngine.step` (monitor/rules/engine.py) decides which instances a tick
visits; what a visit does to one instance (pending, firing, escalation, hysteresis, repeat,
resolve: the semantics in engine.py's docstring) and how the event is worded are a separate job,
read and tested on their own. `Transitions` is a mixin of `RuleEngine`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from monitor.records import AlertEvent, AlertState, Severity
from monitor.rules.model import Rule

__all__ = ["Transitions"]


@dataclass(slots=True)
class _Instance:
    """Mutable per-alert state; private to the engine, never crosses a stage boundary."""

    labels: dict[str, str]
    fingerprint: str
    pending_since_ns: int | None = None
    level_since_ns: list[int | None] | None = None  # per level, while pending: since when it is crossed
    level: int = -1  # index into rule.levels while firing
    starts_at_ns: int = 0
    last_sent_ns: int = 0
    value: float = math.nan
    figure_state: str = "ok"


class _Fmt(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _num(x: float) -> str:
    return f"{x:.6g}"


class Transitions:
    """Per-instance transitions and event rendering of `RuleEngine`; see the module docstring."""

    _uniform: dict[str, bool]  # rule name → one `for` for every level (Rule.uniform_for)

    # ------------------------------------------------------------ transitions

    def _advance(
        self, rule: Rule, inst: _Instance, v: float, fresh: bool, reason: str, entered: int, now_ns: int
    ) -> AlertEvent | None:
        """`entered`: `rule.entered(v)`, computed with the column's compares."""
        available = v == v  # only NaN is unavailable: ±inf is a value
        if not (available and fresh):
            note = f": {reason}" if reason else ""
            inst.figure_state = ("unavailable" if not available else "stale") + note
            return self._repeat(rule, inst, now_ns)
        inst.figure_state = "ok"
        inst.value = v
        if inst.level < 0:
            if entered < 0:
                inst.pending_since_ns = inst.level_since_ns = None
                return None
            if inst.pending_since_ns is None:
                inst.pending_since_ns = now_ns
            if not self._held_long_enough(rule, inst, v, now_ns):
                return None
            inst.level, inst.starts_at_ns, inst.last_sent_ns = entered, now_ns, now_ns
            inst.level_since_ns = None
            return self._event(rule, inst, AlertState.FIRING, now_ns)
        if entered > inst.level:
            inst.level, inst.last_sent_ns = entered, now_ns
            return self._event(rule, inst, AlertState.FIRING, now_ns)
        if rule.compare(v, rule.levels[inst.level].clear):
            return self._repeat(rule, inst, now_ns)
        lower = rule.held(v, inst.level - 1)
        if lower < 0:
            ev = self._event(rule, inst, AlertState.RESOLVED, now_ns)
            inst.level, inst.pending_since_ns, inst.level_since_ns = -1, None, None
            return ev
        inst.level, inst.last_sent_ns = lower, now_ns
        return self._event(rule, inst, AlertState.FIRING, now_ns)

    def _due_ns(self, rule: Rule, inst: _Instance) -> float:
        """When time alone can next change `inst` on an unchanged value: its `for` or its repeat.

        On the value of the last full step, a firing alert neither escalates nor clears (that
        step decided both), so only its repeat is due; a pending one fires once the hold of a
        level it crosses runs out. -inf: not known, visit now (a visit with nothing due changes
        nothing, so erring early is safe; late is what this must never be).
        """
        if inst.level >= 0:
            return inst.last_sent_ns + rule.repeat_ns if rule.repeat_ns > 0 else math.inf
        if inst.pending_since_ns is None:
            return -math.inf
        if self._uniform[rule.name]:
            return inst.pending_since_ns + rule.for_ns
        since = inst.level_since_ns
        if since is None:
            return -math.inf
        ends = [t + lv.for_ns for t, lv in zip(since, rule.levels, strict=True) if t is not None]
        return min(ends, default=math.inf)

    def _held_long_enough(self, rule: Rule, inst: _Instance, v: float, now_ns: int) -> bool:
        """Has some level been crossed without a break for its own `for`? Then the breach is proven.

        With one `for` for every level this is the lowest level's hold (crossing a higher level
        crosses the lower ones). A level with a shorter hold — a critical level with `for_s = 0` —
        proves the breach by itself: a jump from safe straight past it fires at once, while a value
        that only reaches the warning still waits out the warning's hold against flapping. Either
        way the alert fires at the most severe level crossed now, as an escalation would.
        """
        assert inst.pending_since_ns is not None
        if self._uniform[rule.name]:
            return now_ns - inst.pending_since_ns >= rule.for_ns
        since: list[int | None] = inst.level_since_ns or [None] * len(rule.levels)
        ready = False
        for i, lv in enumerate(rule.levels):
            if rule.compare(v, lv.threshold):
                start = since[i]
                if start is None:
                    start = since[i] = now_ns
                ready |= now_ns - start >= lv.for_ns
            else:
                since[i] = None
        inst.level_since_ns = since
        return ready

    def _repeat(self, rule: Rule, inst: _Instance, now_ns: int) -> AlertEvent | None:
        if inst.level < 0 or rule.repeat_ns <= 0 or now_ns - inst.last_sent_ns < rule.repeat_ns:
            return None
        inst.last_sent_ns = now_ns
        return self._event(rule, inst, AlertState.FIRING, now_ns)

    # ------------------------------------------------------------ rendering an event

    def _event(
        self, rule: Rule, inst: _Instance, state: AlertState, now_ns: int, reason: str = ""
    ) -> AlertEvent:
        level = rule.levels[inst.level]
        sev = level.severity
        annotations = {
            "summary": self._summary(rule, inst, level.threshold, sev),
            "value": _num(inst.value),
            "threshold": _num(level.threshold),
            "clear": _num(level.clear),
            "figure": rule.figure,
            "op": rule.op,
        }
        if rule.runbook:
            annotations["runbook"] = rule.runbook
        if inst.figure_state != "ok":
            annotations["figure_state"] = inst.figure_state
        if reason:
            annotations["resolved_reason"] = reason
        return AlertEvent(
            fingerprint=inst.fingerprint,
            labels={**inst.labels, "severity": sev.label},
            annotations=annotations,
            state=state,
            severity=sev,
            starts_at_ns=inst.starts_at_ns,
            ends_at_ns=now_ns if state is AlertState.RESOLVED else None,
            value=inst.value,
            event_ns=now_ns,
        )

    @staticmethod
    def _summary(rule: Rule, inst: _Instance, threshold: float, sev: Severity) -> str:
        default = f"{rule.figure} {rule.op} {_num(threshold)} (value {_num(inst.value)})"
        if not rule.summary:
            return default
        fields = _Fmt(inst.labels)
        fields.update(value=inst.value, threshold=threshold, severity=sev.label, figure=rule.figure)
        try:
            return rule.summary.format_map(fields)
        except (ValueError, TypeError, IndexError, AttributeError, KeyError):
            # A bad format spec in config must not drop the alert; show the raw template instead.
            return f"{rule.summary} [{default}]"
