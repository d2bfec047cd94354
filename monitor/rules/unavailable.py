"""FigureUnavailable: a figure a rule watches that stays NaN is itself an alert, never a silence.

A threshold rule cannot fire on NaN (NaN compares False on every side), so without this guard a
figure that cannot be computed — a leg with no mark, a missing tier, a fit that failed — reads
exactly like a safe one. The guard turns "cannot say" into an alert of its own:

- **watched**: a figure key is guarded while at least one rule's figure and `match` cover it.
- **fires** once the figure has been NaN without a break for `unavailable_for_s` (the smallest
  override of the rules watching it, else `[evaluation] unavailable_for_s`). Only NaN counts:
  ±inf is a value (past liquidation). A stale but finite figure is the StaleFeed alert's, with
  one exception: a stale value that breaches a rule not yet firing. The engine starts no alert
  on a stale value, and StaleFeed mutes only the alerts of its own stream — but a cross
  account's margin ratio is stale whenever *any* leg's mark is, so a breach driven by a live
  BTC leg would wait, unseen, for an ETH feed to recover. That case is told here too (reason
  `stale`, severity of the level the value enters), and a mute by the stale stream applies
  as to the rule's own alerts.
- **labels**: the figure key's labels, `figure=<name>`, `alertname=FigureUnavailable`; the
  reason code (`monitor/reason_codes.py`) and the figure's own words are annotations, so a change
  of reason updates the alert instead of opening a second one.
- **severity**: the most severe level of the most severe rule watching the key (followed when a
  reload changes the rules), so a blind margin ratio pages like the margin ratio would; for a
  stale value in breach, the most severe level it enters.
- **resolves** when the figure has a value again (±inf included; fresh, or no longer in breach,
  for a stale one), when it is gone from the tick, when no rule watches it any more, or when its
  NaN turns into a state of the book (below).
- A firing rule alert whose figure turns NaN keeps firing (the engine holds its state); this
  alert comes beside it.

Not every NaN is a gap. Reasons fall in three classes:

- **a state of the book** (`STATE_OF_THE_BOOK`): there is no number because there is nothing to
  measure — a position that cannot be liquidated, a basis that does not mean-revert, no
  position, the venue shows no LP, no spot book configured for the basis. Never an alert: it
  would fire forever on a healthy book (a dead input that causes one is StaleFeed's to tell).
- **warming up** (`WARMING_UP`): history still accumulating or a fit not yet run (at start, or
  for a leg opened since the last refit). Waits `unavailable_warmup_s` instead: long enough for
  the slowest model to fit on its first history (`make run` starts with GARCH, OU and VaR all
  NaN), short enough that history that never fills is told.
- **a gap** (everything else: no mark, missing tier, NaN input, fit failed, unknown reasons):
  what this alert exists for.

The count starts at the first tick that sees the figure NaN, so after a (re)start it runs from
the daemon's start, and a config reload carries it over.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monitor.clock import NS_PER_S
from monitor.figure_columns import FigureColumn
from monitor.reason_codes import reason_code
from monitor.records import AlertEvent, AlertState, Figure, FigureKey, Figures, Severity
from monitor.rules.model import UNAVAILABLE_ALERTNAME, Rule, fingerprint, instance_labels

__all__ = ["STATE_OF_THE_BOOK", "WARMING_UP", "UnavailableGuard", "reason_class"]

STATE_OF_THE_BOOK = frozenset(
    {
        "not_liquidatable",
        "not_mean_reverting",
        "no_position",
        "venue_shows_none",
        "zero_volatility",
        "no_holdings",
        "no_spot_history",  # no spot book is watched for the market: a basis without its second leg
    }
)
WARMING_UP = frozenset(
    {
        "not_fitted_yet",
        "empty_history",
        "no_volatility",
        "history_missing_leg",
        "few_independent_windows",
        "opened_since_refit",
        "book_changed_since_refit",
        "no_settlement_seen",
        "no_correlation",
        "too_few_observations",
    }
)


def reason_class(code: str) -> str:
    """ "state", "warmup" or "gap" for a reason code (a GARCH fit's `garch_<code>` as its code)."""
    base = code.removeprefix("garch_")
    if base in STATE_OF_THE_BOOK:
        return "state"
    return "warmup" if base in WARMING_UP else "gap"


_MEMO_LIMIT = 1 << 16  # distinct reasons remembered; beyond, the memo starts over
_SMALL = 32


def _ns(seconds: float) -> float:
    """Seconds as ns, kept a float so `inf` (never) survives."""
    return seconds * NS_PER_S


@dataclass(slots=True)
class _Gap:
    labels: dict[str, str]
    fingerprint: str
    since_ns: int
    code: str = ""
    detail: str = ""
    severity: Severity = Severity.WARNING
    firing: bool = False
    starts_at_ns: int = 0
    last_sent_ns: int = 0
    rules: str = ""
    value: float = math.nan


class UnavailableGuard:
    """Per figure key, how long it has been NaN and whether its FigureUnavailable fires."""

    def __init__(self, unavailable_for_s: float, warmup_s: float) -> None:
        self._default_ns = _ns(unavailable_for_s)
        self._warmup_ns = _ns(warmup_s)
        self._gaps: dict[FigureKey, _Gap] = {}
        self._codes: dict[tuple[str, bool], tuple[str, str]] = {}
        self._kinds: dict[str, str] = {}  # a NaN's reason → its class (bounded with _codes)
        self._gap_names: set[str] | None = None  # figure names with a gap open; None: find again

    def adopt(self, old: UnavailableGuard) -> None:
        """Carry the NaN clocks and firing alerts over a reload (severity follows the new rules)."""
        self._gaps = old._gaps
        self._gap_names = None

    def inert(self, col: FigureColumn) -> list[int]:
        """Rows of `col` NaN by the book's own state (a reason in STATE_OF_THE_BOOK) with no gap open.

        Such a row changes nothing here, so the engine need not hand it over: the thousands of
        figures NaN by design (no mean reversion, nothing to liquidate) cost one lookup a tick.
        """
        values = col.values
        if values.size <= _SMALL:  # a few rows: found in Python, numpy's per-call cost is the most of it
            rows = [i for i, v in enumerate(values.tolist()) if v != v]
        else:
            rows = np.flatnonzero(np.isnan(values)).tolist()
        if not rows:
            return rows
        reasons, kinds = col.reasons, self._kinds
        at = list(map(reasons.__getitem__, rows))
        got = list(map(kinds.get, at))  # each row's class, from the memo: thousands a tick at desk scale
        if None in got:
            got = [k if k is not None else self._kind(r) for r, k in zip(at, got, strict=True)]
        out = [i for i, k in zip(rows, got, strict=True) if k == "state"]
        if out and self._gaps:  # a key with a gap open changes it: looked up only in names that have one
            if self._gap_names is None:
                self._gap_names = {k.name for k in self._gaps}
            if col.name in self._gap_names:
                keys, gaps = col.keys, self._gaps
                out = [i for i in out if keys[i] not in gaps]
        return out

    def _kind(self, reason: str) -> str:
        kind = self._kinds[reason] = self._code(reason, True)[1]
        return kind

    def step(
        self, watched: dict[FigureKey, list[tuple[Rule, Severity]]], figures: Figures, now_ns: int
    ) -> list[AlertEvent]:
        """`watched`: this tick's blind figure keys (NaN, or stale in breach), each with its rules and
        the severity each would give it. NaN keys `inert` names may be left out: they change nothing."""
        told: list[tuple[FigureKey, AlertEvent]] = []
        items = figures.items  # one figure at a time through its column: no dict form is built
        for key, rules in watched.items():
            ev = self._advance(key, items[key], rules, now_ns)
            if ev is not None:
                told.append((key, ev))
        for key in [k for k in self._gaps if k not in watched]:
            gap = self._gaps.pop(key)
            if gap.firing:
                now = items.get(key)
                if now is None:
                    why = "figure gone"
                elif math.isnan(now.value):
                    why = "no rule watches the figure any more"
                else:
                    why = "figure available again" if now.fresh else "stale value no longer in breach"
                told.append((key, self._event(key, gap, AlertState.RESOLVED, now_ns, now, why)))
        self._gap_names = None  # the gaps may have changed
        told.sort(key=lambda ke: ke[0])
        return [ev for _, ev in told]

    def firing(self) -> list[AlertEvent]:
        """The FigureUnavailable alerts firing now, as of their last event."""
        return [
            self._event(key, gap, AlertState.FIRING, gap.last_sent_ns)
            for key, gap in sorted(self._gaps.items(), key=lambda kv: kv[0])
            if gap.firing
        ]

    def _advance(
        self, key: FigureKey, fig: Figure, rules: Sequence[tuple[Rule, Severity]], now_ns: int
    ) -> AlertEvent | None:
        nan = math.isnan(fig.value)
        code, kind = self._code(fig.reason, nan)
        gap = self._gaps.get(key)
        if kind == "state":
            if gap is None:
                return None
            del self._gaps[key]
            why = f"no value by the book's own state ({code}), not a gap"
            return self._event(key, gap, AlertState.RESOLVED, now_ns, fig, why) if gap.firing else None
        if gap is None:
            labels = {**instance_labels(UNAVAILABLE_ALERTNAME, key), "figure": key.name}
            gap = self._gaps[key] = _Gap(labels=labels, fingerprint=fingerprint(labels), since_ns=now_ns)
        top, severity = max(rules, key=lambda rs: rs[1])  # the first of equals: config order
        changed = gap.code != code
        gap.code, gap.detail, gap.rules = code, fig.reason, ",".join(r.name for r, _ in rules)
        gap.value = fig.value
        if not gap.firing:
            gap.severity = severity
            wait = self._warmup_ns if kind == "warmup" else min(self._wait_ns(r) for r, _ in rules)
            if now_ns - gap.since_ns < wait:
                return None
            gap.firing, gap.starts_at_ns, gap.last_sent_ns = True, now_ns, now_ns
            return self._event(key, gap, AlertState.FIRING, now_ns, fig)
        repeat = top.repeat_ns > 0 and now_ns - gap.last_sent_ns >= top.repeat_ns
        if severity != gap.severity or changed or repeat:
            gap.severity, gap.last_sent_ns = severity, now_ns
            return self._event(key, gap, AlertState.FIRING, now_ns, fig)
        return None

    def _code(self, reason: str, nan: bool) -> tuple[str, str]:
        """(code, class) of a reason: a stale value in breach is a gap, never a state (memoised)."""
        hit = self._codes.get((reason, nan))
        if hit is None:
            if len(self._codes) >= _MEMO_LIMIT:  # free text (ages, names) must not grow it forever
                self._codes.clear()
                self._kinds.clear()
            code = reason_code(reason) or ("not_available" if nan else "stale")
            hit = self._codes[(reason, nan)] = (code, reason_class(code) if nan else "gap")
        return hit

    def _wait_ns(self, rule: Rule) -> float:
        return self._default_ns if rule.unavailable_for_s is None else _ns(rule.unavailable_for_s)

    @staticmethod
    def _event(
        key: FigureKey, gap: _Gap, state: AlertState, now_ns: int, fig: Figure | None = None, why: str = ""
    ) -> AlertEvent:
        where = ", ".join(f"{k}={v}" for k, v in key.labels().items())
        value = fig.value if fig is not None else gap.value
        what = "cannot be computed" if math.isnan(value) else f"is {value:.6g} but stale"
        annotations = {
            "summary": f"{key.name} ({where}) {what} ({gap.code}): {gap.rules} cannot see it",
            "figure": key.name,
            "reason": gap.code,
            "value": f"{value:.6g}",
            "rules": gap.rules,
        }
        if gap.detail and gap.detail != gap.code:
            annotations["detail"] = gap.detail
        if why:
            annotations["resolved_reason"] = why
        return AlertEvent(
            fingerprint=gap.fingerprint,
            labels={**gap.labels, "severity": gap.severity.label},
            annotations=annotations,
            state=state,
            severity=gap.severity,
            starts_at_ns=gap.starts_at_ns,
            ends_at_ns=now_ns if state is AlertState.RESOLVED else None,
            value=value,
            event_ns=now_ns,
        )
