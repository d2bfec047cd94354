"""The slow-model stages of a tick: GARCH and OU per market, VaR/ES of the book, advice figures.

One entry point so the evaluator names a single stage; each part lives in its own module
(dynamics, book_var, advice, proxy) and reads the `RiskModels` record the daemon refreshes off the loop.
"""

from __future__ import annotations

from collections.abc import Iterator

from monitor.config import EvaluationConfig
from monitor.evaluation.advice import advice_figures
from monitor.evaluation.book_var import book_var_figures
from monitor.evaluation.dynamics import dynamics_figures
from monitor.evaluation.market import MarketView
from monitor.evaluation.model_age import model_age_figures
from monitor.evaluation.models import RiskModels
from monitor.evaluation.proxy import proxy_hedge_figures
from monitor.evaluation.sink import FigureSink
from monitor.evaluation.var_check import VarSelfCheck
from monitor.store.state import Snapshot

__all__ = ["RISK_STEPS", "risk_figures", "risk_steps"]

RISK_STEPS = ("risk.dynamics", "risk.var", "risk.advice")  # what `risk_steps` yields, in order


def risk_figures(
    snap: Snapshot,
    markets: dict[tuple[str, str], MarketView],
    fresh: dict[tuple[str, str], bool],
    sink: FigureSink,
    models: RiskModels,
    ev: EvaluationConfig,
    bybit_venues: frozenset[str] = frozenset(),
    var_check: VarSelfCheck | None = None,
) -> None:
    """`bybit_venues`: venues on Bybit's margin model (`account_bybit.bybit_model_venues`)."""
    for _ in risk_steps(snap, markets, fresh, sink, models, ev, bybit_venues, var_check):
        pass


def risk_steps(
    snap: Snapshot,
    markets: dict[tuple[str, str], MarketView],
    fresh: dict[tuple[str, str], bool],
    sink: FigureSink,
    models: RiskModels,
    ev: EvaluationConfig,
    bybit_venues: frozenset[str] = frozenset(),
    var_check: VarSelfCheck | None = None,
) -> Iterator[str]:
    """`risk_figures` in three parts, each named as it ends (`RISK_STEPS`): the longest stage of a
    desk-scale tick, cut so the evaluation loop can run a frame tick between them (monitor/loop.py)."""
    garch = dynamics_figures(snap, models, fresh, sink, step_s=ev.volatility_sample_s)
    yield RISK_STEPS[0]
    book_var_figures(snap, models, fresh, sink, confidences=ev.var_confidences, check=var_check)
    model_age_figures(snap, models, sink, confidences=ev.var_confidences)  # after the figures it flags
    yield RISK_STEPS[1]
    advice_figures(
        snap, markets, garch, sink, target_vol=ev.target_vol, shock=ev.shock, bybit_venues=bybit_venues
    )
    proxy_hedge_figures(snap, ev.proxy_hedges, sink, step_s=ev.volatility_sample_s)
    yield RISK_STEPS[2]
