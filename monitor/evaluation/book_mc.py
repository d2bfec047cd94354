"""Monte Carlo inputs from the live book: GARCH paths per asset, OU basis, resampled funding.

Each base asset the book touches is one simulated asset, modelled from its primary market (where
the holdings are priced, else one with a spot book): that market's mark-return GARCH(1,1)-t
drives the spot (mark and spot move together; their difference is the basis, simulated
separately). Perpetuals of the same asset on other venues ride the same path: a BTC short on one
venue hedging BTC custody priced on another is a hedge, not two independent bets (the venue
premium between them is left out; it is bps against the price risk). The basis follows its OU
fit, or a random walk with the observed step sd when the fit says it is not mean-reverting
(freezing it would understate risk). Different assets are correlated through their mark returns;
the risk library draws each asset's Student-t mixing variable on its own, which weakens that
correlation in the tails (see the closing note of issue 4). Funding is resampled from the settlements
the store saw; before the first one the current estimate stands in, and the result says so.
LPs come from the latest tick's figures: a position whose LP was not available makes the "any
position touches" probability unavailable too, since leaving it out would understate it.

The seed is fixed per run (`mc_seed`), so every refit draws the same paths and a change in MC
VaR comes from the book or the fits, never from the dice; all confidences share those paths.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from monitor.clock import NS_PER_S
from monitor.config import EvaluationConfig
from monitor.evaluation.exposure import (
    MarketExposure,
    PositionKey,
    base_asset,
    book_signature,
    market_exposures,
    spot_mid,
)
from monitor.evaluation.models import MarketModel, MonteCarloRun, basis_series, finished
from monitor.reason_codes import reason_code
from monitor.records import Figures
from monitor.risk._num import FloatArray
from monitor.risk.garch import has_params
from monitor.risk.montecarlo import McBook, McMarket, McResult, McSimulation
from monitor.risk.volatility import log_returns, resample_last
from monitor.store.state import Snapshot

__all__ = [
    "McPlan",
    "budget_chunk_paths",
    "correlation_factor",
    "finish_monte_carlo",
    "lps_from_figures",
    "prepare_monte_carlo",
    "run_monte_carlo",
    "slice_steps",
]

DEFAULT_INTERVAL_H = 8.0
SLICE_ELEMS = 2_000_000  # path-step-asset cells per budgeted slice (~100 ns each at 600 assets)
CHUNK_CELLS = 40_000  # path × asset cells per numpy call in a budgeted run (64 paths at 600 assets)
MIN_CHUNK_PATHS = 16


def lps_from_figures(figs: Figures | None) -> dict[PositionKey, float]:
    """Known LPs per position (NaN: cannot be liquidated); positions whose LP is unknown are absent."""
    out: dict[PositionKey, float] = {}
    if figs is None:
        return out
    col = figs.columns.get("liquidation_price_usd")  # one column: the dict form of every figure is not built
    if col is None:
        return out
    for key, value, why in zip(col.keys, col.values.tolist(), col.reasons, strict=True):
        k = (key.venue, key.account, key.symbol, key.side)
        if not math.isnan(value):
            out[k] = value
        elif reason_code(why) == "not_liquidatable":  # not a NaN for want of another leg
            out[k] = math.nan
    return out


def _random_walk_sigma(mark: tuple[np.ndarray, np.ndarray], spot: tuple[np.ndarray, np.ndarray] | None,
                       step_s: float) -> float:  # fmt: skip
    b, why = basis_series(mark, spot)
    d = np.diff(b) if not why else np.zeros(0)
    d = d[np.isfinite(d)]
    return float(np.std(d, ddof=1)) / math.sqrt(step_s) if d.size >= 10 else math.nan


def correlation_factor(
    snap: Snapshot, keys: list[tuple[str, str]], step_s: float, points: int
) -> tuple[FloatArray | None, str]:
    """A square root A (A·Aᵀ = correlation) of the markets' mark returns, or why there is none.

    Two markets of one asset (the same perpetual on two venues) move almost one for one, and their
    correlation matrix can be singular: a Cholesky factor fails there, so the factor comes from the
    eigen-decomposition (negative round-off eigenvalues clipped). Without a usable estimate the
    run is refused, never simulated as independent: that would turn a hedge across venues into two
    open positions.
    """
    if len(keys) < 2:
        return None, ""
    grids = [finished(snap.mark_grid[k]) for k in keys]
    if any(t.size < 2 for t, _ in grids):
        return None, "no_correlation"
    end = max(int(t[-1]) for t, _ in grids)
    step_ns = int(step_s * NS_PER_S)
    prices = np.column_stack([resample_last(t, v, step_ns, end, points, max_age_ns=0) for t, v in grids])
    r = log_returns(prices)
    r = r[np.all(np.isfinite(r), axis=1)]
    if r.shape[0] < 20:
        return None, "no_correlation"
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = np.corrcoef(r, rowvar=False)
    if not np.all(np.isfinite(corr)):
        return None, "no_correlation"
    lam, vec = np.linalg.eigh(corr)
    return np.asarray(vec * np.sqrt(np.clip(lam, 0.0, None)), dtype=np.float64), ""


def _primaries(
    book: dict[tuple[str, str], MarketExposure], snap: Snapshot
) -> dict[str, list[tuple[str, str]]]:
    """Markets per base asset, the primary first: where holdings are priced, else one with a spot book."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for key in book:
        groups.setdefault(base_asset(key[1]), []).append(key)
    for keys in groups.values():
        keys.sort(key=lambda k: (book[k].spot_q == 0, k not in snap.spot_grid, k))
    return dict(sorted(groups.items()))


