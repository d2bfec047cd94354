"""The slow-model stages of a tick: GARCH and OU per market, VaR/ES of the book, advice figures.

One entry point so the evaluator names a single stage; each part lives in its own module
(dynamics, book_var, advice, proxy) and reads the `RiskModels` record the daemon refreshes off the loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from monitor.config import EvaluationConfig
from monitor.evaluation.advice import advice_figures
from monitor.evaluation.advice_kept import AdviceKept
from monitor.evaluation.book_var import BookVarKept, book_var_figures
from monitor.evaluation.dynamics import DynamicsKept, dynamics_figures
from monitor.evaluation.market import MarketView
from monitor.evaluation.model_age import ModelAgeKept, model_age_figures
from monitor.evaluation.models import RiskModels
from monitor.evaluation.proxy import proxy_hedge_figures
from monitor.evaluation.sink import FigureSink
from monitor.evaluation.var_check import VarSelfCheck
from monitor.store.state import Snapshot

__all__ = ["RISK_STEPS", "RiskKept", "risk_figures", "risk_steps"]


@dataclass(slots=True)
class RiskKept:
    """What the risk stage's parts carry from tick to tick, one per evaluator: two daemons in one
    process must not share it (each part's entries are keyed by what they were made from, so a
    shared one was correct, only slower). Still module-level: kept_book `_Compared` (a memo of one
    comparison holding the records it compared) and the symbol → asset names of advice `_ASSETS`."""

    dynamics: DynamicsKept = field(default_factory=DynamicsKept)
    book_var: BookVarKept = field(default_factory=BookVarKept)
    model_age: ModelAgeKept = field(default_factory=ModelAgeKept)
    advice: AdviceKept = field(default_factory=AdviceKept)


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
    kept: RiskKept | None = None,
) -> None:
    """`bybit_venues`: venues on Bybit's margin model (`account_bybit.bybit_model_venues`); `kept`:
    the evaluator's `RiskKept` (None: the parts' shared defaults, for callers without one)."""
    for _ in risk_steps(snap, markets, fresh, sink, models, ev, bybit_venues, var_check, kept):
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
    kept: RiskKept | None = None,
) -> Iterator[str]:
    """`risk_figures` in three parts, each named as it ends (`RISK_STEPS`): the longest stage of a
    desk-scale tick, cut so the evaluation loop can run a frame tick between them (monitor/loop.py)."""
    garch = dynamics_figures(
        snap,
        models,
        fresh,
        sink,
        step_s=ev.volatility_sample_s,
        kept=kept.dynamics if kept is not None else None,
    )
    yield RISK_STEPS[0]
    book_var_figures(
        snap,
        models,
        fresh,
        sink,
        confidences=ev.var_confidences,
        check=var_check,
        kept=kept.book_var if kept is not None else None,
    )
    model_age_figures(  # after the figures it flags
        snap, models, sink, confidences=ev.var_confidences, kept=kept.model_age if kept is not None else None
    )
    yield RISK_STEPS[1]
    advice_figures(
        snap,
        markets,
        garch,
        sink,
        target_vol=ev.target_vol,
        shock=ev.shock,
        bybit_venues=bybit_venues,
        kept=kept.advice if kept is not None else None,
    )
    proxy_hedge_figures(snap, ev.proxy_hedges, sink, step_s=ev.volatility_sample_s)
    yield RISK_STEPS[2]
