"""Per-market figures from the slow models: GARCH volatility now, the basis OU statistics, settled funding.

GARCH is fitted on a slow cadence; between fits the tick steps the recursion
σ²_{t+1} = ω + α r_t² + β σ²_t through every bar finished since the fit's last one, starting from
the fit's own forecast. That is the same number a refit-free `arch` filter gives, and it costs a
few steps per market (bars since the refit), so the tick stays pure: models and snapshot in,
figures out, no state carried between ticks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from monitor.evaluation.exposure import spot_mid
from monitor.evaluation.models import MarketModel, RiskModels
from monitor.evaluation.sink import FigureSink
from monitor.risk._num import BoolArray, FloatArray, quiet
from monitor.risk.garch import GarchParams, garch_step, has_params, stack_garch
from monitor.risk.reasons import Reason
from monitor.risk.volatility import log_returns, periods_per_year
from monitor.store.state import Grid, Snapshot

__all__ = ["GarchNow", "dynamics_figures", "garch_columns", "garch_now"]


@dataclass(frozen=True, slots=True)
class GarchNow:
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
    n = len(models)
    why = [""] * n
    s2 = np.full(n, np.nan)
    reached = np.zeros(n, dtype=bool)  # a fit with parameters and the bars it ended on: σ² stepped
    step: list[int] = []
    segs: list[FloatArray] = []
    fits: list[GarchParams] = []
    for k, (model, grid) in enumerate(zip(models, grids, strict=True)):
        if model is None:
            why[k] = "not_fitted_yet"
            continue
        g = model.garch
        why[k] = _label(g.reason)
        if not has_params(g):
            continue
        if grid is None:
            why[k] = "empty_history"
            continue
        ts, v = grid
        m = ts.size - 1  # the newest bucket is still filling (`models.finished`)
        i = int(np.searchsorted(ts[:m], model.last_bar_ns))
        if i >= m or int(ts[i]) != model.last_bar_ns:
            why[k] = "fit_outdated"  # the ring moved past the fit's last bar
            continue
        s2[k] = g.sigma2_next
        reached[k] = True
        if i + 1 < m:
            step.append(k)
            segs.append(v[i:m])
            fits.append(g)
    if step:
        width = max(x.size for x in segs)
        prices = np.full((len(segs), width), np.nan)
        for r, x in enumerate(segs):
            prices[r, : x.size] = x
        returns = log_returns(prices.T)  # (bars − 1, markets); NaN past each market's own bars
        idx = np.array(step, dtype=np.intp)
        params = stack_garch(fits)
        var = s2[idx]
        for r in returns:
            var = garch_step(params, var, r)
        s2[idx] = var
    periods = periods_per_year(step_s)
    with quiet():
        bad = ~((s2 > 0) & np.isfinite(s2))
        ann = np.sqrt(s2) * math.sqrt(periods) if periods > 0 else np.full(n, np.nan)  # `annualise_vol`
    for k in np.flatnonzero(bad & reached).tolist():
        why[k] = "zero_volatility"
    s2[bad] = np.nan
    ann[bad] = np.nan
    return s2, ann, why


@dataclass(frozen=True, slots=True)
class _Fits:
    """What the fitted models say per market, in the snapshot's market order (changes with a refit)."""

    models: RiskModels  # held: valid while the daemon hands the same record back
    keys: tuple[tuple[str, str], ...]
    labs: tuple[dict[str, str], ...]
    fitted: list[MarketModel | None]
    persistence: list[float]
    ou_why: list[str]  # the OU fit's own reason (no model, no spot history: checked per tick)
    ou_usable: list[bool]  # its reason is OK or NOT_MEAN_REVERTING: `basis_mean_reverting` has a value
    mean_reverting: list[float]
    half_life: list[float]
    theta: list[float]
    mu: FloatArray
    sd: FloatArray
    z_ok: BoolArray  # mean-reverting with a positive stationary sd (`basis.ou_zscore`)


class _Cache:
    last: ClassVar[_Fits | None] = None


def _fits(models: RiskModels, keys: tuple[tuple[str, str], ...]) -> _Fits:
    old = _Cache.last
    if old is not None and old.models is models and old.keys == keys:
        return old
    fitted = [models.markets.get(k) for k in keys]
    ous = [m.ou if m is not None else None for m in fitted]
    nan = math.nan
    _Cache.last = _Fits(
        models=models,
        keys=keys,
        labs=tuple({"venue": v, "symbol": s} for v, s in keys),
        fitted=fitted,
        persistence=[
            m.garch.alpha + m.garch.beta if m is not None and has_params(m.garch) else nan for m in fitted
        ],
        ou_why=[_label(o.reason) if o is not None else "" for o in ous],
        ou_usable=[o is not None and o.reason in (Reason.OK, Reason.NOT_MEAN_REVERTING) for o in ous],
        mean_reverting=[float(o.mean_reverting) if o is not None else nan for o in ous],
        half_life=[o.half_life_s if o is not None else nan for o in ous],
        theta=[o.theta if o is not None else nan for o in ous],
        mu=np.array([o.mu if o is not None else nan for o in ous], dtype=np.float64),
        sd=np.array([o.stationary_sd if o is not None else nan for o in ous], dtype=np.float64),
        z_ok=np.array([o is not None and o.mean_reverting and o.stationary_sd > 0 for o in ous], dtype=bool),
    )
    return _Cache.last


