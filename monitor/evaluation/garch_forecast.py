"""The GARCH forecast now, per market over columns: the last fit's σ² stepped through every bar
finished since.

Why its own module: this is the recursion alone (fits in, grids in, σ² and reasons out), with no
figures and nothing kept between ticks; the dynamics stage (monitor/evaluation/dynamics.py) keeps
its columns while no bar finishes, and the advice stage reads the `GarchNow` it hands on. Split
from dynamics.py (issue 16: no module over 400 lines), bodies unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from monitor.evaluation.models import MarketModel
from monitor.risk._num import FloatArray, IntArray, quiet
from monitor.risk.garch import GarchArrays, garch_step, has_params
from monitor.risk.reasons import Reason
from monitor.risk.volatility import log_returns, periods_per_year
from monitor.store.state import Grid

__all__ = ["GarchFits", "GarchNow", "garch_columns", "garch_fits", "garch_now", "garch_tick"]


class GarchNow(NamedTuple):
    """A tuple, not a frozen dataclass: one is made per market per tick, and that was a cost."""

    sigma2: float  # variance forecast for the next bar's return (NaN unless available)
    sigma_ann: float
    reason: str  # "" or why it is missing, or a warning that comes with a value


def _label(reason: Reason) -> str:
    return "" if reason == Reason.OK else reason.name.lower()


def garch_now(model: MarketModel | None, grid: Grid | None, step_s: float) -> GarchNow:
    """σ² for the next bar: the fit's forecast stepped through every bar finished since the fit."""
    s2, ann, why = garch_columns([model], [grid], step_s)
    return GarchNow(float(s2[0]), float(ann[0]), why[0])


def garch_columns(
    models: Sequence[MarketModel | None], grids: Sequence[Grid | None], step_s: float
) -> tuple[FloatArray, FloatArray, list[str]]:
    """`garch_now` of many markets at once: (σ², annualised σ, reason) per market.

    The recursion runs one bar at a time over every market together (`garch.garch_step`), on the
    returns since each market's fit padded with NaN (a NaN return keeps σ²), so each market's σ² is
    the float the one-market loop gives.
    """
    return garch_tick(garch_fits(models), grids, step_s)


@dataclass(frozen=True, slots=True)
class GarchFits:
    """What the fits say before any grid is read, per market (changes only with a refit)."""

    why: tuple[str, ...]  # "not_fitted_yet", or the fit's own reason
    usable: tuple[int, ...]  # the markets whose fit has parameters
    last_bar_ns: tuple[int, ...]  # per market (0 without a fit)
    sigma2: FloatArray  # the fit's forecast for the bar after its last one (NaN without a fit)
    params: GarchArrays  # NaN without parameters


def garch_fits(models: Sequence[MarketModel | None]) -> GarchFits:
    nan = math.nan
    fits = [m.garch if m is not None and has_params(m.garch) else None for m in models]
    cols = (
        np.array([getattr(g, c) if g is not None else nan for g in fits], dtype=np.float64)
        for c in GarchArrays._fields
    )  # `stack_garch` of the fits with parameters, NaN elsewhere
    return GarchFits(
        why=tuple("not_fitted_yet" if m is None else _label(m.garch.reason) for m in models),
        usable=tuple(k for k, g in enumerate(fits) if g is not None),
        last_bar_ns=tuple(m.last_bar_ns if m is not None else 0 for m in models),
        sigma2=np.array([g.sigma2_next if g is not None else nan for g in fits], dtype=np.float64),
        params=GarchArrays(*cols),
    )


def _bar_index(ts: IntArray, m: int, last_bar_ns: int, step_ns: int) -> int:
    """The fit's last bar among the m finished buckets (`searchsorted`), −1 when they no longer hold it.

    On a gap-filled grid the bucket is found by arithmetic; else by the search.
    """
    if m > 0:
        t0 = ts.item(0)
        if last_bar_ns >= t0:
            i = (last_bar_ns - t0) // step_ns
            if i < m and ts.item(i) == last_bar_ns and (i == 0 or ts.item(i - 1) < last_bar_ns):
                return i
    i = int(np.searchsorted(ts[:m], last_bar_ns))
    return i if i < m and ts.item(i) == last_bar_ns else -1


def garch_tick(
    fits: GarchFits, grids: Sequence[Grid | None], step_s: float
) -> tuple[FloatArray, FloatArray, list[str]]:
    """`garch_columns` from fits gathered once per refit (`garch_fits`)."""
    n = len(fits.why)
    why = list(fits.why)
    s2 = np.full(n, np.nan)
    reached: list[int] = []  # a fit with parameters and the bars it ended on: σ² stepped
    step: list[int] = []
    segs: list[FloatArray] = []
    step_ns = max(1, round(step_s * 1e9))
    lasts = fits.last_bar_ns
    for k in fits.usable:
        grid = grids[k]
        if grid is None:
            why[k] = "empty_history"
            continue
        ts, v = grid
        m = ts.size - 1  # the newest bucket is still filling (`models.finished`)
        i = _bar_index(ts, m, lasts[k], step_ns)
        if i < 0:
            why[k] = "fit_outdated"  # the ring moved past the fit's last bar
            continue
        reached.append(k)
        if i + 1 < m:
            step.append(k)
            segs.append(v[i:m])
    at = np.array(reached, dtype=np.intp)
    s2[at] = fits.sigma2[at]
    if step:
        width = max(x.size for x in segs)
        prices = np.full((len(segs), width), np.nan)
        for r, x in enumerate(segs):
            prices[r, : x.size] = x
        returns = log_returns(prices.T)  # (bars − 1, markets); NaN past each market's own bars
        idx = np.array(step, dtype=np.intp)
        params = GarchArrays(*(c[idx] for c in fits.params))
        var = s2[idx]
        for r in returns:
            var = garch_step(params, var, r)
        s2[idx] = var
    periods = periods_per_year(step_s)
    with quiet():
        bad = ~((s2 > 0) & np.isfinite(s2))
        ann = np.sqrt(s2) * math.sqrt(periods) if periods > 0 else np.full(n, np.nan)  # `annualise_vol`
    was = np.zeros(n, dtype=bool)
    was[at] = True
    for k in np.flatnonzero(bad & was).tolist():
        why[k] = "zero_volatility"
    s2[bad] = np.nan
    ann[bad] = np.nan
    return s2, ann, why
