"""The slow-model stages of a tick: GARCH and OU per market, VaR/ES of the book, advice figures.

One entry point so the evaluator names a single stage; each part lives in its own module
(dynamics, book_var, advice, proxy) and reads the `RiskModels` record the daemon refreshes off the loop.
"""

from __future__ import annotations

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

__all__ = ["risk_figures"]


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
    garch = dynamics_figures(snap, models, fresh, sink, step_s=ev.volatility_sample_s)
    book_var_figures(snap, models, fresh, sink, confidences=ev.var_confidences, check=var_check)
    model_age_figures(snap, models, sink, confidences=ev.var_confidences)  # after the figures it flags
    advice_figures(
        snap, markets, garch, sink, target_vol=ev.target_vol, shock=ev.shock, bybit_venues=bybit_venues
    )
    proxy_hedge_figures(snap, ev.proxy_hedges, sink, step_s=ev.volatility_sample_s)
