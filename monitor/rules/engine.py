"""RuleEngine: figures in, alert events out, Prometheus/Alertmanager semantics, time only from `now_ns`.

Semantics, per alert instance (one rule × one figure key):

- **pending**: the value crosses the lowest level's threshold; it fires once it has stayed
  across for `for_s`. Pending resets when the value is back on the safe side of the threshold.
  A level may carry its own `for_s`: the alert fires once any level has been crossed without a
  break for its own hold, so a critical level with `for_s = 0` fires on the first tick that
  crosses it while a warning still waits out its hold (a wick toward liquidation must not wait
  three seconds; a warning that flaps around its threshold should).
- **firing** at the most severe level crossed when it fires; `starts_at_ns` is that moment.
- **hysteresis**: a firing level holds until the value passes that level's `clear`.
- **escalation** to a more severe level emits a firing event at once, without a second `for`:
  the `for` already proved the breach is not noise, and waiting again at 3 a.m. while the value
  runs towards liquidation is the expensive mistake. It resets the repeat timer.
- **de-escalation**: when the value passes the current level's `clear` but not a lower level's,
  a firing event with the lower severity is emitted (same fingerprint) and the repeat timer resets.
- **repeat**: with `repeat_s > 0`, a firing alert is re-emitted every `repeat_s`.
- **resolved**: when the value passes the lowest level's `clear`.
- **figure gone** (absent from the tick's Figures, e.g. a liquidated position): the alert resolves
  with annotation `resolved_reason = "figure gone"`. The position's disappearance itself is a
  separate `position_disappeared` figure and rule, so nothing is silently forgotten.
- **figure unavailable** (NaN) **or stale** (`fresh=False`): state is held, never resolved — a dead
  feed must not look like a recovered account; the stale feed is its own alert. A firing alert
  keeps repeating (annotated `figure_state`); a pending one neither fires nor resets. Only NaN is
  unavailable: ±inf is a value (past liquidation) and compares like one, so it fires and escalates.
- **unavailable too long**: a watched figure NaN for `unavailable_for_s` raises its own
  `FigureUnavailable` alert, whether or not the rule's alert was firing — a figure NaN from the
  start would otherwise never alert (`monitor/rules/unavailable.py`). So does a stale figure
  whose value breaches a rule that is not firing: the rule cannot start on it.

- **inhibition**: while a stale-feed alert (a rule on `feed_stale`) fires, the events of the alerts
  computed from that feed are held back and their latest state is told when it recovers
  (`monitor/rules/inhibit.py`); the state above is kept exactly as without inhibition.

Events are emitted only on those changes and on repeats, never every tick. What one visit does to
one instance, and the event's wording, is `monitor/rules/transitions.py`; this module decides the visits.
"""

from __future__ import annotations

import math

import msgspec

from monitor.clock import NS_PER_S
from monitor.config import RuleConfig
from monitor.records import AlertEvent, AlertState, FigureKey, Figures, Severity
from monitor.rules.inhibit import SOURCE_FIGURE, Inhibitor, Source
from monitor.rules.model import (
    STARTED_ALERTNAME,
    UNAVAILABLE_ALERTNAME,
    Rule,
    compile_rules,
    fingerprint,
    instance_labels,
    watchdog_event,
)
from monitor.rules.scan import Scanner
from monitor.rules.transitions import Transitions, _Instance
from monitor.rules.unavailable import UnavailableGuard

__all__ = ["RuleEngine"]

_RELOAD_REASON = "rule changed or removed by a config reload"