@dataclass(slots=True)
class McPlan:
    """One book's Monte Carlo, prepared and ready to simulate (in chunks, see `McSimulation`)."""

    sim: McSimulation
    slice_steps: int | None  # steps per `advance` (None: a whole chunk)
    positions: tuple[PositionKey, ...]
    notes: tuple[str, ...]
    lp_unknown: frozenset[PositionKey]
    book: tuple[object, ...]

    @property
    def shape(self) -> tuple[int, int, int]:
        """Steps, assets and positions: what one path costs depends on these."""
        return (self.sim.steps, self.sim.assets, self.sim.m)

    @property
    def simulated(self) -> int:
        return self.sim.simulated

    @property
    def done(self) -> bool:
        return self.sim.done

    def resize(self, n_paths: int) -> None:
        self.sim.resize(n_paths)

    def advance(self) -> int:
        """One slice; the paths it completed (0 until a chunk's last step)."""
        return self.sim.advance(self.slice_steps)

    def finish(self, confidences: tuple[float, ...], note: str = "") -> MonteCarloRun:
        return finish_monte_carlo(self, confidences, note)


def run_monte_carlo(
    snap: Snapshot,
    ev: EvaluationConfig,
    markets: Mapping[tuple[str, str], MarketModel],
    lps: Mapping[PositionKey, float],
) -> MonteCarloRun:
    """The whole run at `mc_paths` in one go (the reference; the daemon's budgeted refit slices it)."""
    plan = prepare_monte_carlo(snap, ev, markets, lps, n_paths=ev.mc_paths)
    if isinstance(plan, MonteCarloRun):
        return plan
    while not plan.sim.done:
        plan.sim.advance()
    return finish_monte_carlo(plan, ev.var_confidences)


