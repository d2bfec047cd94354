"""Rules compiled from config: thresholds as comparisons, levels ordered by severity.

Compiling once at start turns config strings into callables and checks what the schema cannot
(unique alert names, levels in severity order), so the per-tick engine never re-parses text.
"""

from __future__ import annotations

import hashlib
import math
import operator
from collections.abc import Callable, Mapping

import msgspec

from monitor.clock import NS_PER_S
from monitor.config import RuleConfig
from monitor.errors import ConfigError
from monitor.records import AlertEvent, AlertState, FigureKey, Severity

__all__ = [
    "HEARTBEAT_ALERTNAME",
    "STARTED_ALERTNAME",
    "UNAVAILABLE_ALERTNAME",
    "Level",
    "Rule",
    "compile_rules",
    "fingerprint",
    "instance_labels",
    "watchdog_event",
]

# Names of the engine's own alerts; receivers route on them like on any other alertname.
HEARTBEAT_ALERTNAME = "PerpmonWatchdog"
STARTED_ALERTNAME = "PerpmonStarted"
UNAVAILABLE_ALERTNAME = "FigureUnavailable"  # a watched figure NaN too long (monitor/rules/unavailable.py)
RESERVED_ALERTNAMES = frozenset({HEARTBEAT_ALERTNAME, STARTED_ALERTNAME, UNAVAILABLE_ALERTNAME})

_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class Level(msgspec.Struct, frozen=True, kw_only=True):
    """One severity step: enter when `op(value, threshold)`, stay while `op(value, clear)`."""

    severity: Severity
    threshold: float
    clear: float
    for_ns: int = 0  # the level's own hold (the rule's `for` unless the level sets one)


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    """A compiled rule; `levels` go from least to most severe."""

    name: str
    figure: str
    op: str
    levels: tuple[Level, ...]
    for_ns: int
    repeat_ns: int  # 0: never repeat
    match: dict[str, str]
    summary: str
    runbook: str = ""
    unavailable_for_s: float | None = None  # None: the engine's default (`[evaluation]`); inf: never

    @property
    def compare(self) -> Callable[[float, float], bool]:
        """`op` as a function; NaN compares False on every side."""
        return _OPS[self.op]

    @property
    def uniform_for(self) -> bool:
        """Every level holds as long as the rule: the lowest level's `for` decides alone."""
        return all(lv.for_ns == self.for_ns for lv in self.levels)

    def entered(self, value: float) -> int:
        """Index of the most severe level whose threshold the value crosses, or -1."""
        hit = -1
        for i, lv in enumerate(self.levels):
            if self.compare(value, lv.threshold):
                hit = i
        return hit

    def held(self, value: float, below: int) -> int:
        """Index of the most severe level up to `below` the value has not cleared, or -1."""
        for i in range(below, -1, -1):
            if self.compare(value, self.levels[i].clear):
                return i
        return -1

    def matches(self, key: FigureKey) -> bool:
        return key.name == self.figure and all(getattr(key, k, None) == v for k, v in self.match.items())


def _compile(cfg: RuleConfig, path: str) -> Rule:
    levels: list[Level] = []
    for j, lv in enumerate(cfg.levels):
        sev = Severity[lv.severity.upper()]
        if levels and sev <= levels[-1].severity:
            raise ConfigError(f"{path}.levels[{j}].severity", "levels must rise in severity (warning → page)")
        clear = lv.threshold if lv.clear is None else lv.clear
        hold = cfg.for_s if lv.for_s is None else lv.for_s
        levels.append(Level(severity=sev, threshold=lv.threshold, clear=clear, for_ns=round(hold * NS_PER_S)))
    if not levels:
        raise ConfigError(f"{path}.levels", "give at least one level")
    return Rule(
        name=cfg.name,
        figure=cfg.figure,
        op=cfg.op,
        levels=tuple(levels),
        for_ns=round(cfg.for_s * NS_PER_S),
        repeat_ns=round(cfg.repeat_s * NS_PER_S),
        match=dict(cfg.match),
        summary=cfg.summary,
        runbook=cfg.runbook,
        unavailable_for_s=cfg.unavailable_for_s,
    )


def compile_rules(rules: tuple[RuleConfig, ...]) -> tuple[Rule, ...]:
    """Compile every rule; raise ConfigError naming the key on what the schema could not check."""
    seen: set[str] = set()
    out: list[Rule] = []
    for i, cfg in enumerate(rules):
        if cfg.name in seen or cfg.name in RESERVED_ALERTNAMES:
            raise ConfigError(f"rules[{i}].name", f"duplicate or reserved alert name {cfg.name!r}")
        seen.add(cfg.name)
        out.append(_compile(cfg, f"rules[{i}]"))
    return tuple(out)


def instance_labels(rule_name: str, key: FigureKey) -> dict[str, str]:
    """Identity labels of one alert instance (severity is added per event, never part of identity)."""
    labels = {"alertname": rule_name}
    labels.update({k: v for k, v in key.labels().items() if v})
    return labels


def fingerprint(labels: Mapping[str, str]) -> str:
    """Stable across processes and restarts (unlike `hash()`), and blind to severity.

    Leaving severity out keeps an escalation from warning to critical the same alert, so a
    receiver updates one incident instead of opening a second.
    """
    h = hashlib.sha256()
    for k in sorted(labels):
        if k == "severity":
            continue
        h.update(k.encode())
        h.update(b"\x1f")
        h.update(labels[k].encode())
        h.update(b"\x1e")
    return h.hexdigest()[:16]


def watchdog_event(starts_at_ns: int, now_ns: int) -> AlertEvent:
    """The heartbeat's firing event (`RuleEngine` sends it every `heartbeat_s`)."""
    labels = {"alertname": HEARTBEAT_ALERTNAME}
    return AlertEvent(
        fingerprint=fingerprint(labels),
        labels={**labels, "severity": Severity.INFO.label},
        annotations={"summary": "perpmon is alive; page if this stops arriving"},
        state=AlertState.FIRING,
        severity=Severity.INFO,
        starts_at_ns=starts_at_ns,
        ends_at_ns=None,
        value=math.nan,
        event_ns=now_ns,
    )
