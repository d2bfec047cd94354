"""The slow models the per-tick evaluator reads: one immutable record, replaced whole.

A GARCH fit costs tens of milliseconds per symbol and a Monte Carlo run seconds, far beyond a
tick, so the models are fitted off the loop in worker threads (monitor/refit.py: one market, or one
slice of the book's run, at a time, within a CPU budget) from store snapshots, and each finished
part goes into a new `RiskModels`; the daemon swaps the reference (atomic in Python) and every
tick reads whichever record is current. Each part carries the time of the snapshot it was fitted
on, so its age is known. `refresh_models` fits everything at once (the reference, and what the
offline tools use). Nothing here mutates or keeps state between calls except the warm start
passed in as `previous`.

What a record holds, per market (venue, symbol): the GARCH(1,1)-t fit of mark returns with the
grid time of the last bar it used (the tick steps the recursion from there with each newer bar),
and the OU fit of the basis (spot mid − mark). For the book: the joint one-step log returns of
every leg it held at refit time with their covariance (parametric and historical VaR), and the
Monte Carlo results per confidence.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

from monitor.clock import NS_PER_S
from monitor.config import EvaluationConfig
from monitor.evaluation.exposure import Leg, PositionKey, market_exposures
from monitor.risk._num import FloatArray, quiet
from monitor.risk.basis import OUFit, ou_fit
from monitor.risk.fhs import fhs_rescale
from monitor.risk.garch import GarchParams, fit_garch, has_params
from monitor.risk.montecarlo import McResult
from monitor.risk.reasons import Reason
from monitor.risk.volatility import log_returns, resample_last
from monitor.store.state import Grid, Snapshot

__all__ = [
    "EMPTY_MODELS",
    "MarketModel",
    "ModelBudget",
    "MonteCarloRun",
    "ReturnHistory",
    "RiskModels",
    "basis_series",
    "book_history",
    "finished",
    "fit_market",
    "oldest_fit_ns",
    "refresh_models",
    "return_history",
]

MIN_HISTORY_ROWS = 20  # joint returns needed for a covariance or a historical quantile


@dataclass(frozen=True, slots=True)
class MarketModel:
    garch: GarchParams
    last_bar_ns: int  # grid time of the last bar in the fit; 0 when there was none
    ou: OUFit
    fitted_at_ns: int = 0  # time of the snapshot the fit read (its age is market_model_age_seconds)


@dataclass(frozen=True, slots=True)
class ReturnHistory:
    """Joint log returns of the book's legs over the VaR horizon, and their covariance.

    Rows are the overlapping horizon-long windows of the history (one-step rows with a NaN in any
    leg dropped first), so a basis that mean-reverts within the horizon counts as what it is; a
    square-root-of-time scaling of one-step returns would count its noise as a random walk and
    overstate a hedged book's VaR many times. When the history is shorter than the horizon plus
    MIN_HISTORY_ROWS windows, rows are one-step returns and `steps` is the horizon in steps: the
    tick scales them with the PnL's own autocorrelation (note `autocorrelation_scaled`, see
    book_var.py); with fewer than ten independent windows the note says so.
    """

    legs: tuple[Leg, ...] = ()
    returns: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    cov: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    steps: int = 1  # 1: rows span the horizon; T > 1: one-step rows, T of them make the horizon
    # the one-step rows and their covariance whatever `returns` holds: the VaR self-check scores the
    # one-step model every step (monitor/evaluation/var_check.py), the horizon figures use `returns`
    one_step: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    one_step_cov: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    # filtered historical simulation (monitor/risk/fhs.py): the one-step rows with each leg rescaled to
    # its volatility at the refit, and the same layout as `returns` built from them; empty when the
    # rescaling left too few rows (a leg flat at the start of its history)
    filtered: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    filtered_one_step: FloatArray = field(default_factory=lambda: np.zeros((0, 0)))
    note: str = ""
    reason: str = "not_fitted_yet"
    fitted_at_ns: int = 0  # time of the snapshot it was built from; 0: never


@dataclass(frozen=True, slots=True)
class MonteCarloRun:
    """Monte Carlo VaR/ES per confidence (same paths for every level) and LP touches per position."""

    results: Mapping[float, McResult] = field(default_factory=lambda: MappingProxyType({}))
    positions: tuple[PositionKey, ...] = ()  # the order of each result's p_touch
    reason: str = "not_fitted_yet"
    note: str = ""  # a caveat on a value that is present (e.g. funding from the current estimate)
    lp_unknown: frozenset[PositionKey] = frozenset()  # positions whose LP was not available at refit
    book: tuple[object, ...] = ()  # `book_signature` of the book simulated
    n_paths: int = 0  # paths simulated (the budget sizes them, monitor/refit.py)
    steps: int = 0  # steps per path: var_horizon_s / volatility_sample_s
    fitted_at_ns: int = 0  # time of the snapshot the run read; 0: never


@dataclass(frozen=True, slots=True)
class ModelBudget:
    """How the refit scheduler (monitor/refit.py) is keeping up, for the tick to report and flag.

    `stale_after_s`: a model older than this has fallen behind what the budget allows (two of the
    rounds the budget plans, at least two refit_s); its figures are then flagged `model_stale`.
    """

    stale_after_s: float = math.inf  # inf: never stale (a one-shot fit, or nothing planned yet)
    round_s: float = math.nan  # wall time one refit of every model takes at the budget
    cpu_share: float = math.nan  # CPU the refits used over the last window, fraction of one core


@dataclass(frozen=True, slots=True)
class RiskModels:
    fitted_at_ns: int = 0  # the oldest fit in use (risk_models_age_seconds); 0: never fitted
    step_s: float = math.nan
    markets: Mapping[tuple[str, str], MarketModel] = field(default_factory=lambda: MappingProxyType({}))
    history: ReturnHistory = field(default_factory=ReturnHistory)
    mc: MonteCarloRun = field(default_factory=MonteCarloRun)
    budget: ModelBudget = field(default_factory=ModelBudget)


EMPTY_MODELS = RiskModels()


def finished(grid: Grid) -> Grid:
    """The grid without its newest bucket, which is still filling and not a sample yet."""
    ts, v = grid
    return ts[:-1], v[:-1]


def basis_series(mark: Grid, spot: Grid | None) -> tuple[FloatArray, str]:
    """spot − mark on the finished buckets both grids hold (NaN where either is missing)."""
    if spot is None:
        return np.zeros(0), "no_spot_history"
    mts, mv = finished(mark)
    sts, sv = finished(spot)
    if mts.size == 0 or sts.size == 0:
        return np.zeros(0), "empty_history"
    both = np.intersect1d(mts, sts)
    if both.size == 0:
        return np.zeros(0), "empty_history"
    # each grid is gap-filled, so both are runs of consecutive buckets and so is their overlap
    m = mv[np.searchsorted(mts, both)]
    s = sv[np.searchsorted(sts, both)]
    with quiet():
        return np.where((s > 0) & (m > 0), s - m, np.nan), ""


def fit_market(
    mark: Grid,
    spot: Grid | None,
    step_s: float,
    min_obs: int,
    previous: MarketModel | None,
    fitted_at_ns: int = 0,
) -> MarketModel:
    ts, v = finished(mark)
    r = log_returns(v) if v.size > 1 else np.zeros(0)
    start = previous.garch if previous is not None and has_params(previous.garch) else None
    garch = fit_garch(r, min_obs=min_obs, starting=start)
    b, why = basis_series(mark, spot)
    ou = ou_fit(b, step_s) if not why else ou_fit(np.zeros(0), step_s)
    return MarketModel(
        garch=garch, last_bar_ns=int(ts[-1]) if ts.size else 0, ou=ou, fitted_at_ns=fitted_at_ns
    )


def return_history(
    snap: Snapshot, legs: tuple[Leg, ...], step_s: float, points: int, horizon_steps: int = 1
) -> ReturnHistory:
    """Align every leg's finished grid on one time axis (exact buckets); log returns over the horizon."""
    if not legs:
        return ReturnHistory(reason="no_position")
    step_ns = int(step_s * NS_PER_S)
    grids: list[Grid] = []
    for venue, symbol, kind in legs:
        g = (snap.spot_grid if kind == "spot" else snap.mark_grid).get((venue, symbol))
        if g is None or g[0].size < 3:
            return ReturnHistory(legs=legs, reason="empty_history")
        grids.append(finished(g))
    end = max(int(g[0][-1]) for g in grids)
    prices = np.column_stack([resample_last(t, v, step_ns, end, points, max_age_ns=0) for t, v in grids])
    r = log_returns(prices)
    r = r[np.all(np.isfinite(r), axis=1)]
    if r.shape[0] < MIN_HISTORY_ROWS:
        return ReturnHistory(legs=legs, returns=r, reason="empty_history")
    cov = np.atleast_2d(np.cov(r, rowvar=False))
    if not np.all(np.diag(cov) > 0):  # a flat leg is a dead feed (the grid carries its last price)
        return ReturnHistory(legs=legs, returns=r, reason="zero_volatility")
    one, one_cov = r, cov
    t = max(1, horizon_steps)
    n = r.shape[0]
    steps, note = 1, ""
    if t > 1 and n - t + 1 >= MIN_HISTORY_ROWS:
        c = np.vstack([np.zeros((1, r.shape[1])), np.cumsum(r, axis=0)])
        r = c[t:] - c[:-t]  # overlapping horizon windows
        cov = np.atleast_2d(np.cov(r, rowvar=False))
        note = "few_independent_windows" if n < 10 * t else ""
    elif t > 1:
        steps, note = t, "autocorrelation_scaled"
    f_one, f = _filtered(one, t if steps == 1 else 1)
    for a in (r, cov, one, one_cov, f, f_one):
        a.flags.writeable = False
    return ReturnHistory(
        legs=legs, returns=r, cov=cov, steps=steps, note=note, reason="", one_step=one, one_step_cov=one_cov,
        filtered=f, filtered_one_step=f_one,
    )  # fmt: skip