def budget_chunk_paths(assets: int, floor_paths: int) -> int:
    """Paths per chunk of a budgeted run: `CHUNK_CELLS` path × asset cells per numpy call, at most the floor.

    A function of the book's shape only, never of measured costs, so every refit of the same book
    draws the same paths (`mc_seed`). Wide enough that numpy's per-call overhead stays small; the
    slices the budget paces are cut along the steps instead (`slice_steps`).
    """
    return max(1, min(floor_paths, max(MIN_CHUNK_PATHS, CHUNK_CELLS // max(1, assets))))


def slice_steps(chunk_paths: int, assets: int) -> int:
    """Steps per budgeted slice: about `SLICE_ELEMS` path-step-asset cells (~0.2 CPU s)."""
    return max(1, SLICE_ELEMS // max(1, chunk_paths * assets))


def prepare_monte_carlo(
    snap: Snapshot,
    ev: EvaluationConfig,
    markets: Mapping[tuple[str, str], MarketModel],
    lps: Mapping[PositionKey, float],
    *,
    n_paths: int,
    budget_floor: int | None = None,
) -> MonteCarloRun | McPlan:
    """The simulation's inputs from the book and the fits, or the run that says why there is none.

    `budget_floor` None: `monte_carlo`'s own chunking, so the result equals `monte_carlo` at the same
    seed; else the budgeted chunks (`budget_chunk_paths`) of a run that the scheduler sizes itself.
    """
    book = market_exposures(snap)
    sig = book_signature(book)  # kept on failures too: the refresher refits early only on a change
    if not book:
        return MonteCarloRun(reason="no_position", book=sig)
    step_s = ev.volatility_sample_s
    groups = _primaries(book, snap)
    keys = [g[0] for g in groups.values()]  # one simulated asset per base asset, from its primary market
    names = ("spot", "basis", "omega", "alpha", "beta", "nu", "sigma2", "theta", "mu", "sigma", "interval_h",
             "spot_q")  # fmt: skip
    cols: dict[str, list[float]] = {n: [] for n in names}
    notes: list[str] = []
    for key, group in zip(keys, groups.values(), strict=True):
        model, mark = markets.get(key), snap.marks.get(key)
        if model is None or mark is None or not has_params(model.garch):
            why = "empty_history" if model is None else model.garch.reason.name.lower()
            return MonteCarloRun(
                reason=f"garch_{why}" if mark is not None else f"no_mark: {key[0]}/{key[1]}", book=sig
            )
        spot_q = sum(book[k].spot_q for k in group)
        spot = spot_mid(snap, *key)
        if not math.isfinite(spot):
            if spot_q != 0:
                return MonteCarloRun(reason="no_spot_price", book=sig)
            spot = mark.mark  # no spot book: simulate the mark itself with a frozen zero basis
        g = model.garch
        cols["spot"].append(spot)
        cols["basis"].append(spot - mark.mark)
        cols["omega"].append(g.omega)
        cols["alpha"].append(g.alpha)
        cols["beta"].append(g.beta)
        cols["nu"].append(g.nu)
        cols["sigma2"].append(g.sigma2_next)
        ou = model.ou
        if ou.mean_reverting:
            theta, mu, sigma = ou.theta, ou.mu, ou.sigma
        else:
            theta, mu = 0.0, 0.0
            sigma = _random_walk_sigma(snap.mark_grid[key], snap.spot_grid.get(key), step_s)
            if not math.isfinite(sigma):
                sigma = 0.0
                notes.append("basis_frozen")
        cols["theta"].append(theta)
        cols["mu"].append(mu)
        cols["sigma"].append(sigma)
        fi = snap.funding.get(key)
        cols["interval_h"].append(fi.interval_s / 3600.0 if fi is not None else DEFAULT_INTERVAL_H)
        cols["spot_q"].append(spot_q)
    settled = [snap.funding_settled.get(k) for k in keys]
    n_hist = min((0 if s is None else s[1].size) for s in settled)
    if n_hist > 0:
        hist = np.column_stack([s[1][-n_hist:] for s in settled if s is not None])
    else:
        hist = np.array([[snap.marks[k].funding_rate for k in keys]])
        notes.append("funding_from_current_estimate")
    factor, no_factor = correlation_factor(snap, keys, step_s, ev.history_points)
    if no_factor:
        return MonteCarloRun(reason=no_factor, book=sig)
    a = {n: np.array(v, dtype=np.float64) for n, v in cols.items()}
    market = McMarket(
        spot=a["spot"], basis=a["basis"], omega=a["omega"], alpha=a["alpha"], beta=a["beta"], nu=a["nu"],
        sigma2=a["sigma2"], ou_theta=a["theta"], ou_mu=a["mu"], ou_sigma=a["sigma"], funding_history=hist,
        funding_interval_h=a["interval_h"], chol=factor,
    )  # fmt: skip
    positions = [
        (pk, q, i) for i, group in enumerate(groups.values()) for k in group for pk, q in book[k].positions
    ]
    mc_book = McBook(
        spot_q=a["spot_q"],
        perp_asset=np.array([i for _, _, i in positions], dtype=np.intp),
        perp_q=np.array([q for _, q, _ in positions], dtype=np.float64),
        perp_lp=np.array([lps.get(pk, math.nan) for pk, _, _ in positions], dtype=np.float64),
    )
    k = int(market.spot.size)
    if budget_floor is None:
        chunk = max(1, min(n_paths, 4_000_000 // max(k, 1)))  # as monte_carlo()
    else:
        chunk = budget_chunk_paths(k, budget_floor)
    sim = McSimulation(
        market, mc_book, horizon_s=ev.var_horizon_s, step_s=step_s, n_paths=n_paths,
        rng=np.random.default_rng(ev.mc_seed), chunk_paths=chunk,
    )  # fmt: skip
    return McPlan(
        sim=sim,
        slice_steps=slice_steps(chunk, k) if budget_floor is not None else None,
        positions=tuple(pk for pk, _, _ in positions),
        notes=tuple(dict.fromkeys(notes)),
        lp_unknown=frozenset(pk for pk, _, _ in positions if pk not in lps),
        book=sig,
    )


def finish_monte_carlo(plan: McPlan, confidences: tuple[float, ...], note: str = "") -> MonteCarloRun:
    """VaR/ES per confidence from the plan's paths (all confidences read the same paths)."""
    results: dict[float, McResult] = {alpha: plan.sim.result(alpha) for alpha in confidences}
    first = next(iter(results.values()), None)
    reason = "" if first is None or first.reason == 0 else first.reason.name.lower()
    return MonteCarloRun(
        results=MappingProxyType(results),
        positions=plan.positions,
        reason=reason,
        note=",".join(dict.fromkeys((*plan.notes, *((note,) if note else ())))),
        lp_unknown=plan.lp_unknown,
        book=plan.book,
        n_paths=plan.sim.simulated,
        steps=plan.sim.steps,
    )