class RuleEngine(Transitions):
    """Evaluates compiled rules against each tick's Figures; see the module docstring."""

    def __init__(
        self,
        rules: tuple[RuleConfig, ...],
        *,
        heartbeat_s: float = 0.0,
        unavailable_for_s: float = 30.0,
        unavailable_warmup_s: float = 7200.0,
    ) -> None:
        """The guard's defaults are `[evaluation]`'s: a figure NaN too long is never silent."""
        self._rules: tuple[Rule, ...] = compile_rules(rules)
        self._guard = UnavailableGuard(unavailable_for_s, unavailable_warmup_s)
        self._state: dict[str, dict[FigureKey, _Instance]] = {}  # rule name → instances
        self._heartbeat_ns = round(heartbeat_s * NS_PER_S)
        self._heartbeat_last_ns: int | None = None
        self._started_ns: int | None = None
        self._sources = tuple(r.name for r in self._rules if r.figure == SOURCE_FIGURE)
        self._inhibitor = Inhibitor(self._sources)
        self._scanner = Scanner()  # per rule, the rows its `match` covers, once per book shape
        self._uniform = {r.name: r.uniform_for for r in self._rules}  # asked per breaching row
        # the last full step's blind keys per figure name: a partial step carries the unscanned ones
        self._blind_full: dict[str, dict[FigureKey, list[tuple[Rule, Severity]]]] | None = None

    @property
    def rules(self) -> tuple[Rule, ...]:
        return self._rules

    def inhibited(self) -> dict[str, Source]:
        """Fingerprint → (venue, stream) of the stale feed muting each held-back alert now."""
        return self._inhibitor.muted()

    def firing(self) -> list[AlertEvent]:
        """The alerts firing now, as of their last event (for /debug/state and metrics)."""
        out: list[AlertEvent] = []
        for rule in self._rules:
            for _, inst in sorted(self._state.get(rule.name, {}).items(), key=lambda kv: kv[0]):
                if inst.level >= 0:
                    out.append(self._event(rule, inst, AlertState.FIRING, inst.last_sent_ns))
        out.extend(self._guard.firing())
        return out

    def announced(self) -> list[AlertEvent]:
        """Firing alerts as receivers last heard of them: what a re-send to Alertmanager repeats.

        A muted alert appears as it was last told, or not at all if it started during the mute, so
        a re-send neither leaks a held-back change nor lets a told alert expire at the receiver.
        The heartbeat is included once it has fired: it is the one alert that must never expire.
        """
        muted = self._inhibitor.muted()
        out = self._heartbeat_event(self._heartbeat_last_ns) if self._heartbeat_last_ns is not None else []
        for ev in self.firing():
            if ev.fingerprint in muted:
                told = self._inhibitor.told(ev.fingerprint)
                if told is not None:
                    out.append(told)
            else:
                out.append(ev)
        return out

    def adopt(self, old: RuleEngine, now_ns: int) -> list[AlertEvent]:
        """Take over `old`'s alert state across a config reload; return what the reload resolves.

        A rule that compiles exactly as before keeps its instances (pending timers, hysteresis
        level, repeat timer), so a firing alert neither re-fires nor resolves. A firing alert of a
        rule the reload changed or removed is resolved (`resolved_reason`): the new rule starts
        from scratch, and no receiver is left holding an orphan. The stale-feed inhibitor carries
        over when its source rules are unchanged; otherwise an alert held back across the reload is
        told once more when its mute lifts (a duplicate, never a loss). The heartbeat keeps its
        rhythm and its `starts_at` from the first start.
        """
        before = {r.name: r for r in old._rules}
        kept = {r.name for r in self._rules if before.get(r.name) == r}
        for name in kept:
            if name in old._state:
                self._state[name] = old._state[name]
        self._started_ns = old._started_ns
        self._guard.adopt(old._guard)
        self._heartbeat_last_ns = old._heartbeat_last_ns if self._heartbeat_ns > 0 else None
        if self._sources == old._sources and set(self._sources) <= kept:
            self._inhibitor = old._inhibitor
        return [
            msgspec.structs.replace(
                ev,
                state=AlertState.RESOLVED,
                ends_at_ns=now_ns,
                event_ns=now_ns,
                annotations={**ev.annotations, "resolved_reason": _RELOAD_REASON},
            )
            for ev in old.firing()
            if ev.labels.get("alertname") not in kept and ev.labels.get("alertname") != UNAVAILABLE_ALERTNAME
        ]

    def started(self, now_ns: int) -> list[AlertEvent]:
        """One info notice that perpmon (re)started.

        Alert state lives in memory: after a restart every alert must pass its `for` again, and
        a receiver may hold a firing alert whose resolution happened while perpmon was down.
        Saying so is better than letting the desk guess.
        """
        self._started_ns = now_ns
        labels = {"alertname": STARTED_ALERTNAME}
        return [
            AlertEvent(
                fingerprint=fingerprint(labels),
                labels={**labels, "severity": Severity.INFO.label},
                annotations={
                    "summary": "perpmon started; alert state was reset, alerts re-fire after their `for`",
                },
                state=AlertState.FIRING,
                severity=Severity.INFO,
                starts_at_ns=now_ns,
                ends_at_ns=None,
                value=math.nan,
                event_ns=now_ns,
            )
        ]

    def step(self, figures: Figures, now_ns: int, replaced: frozenset[str] | None = None) -> list[AlertEvent]:
        """Advance every alert instance to `now_ns`; return the events worth telling someone.

        Per rule, the figure's column is compared with the lowest threshold as a whole
        (`monitor/rules/scan.py`); only rows that cross it, are NaN or hold state are visited.

        `replaced`: a frame tick's figure names (`Evaluator.replaced`); every other column is the
        last full step's, unchanged, so only its rows holding state are advanced: with the same
        values at a later `now`, which decides exactly what time alone can (a `for` that matured,
        a repeat) on the frame tick, never later than a full scan would. A row with no state
        cannot start on the same value it did not start on, and that column's blind keys (NaN,
        or stale in breach) are the last full step's, carried to the guard so its clocks run
        on and its alerts mature on time too. Before any full step (a fresh or reloaded engine)
        there is nothing to carry: every column is scanned.
        """
        columns = figures.columns
        events: list[AlertEvent] = self._heartbeat(now_ns)
        blind: dict[FigureKey, list[tuple[Rule, Severity]]] = {}  # figures rules cannot act on
        partial = replaced if self._blind_full is not None else None  # None: a full step
        if partial is not None and self._blind_full is not None:
            for name, part in self._blind_full.items():
                if name not in partial:
                    blind.update(part)
        guard = self._guard
        self._scanner.tick()
        for rule in self._rules:
            state = self._state.setdefault(rule.name, {})
            told: list[tuple[FigureKey, AlertEvent]] = []
            col = columns.get(rule.figure)
            # None: a column the frame did not replace; its blind keys were carried above
            seen = None if partial is not None and rule.figure not in partial else blind
            if seen is None and (not state or col is None):
                continue  # no state, or gone since the full step (which told it): nothing to advance
            index = col.shape.index if col is not None and state else {}  # key → row, once per shape
            at = list(map(index.get, state))  # each instance's row; None: its figure is gone
            gone = [k for k, i in zip(state, at, strict=True) if i is None]  # the loop adds none of these
            if col is not None and len(col):
                top = rule.levels[-1].severity
                keys, reasons = col.keys, col.reasons
                if seen is None:  # only what time can change by now: a due `for` or repeat
                    due = [
                        i
                        for inst, i in zip(state.values(), at, strict=True)
                        if i is not None and self._due_ns(rule, inst) <= now_ns
                    ]
                    scan = self._scanner.rows(rule, col, sorted(due))
                else:
                    held = [i for i in at if i is not None]
                    scan = self._scanner.scan(rule, col, held, guard.inert)
                rows = zip(scan.rows, scan.values, scan.fresh, scan.crossed, scan.entered, strict=True)
                for i, v, ok, crossed, entered in rows:
                    key = keys[i]
                    inst = state.get(key) if state else None
                    if seen is None:  # the full step's blind keys stand for this column
                        pass
                    elif v != v:  # NaN (only NaN: ±inf is a value)
                        seen.setdefault(key, []).append((rule, top))
                    elif not ok and (inst is None or inst.level < 0) and crossed:  # compare(v, lowest)
                        # a breach the rule cannot act on: stale values neither start nor finish a `for`
                        seen.setdefault(key, []).append((rule, rule.levels[entered].severity))
                    if inst is None:
                        # Most figures are fine most of the time: no state, no hashing, until a breach.
                        # (NaN compares False, so an unavailable figure starts nothing either.)
                        if not (ok and crossed):
                            continue
                        labels = instance_labels(rule.name, key)
                        inst = state[key] = _Instance(labels=labels, fingerprint=fingerprint(labels))
                    ev = self._advance(rule, inst, v, ok, reasons[i], entered, now_ns)
                    if ev is not None:
                        told.append((key, ev))
                    if inst.level < 0 and inst.pending_since_ns is None:
                        del state[key]
            for key in gone:
                inst = state.pop(key)
                if inst.level >= 0:
                    told.append(
                        (key, self._event(rule, inst, AlertState.RESOLVED, now_ns, reason="figure gone"))
                    )
            told.sort(key=lambda ke: ke[0])
            events.extend(ev for _, ev in told)
        if partial is None:  # a full step: its blind keys by figure name, for the partial ones after it
            by_name: dict[str, dict[FigureKey, list[tuple[Rule, Severity]]]] = {}
            for key, rules in blind.items():
                by_name.setdefault(key.name, {})[key] = rules
            self._blind_full = by_name
        events.extend(guard.step(blind, figures, now_ns))
        if self._inhibitor.active:
            events = self._inhibitor.apply(events, self._stale_feeds())
        return events

    def _stale_feeds(self) -> set[Source]:
        """(venue, stream) of every stale-feed alert firing after this tick: the inhibition sources."""
        out: set[Source] = set()
        for name in self._sources:
            for key, inst in self._state.get(name, {}).items():
                if inst.level >= 0:
                    out.add((key.venue, key.stream))
        return out

    def _heartbeat(self, now_ns: int) -> list[AlertEvent]:
        """The dead-man's switch: an always-firing alert whose absence at the receiver means trouble."""
        if self._heartbeat_ns <= 0:
            return []
        last = self._heartbeat_last_ns
        if last is not None and now_ns - last < self._heartbeat_ns:
            return []
        self._heartbeat_last_ns = now_ns
        return self._heartbeat_event(now_ns)

    def _heartbeat_event(self, now_ns: int) -> list[AlertEvent]:
        return [watchdog_event(self._started_ns if self._started_ns is not None else now_ns, now_ns)]
