"""The daemon's own VaR backtest: each step's forecast scored against the PnL the book then made.

Why one step and not the VaR horizon: a one-day VaR gets one independent test a day, so a model
that stopped holding would take months to show it. The horizon figures are built from the same
joint history of the legs' grid returns (overlapping horizon windows of it, or its one-step rows
scaled); the one-step rows themselves (`ReturnHistory.one_step`) give a one-step forecast by the
same method, scored every `volatility_sample_s`: hundreds of observations a day at 60 s. Each
forecast is the parametric or historical VaR of the book's exposures when it was made; its
outcome is what those exposures made at the prices one step later (simple returns per leg), so a
position opened in between never counts against the forecast. A step the daemon did not see whole
(a stalled loop, a restart) is not scored, and Christoffersen's transitions do not cross it.
The last `WINDOW` outcomes feed Kupiec and Christoffersen (monitor/risk/coverage.py); the p-values
are figures, so a rule can page on "the VaR model stopped holding" like on any other figure, and
while too few outcomes exist they are NaN with a warm-up reason, never a reassuring 1.
`var_preferred{method}` says which model the self-check supports now, so a dashboard or a rule can
follow it instead of a method fixed in config: 1 for the method that holds (Kupiec and
Christoffersen p ≥ 0.05 at 0.99) with the highest smaller p-value, 0 for the others; all 0 (note
`no_method_holds`) when none holds, NaN while no method has enough outcomes; `var_methods_holding`
counts the methods that hold (a rule pages on 0, not on one model failing while another holds).

`var_usd{method="preferred"}` / `es_usd{...}` (`preferred_figures`) are the figures a rule follows:
the preferred method's value at every confidence (the ranking is made at 99 % only). Without one —
warming up, no method holds, or the preferred method has no value now — they fall back to the
largest value any method has (Monte Carlo included): when the backtest cannot tell, a desk would
rather overstate its risk than understate it. The reason says which, on the value itself:
`preferred: <method>` or `fallback_max: <why>; <method>` (why: `warming_up`, `no_method_holds`,
`preferred_unavailable`, `no_self_check`), then the source's own note; monitor/rules/context.py
reads it back into a desk's words. NaN only when no method has a value, with the reason of the
method it would have taken, so a blind VaR rule is told by FigureUnavailable, never an all-clear.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from monitor.evaluation.exposure import Leg
from monitor.evaluation.sink import FigureSink
from monitor.risk.backtest import kupiec_pof
from monitor.risk.coverage import christoffersen

__all__ = [
    "FALLBACK",
    "METHODS",
    "MIN_OBSERVATIONS",
    "NO_SELF_CHECK",
    "PREFERRED",
    "WINDOW",
    "Choice",
    "VarSelfCheck",
    "preferred_figures",
]

WINDOW = 250  # outcomes kept per method and confidence: Basel's year of days, here of steps
MIN_OBSERVATIONS = 50  # below this Kupiec can hardly reject at 99 % (0.5 exceptions expected)
# Monte Carlo's paths span the horizon only: not scored per step
METHODS = ("parametric", "historical", "filtered_historical")
PREFERRED_CONFIDENCE = 0.99  # the level `var_preferred` ranks the methods at (else the highest configured)
HOLDS_AT = 0.05  # a method holds while both its p-values are at least this
PREFERRED = "preferred"  # the method label of the figure that follows the self-check
FALLBACK = "fallback_max"  # its reason's code while it takes the largest method's value
# every method with a var_usd/es_usd figure, in the order a tie in the fallback is broken
ALL_METHODS = (*METHODS, "monte_carlo")


@dataclass(frozen=True, slots=True)
class Choice:
    """The self-check's pick now: a method, or "" and why there is none (a `fallback_max` reason)."""

    method: str
    why: str


NO_SELF_CHECK = Choice("", "no_self_check")


@dataclass(slots=True)
class _Forecast:
    slot: int  # the step it was made in; scored in the next one
    exposures: dict[Leg, float]  # USD per leg when made
    prices: dict[Leg, float]
    var: dict[tuple[str, float], float]  # one-step VaR (USD, positive loss) per method and confidence