def _filtered(one: FloatArray, t: int) -> tuple[FloatArray, FloatArray]:
    """FHS one-step rows and their t-step overlapping windows (t = 1: the rows themselves).

    Rescaled once per refit: the tick only reads them. Rows the rescaling cannot give (σ_t = 0, only
    at the start of a leg that had not moved yet) are a leading run, so dropping them keeps the rest
    consecutive and the windows honest.
    """
    f = fhs_rescale(one)
    f = f[np.all(np.isfinite(f), axis=1)]
    empty = np.zeros((0, one.shape[1]))
    if f.shape[0] < MIN_HISTORY_ROWS:
        return empty, empty
    if t == 1:
        return f, f
    if f.shape[0] - t + 1 < MIN_HISTORY_ROWS:
        return f, empty
    c = np.vstack([np.zeros((1, f.shape[1])), np.cumsum(f, axis=0)])
    return f, c[t:] - c[:-t]


def book_legs(snap: Snapshot) -> tuple[Leg, ...]:
    legs: list[Leg] = []
    for (venue, symbol), e in market_exposures(snap).items():
        if e.spot_q != 0:
            legs.append((venue, symbol, "spot"))
        if e.perp_q != 0 or e.positions:
            legs.append((venue, symbol, "perp"))
    return tuple(legs)