def dynamics_figures(
    snap: Snapshot, models: RiskModels, fresh: dict[tuple[str, str], bool], sink: FigureSink, *, step_s: float
) -> dict[tuple[str, str], GarchNow]:
    """Every market's figures over columns, added one name at a time (the per-market code they
    replaced is `tests/unit/evaluation/reference/dynamics_rows.py`, held equal by the tests)."""
    age = (snap.taken_at_ns - models.fitted_at_ns) / 1e9 if models.fitted_at_ns else math.nan
    sink.add("risk_models_age_seconds", age, reason="" if models.fitted_at_ns else "not_fitted_yet")
    keys = tuple(snap.marks)
    if not keys:
        return {}
    f = _fits(models, keys)
    labs = f.labs
    nan = math.nan
    grids = snap.mark_grid
    s2, ann, gwhy = garch_columns(f.fitted, [grids.get(k) for k in keys], step_s)
    out = {k: GarchNow(a, b, c) for k, a, b, c in zip(keys, s2.tolist(), ann.tolist(), gwhy, strict=True)}
    mark_ok = [fresh.get((v, f"mark:{s}"), False) for v, s in keys]
    every = [True] * len(keys)
    sink.add_many("volatility_garch_annualized_ratio", labs, ann.tolist(), mark_ok, gwhy)
    sink.add_many("garch_persistence_ratio", labs, f.persistence, every, gwhy)
    # the OU statistics of the basis, spot mid − mark, where the spot history exists
    spot_grid = snap.spot_grid
    has_spot = [k in spot_grid for k in keys]
    why = [
        "not_fitted_yet" if m is None else w if h else "no_spot_history"
        for m, w, h in zip(f.fitted, f.ou_why, has_spot, strict=True)
    ]
    use = np.array([not w for w in why], dtype=bool)
    spot = np.array([spot_mid(snap, *k) for k in keys], dtype=np.float64)
    mark = np.array([m.mark for m in snap.marks.values()], dtype=np.float64)
    with quiet():
        now = np.where((spot > 0) & (mark > 0), spot - mark, nan)
        z = np.where(use & f.z_ok, (now - f.mu) / f.sd, nan)
    zl = z.tolist()
    z_why = [w or ("" if math.isfinite(x) else "no_spot_price") for w, x in zip(why, zl, strict=True)]
    spot_ok = [
        ok and fresh.get((v, f"book:spot:{s}"), False) for ok, (v, s) in zip(mark_ok, keys, strict=True)
    ]
    sink.add_many("basis_zscore", labs, zl, spot_ok, z_why)
    ok = [h and u for h, u in zip(has_spot, f.ou_usable, strict=True)]
    mr = [x if o else nan for x, o in zip(f.mean_reverting, ok, strict=True)]
    sink.add_many("basis_mean_reverting", labs, mr, every, why)
    used = use.tolist()
    for name, col in (
        ("basis_ou_half_life_seconds", f.half_life),
        ("basis_ou_theta_per_second", f.theta),
        ("basis_ou_mean_usd", f.mu.tolist()),
        ("basis_ou_stationary_sd_usd", f.sd.tolist()),
    ):
        sink.add_many(name, labs, [x if u else nan for x, u in zip(col, used, strict=True)], every, why)
    _settled(sink, snap, keys, labs)
    return out


def _settled(
    sink: FigureSink, snap: Snapshot, keys: tuple[tuple[str, str], ...], labs: tuple[dict[str, str], ...]
) -> None:
    rate, ts, why = [], [], []
    settled, estimated = snap.funding_settled, snap.funding_settled_estimated
    for key in keys:
        s = settled.get(key)
        if s is None or s[1].size == 0:
            rate.append(math.nan)
            ts.append(math.nan)
            why.append("no_settlement_seen")
            continue
        # the venue's settled rate when its history was fetched; else the last estimate before the
        # settlement (it converges on the settled rate as the interval closes), said so in the reason
        why.append("estimated_before_settlement" if estimated.get(key, True) else "")
        rate.append(float(s[1][-1]))
        ts.append(int(s[0][-1]) / 1e9)
    every = [True] * len(keys)
    sink.add_many("funding_settled_rate_ratio", labs, rate, every, why)
    sink.add_many("funding_settled_timestamp_seconds", labs, ts, every, why)