class VarSelfCheck:
    """Holds the open forecast and the recent outcomes; one per evaluator, fed once per tick."""

    def __init__(self, step_s: float, confidences: tuple[float, ...]) -> None:
        self._step_ns = max(1, round(step_s * 1e9))
        self._confidences = confidences
        self._open: _Forecast | None = None
        # per (method, confidence): (exception?, follows the previous outcome without a break?)
        self._outcomes: dict[tuple[str, float], deque[tuple[bool, bool]]] = {
            (m, a): deque(maxlen=WINDOW) for m in METHODS for a in confidences
        }
        self._last_scored_slot = -2
        self.why = "not_fitted_yet"  # why no forecast is being made now ("" while one is)
        self.choice = Choice("", "warming_up")  # set by `figures`; read by `preferred_figures`

    def due(self, now_ns: int) -> bool:
        """Will `observe` at `now_ns` open a forecast (the first tick of a step with none open)?

        The one-step VaR costs a pass over the whole history; it is computed only when it is due.
        """
        f = self._open
        return f is None or now_ns // self._step_ns > f.slot

    def observe(
        self,
        now_ns: int,
        exposures: dict[Leg, float],
        prices: dict[Leg, float],
        var_one_step: dict[tuple[str, float], float],
        why: str,
    ) -> None:
        """Score the open forecast if its step has passed, then open this step's (once per step)."""
        slot = now_ns // self._step_ns
        f = self._open
        if f is not None and slot > f.slot:
            if slot == f.slot + 1:
                self._score(f, prices, slot)
            self._open = None
        self.why = why
        if why or self._open is not None:
            return
        usable = {k: v for k, v in var_one_step.items() if math.isfinite(v) and v >= 0}
        if usable and all(math.isfinite(p) and p > 0 for p in prices.values()):
            self._open = _Forecast(slot=slot, exposures=dict(exposures), prices=dict(prices), var=usable)

    def _score(self, f: _Forecast, prices: dict[Leg, float], slot: int) -> None:
        now = [prices.get(leg, math.nan) for leg in f.exposures]
        if not all(math.isfinite(p) and p > 0 for p in now):
            return  # a leg lost its price: no outcome, and the chain breaks
        pnl = sum(w * (p / f.prices[leg] - 1.0) for (leg, w), p in zip(f.exposures.items(), now, strict=True))
        follows = self._last_scored_slot == slot - 1
        for key, var in f.var.items():
            self._outcomes[key].append((pnl < -var, follows))
        self._last_scored_slot = slot

    def figures(self, sink: FigureSink, fresh: bool) -> None:
        ranked: dict[tuple[str, float], float] = {}  # min(Kupiec, Christoffersen) p of methods that hold
        scored: set[tuple[str, float]] = set()
        for (method, alpha), out in self._outcomes.items():
            lab = {"method": method, "confidence": f"{alpha:g}"}
            n = len(out)
            hits = np.fromiter((h for h, _ in out), dtype=bool, count=n)
            x = int(hits.sum())
            sink.add("var_backtest_observations", float(n), lab, fresh=fresh)
            sink.add("var_backtest_exceptions", float(x), lab, fresh=fresh)
            if n < MIN_OBSERVATIONS:
                why = self.why or f"too_few_observations: {n} of {MIN_OBSERVATIONS}"
                sink.add("var_backtest_kupiec_pvalue_ratio", math.nan, lab, fresh=fresh, reason=why)
                sink.add("var_backtest_christoffersen_pvalue_ratio", math.nan, lab, fresh=fresh, reason=why)
                continue
            k = kupiec_pof(x, n, alpha)
            cc = christoffersen(_runs(out), alpha, k.lr)
            sink.add("var_backtest_kupiec_pvalue_ratio", k.p_value, lab, fresh=fresh)
            sink.add("var_backtest_christoffersen_pvalue_ratio", cc.p_cc, lab, fresh=fresh)
            scored.add((method, alpha))
            if k.p_value >= HOLDS_AT and cc.p_cc >= HOLDS_AT:
                ranked[(method, alpha)] = min(k.p_value, cc.p_cc)
        self._preferred(sink, fresh, ranked, scored)

    def _preferred(
        self,
        sink: FigureSink,
        fresh: bool,
        ranked: dict[tuple[str, float], float],
        scored: set[tuple[str, float]],
    ) -> None:
        """1 for the best-holding method at the ranking confidence; ties go to the earlier in METHODS."""
        conf = self._confidences
        at = PREFERRED_CONFIDENCE if PREFERRED_CONFIDENCE in conf else max(conf, default=PREFERRED_CONFIDENCE)
        if not any((m, at) in scored for m in METHODS):
            why = self.why or f"too_few_observations: fewer than {MIN_OBSERVATIONS} outcomes"
            for m in METHODS:
                sink.add("var_preferred", math.nan, {"method": m}, fresh=fresh, reason=why)
            sink.add("var_methods_holding", math.nan, fresh=fresh, reason=why)
            self.choice = Choice("", "warming_up")
            return
        holding = [(p, -i, m) for i, m in enumerate(METHODS) if (p := ranked.get((m, at))) is not None]
        best = max(holding)[2] if holding else ""
        note = "" if best else "no_method_holds"
        for m in METHODS:
            sink.add("var_preferred", 1.0 if m == best else 0.0, {"method": m}, fresh=fresh, reason=note)
        sink.add("var_methods_holding", float(len(holding)), fresh=fresh, reason=note)
        self.choice = Choice(best, note)