def book_history(snap: Snapshot, ev: EvaluationConfig) -> ReturnHistory:
    """The book's return history over the VaR horizon, stamped with the snapshot's time."""
    steps = max(1, round(ev.var_horizon_s / ev.volatility_sample_s))
    h = return_history(snap, book_legs(snap), ev.volatility_sample_s, ev.history_points, steps)
    return replace(h, fitted_at_ns=snap.taken_at_ns)


def oldest_fit_ns(markets: Mapping[tuple[str, str], MarketModel], *parts: int) -> int:
    """The oldest fit time among the models in use (0 when none was ever fitted)."""
    times = [m.fitted_at_ns for m in markets.values() if m.fitted_at_ns] + [t for t in parts if t]
    return min(times) if times else 0


def refresh_models(
    snap: Snapshot,
    ev: EvaluationConfig,
    previous: RiskModels,
    lps: Mapping[PositionKey, float],
) -> RiskModels:
    """Fit every market, rebuild the book's return history and run Monte Carlo; never raises on data.

    All at once and at `mc_paths`, with no CPU budget: the reference the tests and the what-if
    tools use. The daemon spreads the same work over time on a budget (monitor/refit.py).
    """
    from monitor.evaluation.book_mc import run_monte_carlo  # the MC assembly needs the fitted markets

    step_s = ev.volatility_sample_s
    markets: dict[tuple[str, str], MarketModel] = {}
    for key, grid in snap.mark_grid.items():
        markets[key] = fit_market(
            grid,
            snap.spot_grid.get(key),
            step_s,
            ev.garch_min_obs,
            previous.markets.get(key),
            snap.taken_at_ns,
        )
    frozen_markets = MappingProxyType(markets)
    history = book_history(snap, ev)
    mc = replace(run_monte_carlo(snap, ev, frozen_markets, lps), fitted_at_ns=snap.taken_at_ns)
    return RiskModels(
        fitted_at_ns=snap.taken_at_ns, step_s=step_s, markets=frozen_markets, history=history, mc=mc
    )


def reason_label(reason: Reason) -> str:
    return "" if reason == Reason.OK else reason.name.lower()
