"""Per-market figures from the slow models: GARCH volatility now, the basis OU statistics, settled funding.

GARCH is fitted on a slow cadence; between fits the tick steps the recursion
σ²_{t+1} = ω + α r_t² + β σ²_t through every bar finished since the fit's last one, starting from
the fit's own forecast. That is the same number a refit-free `arch` filter gives, and it costs a
few steps per market (bars since the refit), so the tick stays pure: models and snapshot in,
figures out, no state carried between ticks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from monitor.evaluation.exposure import spot_mid
from monitor.evaluation.models import MarketModel, RiskModels
from monitor.evaluation.sink import FigureRows, FigureSink
from monitor.risk.basis import ou_zscore
from monitor.risk.garch import has_params
from monitor.risk.reasons import Reason
from monitor.risk.volatility import log_returns, periods_per_year
from monitor.store.state import Grid, Snapshot

__all__ = ["GarchNow", "dynamics_figures", "garch_now"]


@dataclass(frozen=True, slots=True)
class GarchNow:
    sigma2: float  # variance forecast for the next bar's return (NaN unless available)
    sigma_ann: float
    reason: str  # "" or why it is missing, or a warning that comes with a value


def _label(reason: Reason) -> str:
    return "" if reason == Reason.OK else reason.name.lower()


def garch_now(model: MarketModel | None, grid: Grid | None, step_s: float) -> GarchNow:
    """σ² for the next bar: the fit's forecast stepped through every bar finished since the fit."""
    if model is None:
        return GarchNow(math.nan, math.nan, "not_fitted_yet")
    g = model.garch
    if not has_params(g):
        return GarchNow(math.nan, math.nan, _label(g.reason))
    if grid is None:
        return GarchNow(math.nan, math.nan, "empty_history")
    ts, v = grid
    m = ts.size - 1  # the newest bucket is still filling (`models.finished`)
    i = int(np.searchsorted(ts[:m], model.last_bar_ns))
    if i >= m or int(ts[i]) != model.last_bar_ns:
        return GarchNow(math.nan, math.nan, "fit_outdated")  # the ring moved past the fit's last bar
    s2 = g.sigma2_next
    if i + 1 < m:  # `garch_filter` from the fit's forecast, stepped here without its arrays
        w, a, b = g.omega, g.alpha, g.beta
        seg = v[i:m]
        if (seg > 0).all():  # `log_returns` without its NaN masking, which positive prices never need
            lv = np.log(seg)
            r = lv[1:] - lv[:-1]
        else:
            r = log_returns(seg)
        for x in r.tolist():
            s2 = w + a * x * x + b * s2 if math.isfinite(x) else s2
    if not (s2 > 0 and math.isfinite(s2)):
        return GarchNow(math.nan, math.nan, "zero_volatility")
    periods = periods_per_year(step_s)
    sigma_ann = math.sqrt(s2) * math.sqrt(periods) if periods > 0 else math.nan  # `annualise_vol`
    return GarchNow(s2, sigma_ann, _label(g.reason))


def dynamics_figures(
    snap: Snapshot, models: RiskModels, fresh: dict[tuple[str, str], bool], sink: FigureSink, *, step_s: float
) -> dict[tuple[str, str], GarchNow]:
    age = (snap.taken_at_ns - models.fitted_at_ns) / 1e9 if models.fitted_at_ns else math.nan
    sink.add("risk_models_age_seconds", age, reason="" if models.fitted_at_ns else "not_fitted_yet")
    out: dict[tuple[str, str], GarchNow] = {}
    rows = FigureRows()  # columns per name, added once (FigureSink.add_many)
    for key, m in snap.marks.items():
        venue, symbol = key
        lab = {"venue": venue, "symbol": symbol}
        mark_ok = fresh.get((venue, f"mark:{symbol}"), False)
        model = models.markets.get(key)
        gn = out[key] = garch_now(model, snap.mark_grid.get(key), step_s)
        rows.add("volatility_garch_annualized_ratio", gn.sigma_ann, lab, fresh=mark_ok, reason=gn.reason)
        g = model.garch if model is not None else None
        persistence = g.alpha + g.beta if g is not None and has_params(g) else math.nan
        rows.add("garch_persistence_ratio", persistence, lab, reason=gn.reason if gn.reason else "")
        _ou(
            rows,
            snap,
            key,
            model,
            m.mark,
            lab,
            spot_ok=mark_ok and fresh.get((venue, f"book:spot:{symbol}"), False),
        )
        _settled(rows, snap, key, lab)
    rows.flush(sink)
    return out


def _ou(
    sink: FigureRows,
    snap: Snapshot,
    key: tuple[str, str],
    model: MarketModel | None,
    mark: float,
    lab: dict[str, str],
    *,
    spot_ok: bool,
) -> None:
    if model is None:
        why = "not_fitted_yet"
    elif key not in snap.spot_grid:
        why = "no_spot_history"
    else:
        why = _label(model.ou.reason)
    ou = model.ou if model is not None and not why else None
    spot = spot_mid(snap, *key)
    now = spot - mark if spot > 0 and mark > 0 else math.nan
    z = float(ou_zscore(now, ou)) if ou is not None else math.nan
    z_why = why or ("" if math.isfinite(z) else "no_spot_price")
    sink.add("basis_zscore", z, lab, fresh=spot_ok, reason=z_why)
    mr = math.nan if model is None or key not in snap.spot_grid or model.ou.reason not in (
        Reason.OK, Reason.NOT_MEAN_REVERTING) else float(model.ou.mean_reverting)  # fmt: skip
    sink.add("basis_mean_reverting", mr, lab, reason=why)
    nan = math.nan
    sink.add("basis_ou_half_life_seconds", ou.half_life_s if ou else nan, lab, reason=why)
    sink.add("basis_ou_theta_per_second", ou.theta if ou else nan, lab, reason=why)
    sink.add("basis_ou_mean_usd", ou.mu if ou else nan, lab, reason=why)
    sink.add("basis_ou_stationary_sd_usd", ou.stationary_sd if ou else nan, lab, reason=why)


def _settled(sink: FigureRows, snap: Snapshot, key: tuple[str, str], lab: dict[str, str]) -> None:
    s = snap.funding_settled.get(key)
    if s is None or s[1].size == 0:
        sink.add("funding_settled_rate_ratio", math.nan, lab, reason="no_settlement_seen")
        sink.add("funding_settled_timestamp_seconds", math.nan, lab, reason="no_settlement_seen")
        return
    # the venue's settled rate when its history was fetched; else the last estimate before the
    # settlement (it converges on the settled rate as the interval closes), said so in the reason
    why = "estimated_before_settlement" if snap.funding_settled_estimated.get(key, True) else ""
    sink.add("funding_settled_rate_ratio", float(s[1][-1]), lab, reason=why)
    sink.add("funding_settled_timestamp_seconds", int(s[0][-1]) / 1e9, lab, reason=why)
