"""The forecast volatility the advice figures (hedge, sizing) read per market: GARCH, else EWMA.

Why its own module: the forecast is one job with its own kept state (`_ForecastPlan`, the GARCH
part per key tuple while dynamics.py hands back the same record), read by the hedge and sizing
figures of monitor/evaluation/advice.py. Split from advice.py (issue 16: no module over 400
lines), bodies unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from monitor.evaluation.dynamics import garch_kept
from monitor.evaluation.garch_forecast import GarchNow
from monitor.evaluation.market import MarketView

if TYPE_CHECKING:
    from monitor.evaluation.advice_kept import AdviceKept

__all__ = ["forecast_vol"]


def forecast_vol(
    key: tuple[str, str],
    garch: Mapping[tuple[str, str], GarchNow],
    markets: Mapping[tuple[str, str], MarketView],
) -> tuple[float, str]:
    """Annualised forecast σ of a market: GARCH, else EWMA (flagged), else not available."""
    g = garch.get(key)
    if g is not None and math.isfinite(g.sigma_ann):
        return g.sigma_ann, ""
    mv = markets.get(key)
    if mv is not None and math.isfinite(mv.sigma_ann):
        return mv.sigma_ann, "ewma_fallback"
    return math.nan, (g.reason if g is not None and g.reason else "no_volatility")


def _forecasts(
    keys: Sequence[tuple[str, str]],
    garch: Mapping[tuple[str, str], GarchNow],
    markets: Mapping[tuple[str, str], MarketView],
    kept: AdviceKept,
) -> tuple[list[float], list[str]]:
    """`forecast_vol` of many markets: their σ and reasons (inlined: a thousand calls a tick).

    A market whose GARCH σ is finite takes it whatever the EWMA says, so while the same `garch`
    record and key tuple come back (dynamics.py hands the same record back until a bar finishes)
    only the other markets are looked up again (`_ForecastPlan`).
    """
    plan = kept.forecast.find(garch, keys)
    sigma, why, rest = list(plan[1]), list(plan[2]), plan[3]
    isfinite = math.isfinite
    for j in rest:
        key = keys[j]
        mv = markets.get(key)
        if mv is not None and isfinite(mv.sigma_ann):
            sigma[j] = mv.sigma_ann
            why[j] = "ewma_fallback"
            continue
        g = garch.get(key)
        why[j] = g.reason if g is not None and g.reason else "no_volatility"
    return sigma, why


_Plan = tuple[Sequence[tuple[str, str]], list[float], list[str], list[int]]


class _ForecastPlan:
    """The GARCH part of `_forecasts` per key tuple (hedge assets, legs' markets), for one garch record.

    Kept only for the mapping dynamics.py keeps and never writes (`garch_kept`); a few key tuples,
    the newest first.
    """

    _SLOTS = 4

    def __init__(self) -> None:
        self.garch: object = None
        self.plans: tuple[_Plan, ...] = ()

    def find(self, garch: Mapping[tuple[str, str], GarchNow], keys: Sequence[tuple[str, str]]) -> _Plan:
        kept = garch_kept(garch)
        if self.garch is not garch or not kept:
            self.garch, self.plans = (garch if kept else None), ()
        for plan in self.plans:
            if plan[0] is keys:
                return plan
        plan = (keys, *_garch_part(keys, garch))
        if kept:
            self.plans = (plan, *self.plans[: self._SLOTS - 1])
        return plan


def _garch_part(
    keys: Sequence[tuple[str, str]], garch: Mapping[tuple[str, str], GarchNow]
) -> tuple[list[float], list[str], list[int]]:
    """Per market its finite GARCH σ and "" (else NaN and ""), and the markets without one."""
    sigma: list[float] = []
    why: list[str] = []
    rest: list[int] = []
    isfinite = math.isfinite
    for j, key in enumerate(keys):
        g = garch.get(key)
        if g is not None and isfinite(g.sigma_ann):
            sigma.append(g.sigma_ann)
        else:
            sigma.append(math.nan)
            rest.append(j)
        why.append("")
    return sigma, why, rest
