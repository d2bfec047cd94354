"""Evaluator: one immutable snapshot in, every figure out, with the tick's single `now`.

No I/O and no clock here: the formulas live in `risk/` as pure functions; this module only decides
which inputs each figure takes and whether those inputs were fresh.
"""

from __future__ import annotations

from collections.abc import Callable

from monitor.config import Config
from monitor.evaluation.account import AccountStage
from monitor.evaluation.account_bybit import bybit_model_venues
from monitor.evaluation.book import book_figures, gone_figures
from monitor.evaluation.feeds import HeldStreams, expected_streams, feed_figures
from monitor.evaluation.funding_spread import funding_spread_figures
from monitor.evaluation.market import EwmaCache, market_figures
from monitor.evaluation.models import EMPTY_MODELS, RiskModels
from monitor.evaluation.risk_stage import risk_figures
from monitor.evaluation.sink import FigureSink, ShapeCache
from monitor.evaluation.stress import StressStage
from monitor.evaluation.var_check import VarSelfCheck
from monitor.records import Figures
from monitor.store.state import Snapshot

__all__ = ["Evaluator"]

GONE_RETENTION_S = 900.0  # how long a vanished position keeps its alert figure


class Evaluator:
    def __init__(
        self, cfg: Config, started_ns: int = 0, monotonic_ns: Callable[[], int] | None = None
    ) -> None:
        """`monotonic_ns`: the daemon's clock, to time each stage (`stages_ns`); None times nothing.

        Timing reads a counter the caller passes in, so the evaluator stays free of I/O and of any
        clock of its own, and a ManualClock-driven tick reports the durations the test made.
        """
        self._cfg = cfg
        self._monotonic_ns = monotonic_ns
        self.stages_ns: dict[str, int] = {}  # the last evaluate()'s stages, in order; empty untimed
        self._expected = expected_streams(cfg)
        self._held = HeldStreams(cfg)  # streams of symbols held beyond the config (collectors.held)
        self._expected_now = self._expected
        self._started_ns = started_ns
        self._shapes = ShapeCache()  # the figures' keys, rebuilt only when the book's shape changes
        self._bybit = bybit_model_venues(cfg.venues)  # Bybit's margin model
        self._stress = StressStage(cfg.evaluation.stress_interval_s, self._bybit)  # slow cadence
        self._ewma = EwmaCache()  # volatility carried from tick to tick (market.py)
        self._accounts = AccountStage(self._bybit)  # keeps the book's columns between ticks
        ev = cfg.evaluation  # the book's VaR scored against its own PnL, step by step (var_check.py)
        self._var_check = VarSelfCheck(ev.volatility_sample_s, ev.var_confidences)

    def evaluate(self, snap: Snapshot, now_ns: int, models: RiskModels = EMPTY_MODELS) -> Figures:
        """`models`: the latest slow fits (monitor/refit.py); absent, their figures say not_fitted_yet."""
        sink = FigureSink(now_ns, self._shapes)
        ev = self._cfg.evaluation
        mark = _Stopwatch(self._monotonic_ns)
        if self._held.update(snap, self._expected, now_ns):
            self._expected_now = self._expected | self._held.limits
        fresh = feed_figures(snap, self._expected_now, self._started_ns or now_ns, sink, self._held.since_ns)
        mark("feeds")
        markets = market_figures(
            snap, fresh, sink, step_s=ev.volatility_sample_s, lam=ev.ewma_lambda, cache=self._ewma
        )
        mark("market")
        self._accounts(snap, markets, fresh, sink, horizon_s=ev.horizon_s)
        mark("account")
        book_figures(snap, markets, sink, fresh)
        mark("book")
        funding_spread_figures(markets, sink)
        mark("funding_spread")
        risk_figures(
            snap, markets, fresh, sink, models, ev, bybit_venues=self._bybit, var_check=self._var_check
        )
        mark("risk")
        gone_figures(snap, sink, GONE_RETENTION_S)
        mark("gone")
        self._stress.run(snap, sink, fresh)
        mark("stress")
        self.stages_ns = mark.stages
        return sink.figures()


class _Stopwatch:
    """Split times between calls: `mark(name)` closes the stage that ran since the previous mark."""

    __slots__ = ("_last", "_now", "stages")

    def __init__(self, monotonic_ns: Callable[[], int] | None) -> None:
        self._now = monotonic_ns
        self._last = monotonic_ns() if monotonic_ns is not None else 0
        self.stages: dict[str, int] = {}

    def __call__(self, stage: str) -> None:
        if self._now is None:
            return
        t = self._now()
        self.stages[stage] = t - self._last
        self._last = t