# (value, fresh, reason) of each (figure name, method, confidence) the VaR stage emitted this tick
Emitted = Mapping[tuple[str, str, float], tuple[float, bool, str]]


def preferred_figures(
    sink: FigureSink, emitted: Emitted, choice: Choice, confidences: tuple[float, ...]
) -> None:
    """`var_usd`/`es_usd` with method "preferred": the chosen method's figure, else the largest.

    The fallback takes the largest fresh value, and a stale one only when none is fresh: a stale
    figure starts no alert, so a larger stale Monte Carlo must not hide a fresh historical breach.
    """
    for alpha in confidences:
        lab = {"method": PREFERRED, "confidence": f"{alpha:g}"}
        for name in ("var_usd", "es_usd"):
            rows = {m: row for m in ALL_METHODS if (row := emitted.get((name, m, alpha))) is not None}
            chosen = rows.get(choice.method)
            if chosen is not None and not math.isnan(chosen[0]):  # ±inf is a value, as elsewhere
                value, fresh, note = chosen
                sink.add(name, value, lab, fresh=fresh, reason=_said(f"{PREFERRED}: {choice.method}", note))
                continue
            why = choice.why or "preferred_unavailable"
            finite = [(m, r) for m, r in rows.items() if not math.isnan(r[0])]
            pool = [(m, r) for m, r in finite if r[1]] or finite
            if not pool:  # no method has a value: NaN, as the method it would have followed says
                src = rows.get(choice.method) or rows.get("historical") or next(iter(rows.values()), None)
                sink.add(name, math.nan, lab, fresh=src[1] if src else True, reason=src[2] if src else "")
                continue
            m, (value, fresh, note) = max(pool, key=lambda mr: mr[1][0])  # first of equal values wins
            sink.add(name, value, lab, fresh=fresh, reason=_said(f"{FALLBACK}: {why}; {m}", note))


def _said(choice: str, note: str) -> str:
    """The choice after a stale mark (its code stays `model_stale`), the source's own note after it."""
    stale, _, rest = note.partition(", ") if note.startswith("model_stale") else ("", "", note)
    text = f"{choice}; {rest}" if rest else choice
    return f"{stale}, {text}" if stale else text


def _runs(out: deque[tuple[bool, bool]]) -> list[np.ndarray]:
    """The outcomes cut where a step was missed: transitions are counted within each run only."""
    runs: list[list[bool]] = []
    for hit, follows in out:
        if follows and runs:
            runs[-1].append(hit)
        else:
            runs.append([hit])
    return [np.array(r, dtype=bool) for r in runs]
