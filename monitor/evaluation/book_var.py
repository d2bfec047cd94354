"""VaR and ES of the whole book: parametric, historical, filtered historical and Monte Carlo.

Today's exposures (USD per leg: holdings at spot, perps at mark; the legs are kept in
monitor/evaluation/book_var_legs.py) meet the joint horizon-long returns of those legs kept by the
last refit (overlapping windows; see `ReturnHistory`).
Parametric: σ_p = √(wᵀΣw) over their covariance, normal. Historical: the PnL today's legs would
have made over each past window, its quantile and tail mean. Filtered historical: the same over
the rows with each leg rescaled to its volatility at the refit (Barone-Adesi FHS, monitor/risk/fhs.py),
so a calm window does not understate a wild day; a one-step history takes historical's horizon
scale (the rescaling moves the level of volatility, not the PnL's autocorrelation).
Monte Carlo: paths over the whole horizon from the refit (monitor/evaluation/book_mc.py), with the
chance any position touches its LP on the way.
A hedged book's VaR is its basis VaR, not zero: both legs are in the history.
Beside them, method "preferred": the value of the method the daemon's own backtest supports now,
or the largest while it cannot tell (`var_check.preferred_figures`); shipped rules watch that one.

A leg the book holds now but the history lacks (a position opened since the last refit) makes
parametric and historical VaR not available until the next refit; leaving it out would show a
smaller, plausible-looking number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import repeat

import numpy as np

from monitor.evaluation.book_var_legs import _Book, _book, _exposures, _weights
from monitor.evaluation.column_keys import ColumnKeys
from monitor.evaluation.exposure import Leg, stale_holdings
from monitor.evaluation.model_age import STALE
from monitor.evaluation.models import MonteCarloRun, RiskModels
from monitor.evaluation.sink import FigureSink
from monitor.evaluation.var_check import NO_SELF_CHECK, VarSelfCheck, preferred_figures
from monitor.risk._num import FloatArray, IntArray
from monitor.risk.reasons import Reason
from monitor.risk.var import (
    VaRES,
    historical_var_es,
    parametric_var_es,
    portfolio_sigma,
    scenario_pnl,
    simple_returns,
)
from monitor.store.state import Snapshot

__all__ = ["FHS", "BookVarKept", "book_var_figures"]

FHS = "filtered_historical"  # the method label of filtered historical simulation (monitor/risk/fhs.py)


def _named(legs: list[Leg]) -> str:
    return ", ".join(f"{v}/{s} {kind}" for v, s, kind in legs)


def horizon_scale(pnl: FloatArray, steps: int) -> float:
    """sd of the PnL summed over `steps` one-step rows, over the one-step sd (√steps if uncorrelated).

    Newey–West: Var_T = T·(γ₀ + 2 Σ_{k=1..L} (1 − k/(L+1))·γ_k), L = min(T − 1, n/4), autocovariances of
    the book's one-step PnL by FFT. A hedged book's PnL is mostly basis noise that reverts within
    a few steps (negative γ_k), which plain √T scaling would count as a random walk.
    """
    if steps <= 1:
        return 1.0
    x = pnl[np.isfinite(pnl)]
    n = int(x.size)
    if n < 2:
        return math.nan
    x = x - x.mean()
    spec = np.fft.rfft(x, 2 * n)
    acov = np.fft.irfft(spec * np.conj(spec), 2 * n)[:n] / n
    if not acov[0] > 0:
        return math.nan
    lags = min(steps - 1, n // 4)
    k = np.arange(1, lags + 1)
    var_t = steps * (acov[0] + 2.0 * float(np.sum((1.0 - k / (lags + 1)) * acov[1 : lags + 1])))
    return math.sqrt(max(var_t, 0.0) / acov[0])


_Emitted = dict[tuple[str, str, float], tuple[float, bool, str]]  # `var_check.Emitted`, filled here


def _emit(
    sink: FigureSink,
    method: str,
    alpha: float,
    res: VaRES | None,
    why: str,
    fresh: bool,
    note: str = "",
    *,
    kept: _Emitted,
) -> None:
    """`why` explains a missing value; `note` is a caveat kept on a value that is present.

    `kept` receives each figure as emitted, for the preferred figure to pick from without reading
    the sink back (that would join every column of the tick a second time).
    """
    lab = {"method": method, "confidence": f"{alpha:g}"}
    var = res.var if res is not None else math.nan
    es = res.es if res is not None else math.nan
    if res is not None and res.reason != Reason.OK:
        why = why or res.reason.name.lower()
    for name, x in (("var_usd", var), ("es_usd", es)):
        r = why if not math.isfinite(x) else note
        sink.add(name, x, lab, fresh=fresh, reason=r)
        kept[(name, method, alpha)] = (x, fresh, r)


class _History:
    """The return history's legs as a set and its simple returns, kept while the refit's record is the same.

    Why: the history only changes with a refit, and converting thousands of scenario rows for every
    leg (e^r − 1) and testing each leg against the tuple of legs were most of this stage's tick.
    Two arrays are read every tick (historical and filtered rows) and two more once per step (their
    one-step rows, for the self-check), so each of the four keeps its own slot.
    """

    _SLOTS = 4

    def __init__(self) -> None:
        self._legs: tuple[tuple[Leg, ...], frozenset[Leg]] | None = None
        self._simple: tuple[tuple[FloatArray, FloatArray], ...] = ()

    def legs_of(self, legs: tuple[Leg, ...]) -> frozenset[Leg]:
        if self._legs is None or self._legs[0] is not legs:
            self._legs = (legs, frozenset(legs))
        return self._legs[1]

    def simple(self, returns: FloatArray) -> FloatArray:
        if returns.flags.writeable:  # not the refit's read-only record: nothing says it stays the same
            return simple_returns(returns)
        for src, out in self._simple:
            if src is returns:
                return out
        out = simple_returns(returns)
        self._simple = ((returns, out), *self._simple[: self._SLOTS - 1])
        return out


class BookVarKept:
    """What the VaR stage keeps between ticks, per evaluator (two daemons in one process share none).

    Every entry is keyed by what it was made from (records by content or identity), so a miss is
    only slower: `book` and `touches` (the book as markets, the Monte Carlo touch column), `history`
    (the refit's legs and simple returns), `weights` (where the history's legs sit in the book), `keys`.
    """

    def __init__(self) -> None:
        self.book: _Book | None = None
        self.touches: _Touches | None = None
        self.history = _History()
        self.weights: tuple[tuple[Leg, ...], _Book, IntArray] | None = None
        self.keys = ColumnKeys()  # the positions' column keys, while the book holds the same positions


_SHARED = BookVarKept()  # for a caller with none of its own (tests, benches, what-if)


def book_var_figures(
    snap: Snapshot,
    models: RiskModels,
    fresh: dict[tuple[str, str], bool],
    sink: FigureSink,
    *,
    confidences: tuple[float, ...],
    check: VarSelfCheck | None = None,
    kept: BookVarKept | None = None,
) -> None:
    """`check`: the daemon's own backtest, given this tick's one-step forecasts (var_check.py);
    `kept`: what the stage carries between ticks (the evaluator's own; None: one shared default)."""
    kept = _SHARED if kept is None else kept
    returns = kept.history
    book = _book(snap, kept)  # once for the exposures and the Monte Carlo check
    exposure, px = _exposures(snap, book)
    w_now = dict(zip(book.legs, exposure.tolist(), strict=True))  # `leg_exposures`, from the kept legs
    prices = dict(zip(book.legs, px.tolist(), strict=True))
    unpriced = [book.legs[i] for i in np.flatnonzero(~(px > 0)).tolist()]
    all_fresh = all(map(fresh.get, book.streams, repeat(False))) and not stale_holdings(snap)
    h = models.history
    why = ""
    if not w_now:
        why = "no_position"
    elif unpriced:  # a leg on a symbol not watched has no mark, and no history either
        why = f"no_price: {_named(unpriced)}"
    elif h.reason:
        why = h.reason
    elif not (known := returns.legs_of(h.legs)).issuperset(w_now):  # a leg opened since the last refit
        why = f"history_missing_leg: {_named([leg for leg in w_now if leg not in known])}"
    w = _weights(book, h.legs, exposure, kept)
    pnl = scenario_pnl(returns.simple(h.returns), w) if not why else np.zeros(0)
    scale = horizon_scale(pnl, h.steps) if not why else math.nan
    sigma = portfolio_sigma(w, h.cov) * scale if not why else math.nan
    if not why and not math.isfinite(sigma):
        why = "zero_volatility"
    due = check is not None and check.due(snap.taken_at_ns)  # a forecast opens once per step
    one_pnl = scenario_pnl(returns.simple(h.one_step), w) if due and not why else np.zeros(0)
    one_sigma = portfolio_sigma(w, h.one_step_cov) if due and not why else math.nan
    # filtered historical: the same PnL, quantile and horizon scale over the rows rescaled at the refit
    fhs_why = "" if h.filtered.shape[0] else "empty_history"
    fhs_pnl = scenario_pnl(returns.simple(h.filtered), w) if not (why or fhs_why) else np.zeros(0)
    f_one = h.filtered_one_step
    fhs_one = scenario_pnl(returns.simple(f_one), w) if due and not why and f_one.shape[0] else np.zeros(0)
    one_step: dict[tuple[str, float], float] = {}
    emitted: _Emitted = {}
    for alpha in confidences:
        par = parametric_var_es(sigma, 1.0, alpha) if not why else None
        _emit(sink, "parametric", alpha, par, why, all_fresh, h.note, kept=emitted)
        hist = None
        if not why:
            one = historical_var_es(pnl, alpha)
            hist = VaRES(var=one.var * scale, es=one.es * scale, alpha=alpha, reason=one.reason)
            if due:  # the one-step model under the horizon figure, scored one step later
                one_step[("historical", alpha)] = historical_var_es(one_pnl, alpha).var
                one_step[("parametric", alpha)] = parametric_var_es(one_sigma, 1.0, alpha).var
        _emit(sink, "historical", alpha, hist, why, all_fresh, h.note, kept=emitted)
        fhs = _fhs(fhs_pnl, alpha, scale) if not why else None
        _emit(sink, FHS, alpha, fhs, why or fhs_why, all_fresh, h.note, kept=emitted)
        if due and not why and fhs_one.size:
            one_step[(FHS, alpha)] = historical_var_es(fhs_one, alpha).var
    if check is not None:
        check.observe(snap.taken_at_ns, w_now, prices, one_step, why)
        check.figures(sink, all_fresh)
    _monte_carlo(book, sink, models, confidences, all_fresh, emitted, kept)
    _mark_stale(emitted, models, snap.taken_at_ns)
    preferred_figures(sink, emitted, check.choice if check is not None else NO_SELF_CHECK, confidences)


def _mark_stale(kept: _Emitted, models: RiskModels, now_ns: int) -> None:
    """Model staleness as model_age.py will mark it on each method's figures (it runs after this stage).

    The preferred figure copies its source's freshness, so it must see the `model_stale` mark its
    source gets later in the tick: a model older than two planned rounds, with a value.
    """
    limit = models.budget.stale_after_s
    fitted = {m: models.history.fitted_at_ns for m in ("parametric", "historical", FHS)}
    fitted["monte_carlo"] = models.mc.fitted_at_ns
    for (name, method, alpha), (x, _fresh, note) in list(kept.items()):
        at = fitted.get(method, 0)
        if at and (now_ns - at) / 1e9 > limit and not math.isnan(x):
            kept[(name, method, alpha)] = (x, False, f"{STALE}, {note}" if note else STALE)


def _fhs(pnl: FloatArray, alpha: float, scale: float) -> VaRES | None:
    """None when the rescaled history is empty (`fhs_why` says why); the horizon scale as historical's."""
    if not pnl.size:
        return None
    one = historical_var_es(pnl, alpha)
    return VaRES(var=one.var * scale, es=one.es * scale, alpha=alpha, reason=one.reason)


def _monte_carlo(
    book: _Book,
    sink: FigureSink,
    models: RiskModels,
    confidences: tuple[float, ...],
    fresh: bool,
    emitted: _Emitted,
    kept: BookVarKept,
) -> None:
    """Results of the last refit's run: they describe the book as it was then (see risk_models_age)."""
    mc = models.mc
    touch = _touches(book, mc, kept)
    base, changed = touch.base, touch.changed
    for alpha in confidences:
        res = mc.results.get(alpha)
        why = base or ("book_changed_since_refit" if changed else "")
        v = (
            VaRES(var=res.var, es=res.es, alpha=alpha, reason=res.reason)
            if res is not None and not why
            else None
        )
        _emit(sink, "monte_carlo", alpha, v, why, fresh, mc.note, kept=emitted)
    first = next(iter(mc.results.values()), None)
    why = base or ("book_changed_since_refit" if changed else "lp_unknown" if mc.lp_unknown else "")
    p_any = first.p_any_touch if first is not None and not why else math.nan
    sink.add("var_any_liquidation_touch_probability_ratio", p_any, fresh=fresh, reason=why or mc.note)
    name = "liquidation_touch_probability_mc_ratio"
    sink.add_array(name, kept.keys(name, book.labs), touch.p, fresh, touch.why)


@dataclass(frozen=True, slots=True)
class _Touches:
    """Per position, the Monte Carlo run's chance of touching its LP and its reason (`_monte_carlo`)."""

    book: _Book
    mc: MonteCarloRun
    base: str  # the run's own reason, or "not_fitted_yet" without results
    changed: bool  # the book differs from the one the run simulated
    p: FloatArray
    why: list[str]


def _touches(book: _Book, mc: MonteCarloRun, kept: BookVarKept) -> _Touches:
    old = kept.touches
    if old is not None and old.book is book and old.mc is mc:
        return old
    changed = bool(mc.results) and not mc.reason and book.signature != mc.book
    base = mc.reason or ("not_fitted_yet" if not mc.results else "")
    first = next(iter(mc.results.values()), None)
    index = {pk: i for i, pk in enumerate(mc.positions)}
    p: list[float] = []
    why: list[str] = []
    for pk in book.positions:
        i = index.get(pk)
        if base or first is None:
            pi, pwhy = math.nan, base or "not_fitted_yet"
        elif i is None:
            pi, pwhy = math.nan, "opened_since_refit"
        elif changed:
            pi, pwhy = math.nan, "book_changed_since_refit"
        elif pk in mc.lp_unknown:
            pi, pwhy = math.nan, "lp_unknown"
        else:
            pi, pwhy = float(first.p_touch[i]), ""
        p.append(pi)
        why.append(pwhy)
    kept.touches = _Touches(book, mc, base, changed, np.array(p, dtype=np.float64), why)
    return kept.touches
