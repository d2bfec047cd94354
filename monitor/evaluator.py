"""Evaluator: one immutable snapshot in, every figure out, with the tick's single `now`.

No I/O and no clock here: the formulas live in `risk/` as pure functions; this module only decides
which inputs each figure takes and whether those inputs were fresh.

Two kinds of tick. `evaluate` (the periodic grid) computes every figure. `frame` (a mark or account
frame just arrived, monitor/frames.py) recomputes only what such a frame moves and what alerts race
on: the account stage (margin ratio, liquidation price, distance in % and in sigma, headroom) on
the snapshot's marks, with each market's freshness, volatility and funding interval carried from
the last `evaluate` (monitor/evaluation/market_marks.py). Its columns replace the account stage's in
the last full Figures; every other figure stays as that tick made it. Within the account stage
only the accounts holding a market whose inputs moved (or whose own feed's freshness did) are
computed again, their rows written over the kept ones (monitor/evaluation/account_subset.py): a
Bybit frame or a wick moves one symbol, and the other accounts' figures cannot change. Binance's
`!markPrice@arr` burst moves every symbol, and then every account is computed, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Generator

from monitor.config import Config
from monitor.evaluation.account import AccountStage
from monitor.evaluation.account_bybit import bybit_model_venues
from monitor.evaluation.account_emit import ACCOUNT_FIGURES
from monitor.evaluation.book import book_figures, gone_figures
from monitor.evaluation.feeds import HeldStreams, expected_streams, feed_figures
from monitor.evaluation.funding_spread import funding_spread_figures
from monitor.evaluation.market import EwmaCache, MarketView, market_figures
from monitor.evaluation.market_marks import mark_views, new_markets
from monitor.evaluation.models import EMPTY_MODELS, RiskModels
from monitor.evaluation.risk_stage import RiskKept, risk_steps
from monitor.evaluation.sink import FigureSink, ShapeCache
from monitor.evaluation.stress import StressStage
from monitor.evaluation.var_check import VarSelfCheck
from monitor.figure_columns import FigureColumn, FigureItems
from monitor.records import Figures
from monitor.store.state import Snapshot

__all__ = ["Evaluator", "merge_columns"]

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
        self.frame_stages_ns: dict[str, int] = {}  # the last frame()'s, likewise
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
        self._risk_kept = RiskKept()  # the risk stage's caches: this evaluator's own
        # what a frame tick carries from the last full one: its market views and feed freshness
        self._views: dict[tuple[str, str], MarketView] | None = None
        self._fresh: dict[tuple[str, str], bool] = {}
        self._frame_shapes = ShapeCache()  # the frame ticks' own: their sinks hold only account columns
        # the names a frame tick replaces: the rules rescan only these (RuleEngine.step `replaced`)
        self.replaced: frozenset[str] = ACCOUNT_FIGURES

    def evaluate(self, snap: Snapshot, now_ns: int, models: RiskModels = EMPTY_MODELS) -> Figures:
        """`models`: the latest slow fits (monitor/refit.py); absent, their figures say not_fitted_yet."""
        steps = self.steps(snap, now_ns, models)
        while True:
            try:
                next(steps)
            except StopIteration as done:
                figures: Figures = done.value
                return figures

    def steps(
        self, snap: Snapshot, now_ns: int, models: RiskModels = EMPTY_MODELS
    ) -> Generator[str, bool | None, Figures]:
        """`evaluate` a stage at a time: yields each stage's name as it ends, returns the Figures.

        Send True on resuming after a pause (the stopwatch starts the next stage then); `next` when
        nothing ran in between.

        Why: at desk scale the whole evaluation holds the event loop for tens of milliseconds, and a
        crossing frame that lands meanwhile would wait for it; the loop runs a frame tick between
        two stages (monitor/loop.py). A frame tick between them reads only what the last *completed*
        evaluation left (`_views`, `_fresh`: set here after the join) and keeps its own sink shapes;
        the account stage's kept rows are compared input by input, so either order is exact.
        `stages_ns` counts each stage's own time, not the pauses between them.
        """
        sink = FigureSink(now_ns, self._shapes)
        ev = self._cfg.evaluation
        mark = _Stopwatch(self._monotonic_ns)
        if self._held.update(snap, self._expected, now_ns):
            self._expected_now = self._expected | self._held.limits
        fresh = feed_figures(snap, self._expected_now, self._started_ns or now_ns, sink, self._held.since_ns)
        if (yield mark("feeds")):  # resumed after a pause: that was no stage's time
            mark.resume()
        markets = market_figures(
            snap, fresh, sink, step_s=ev.volatility_sample_s, lam=ev.ewma_lambda, cache=self._ewma
        )
        if (yield mark("market")):
            mark.resume()
        self._accounts(snap, markets, fresh, sink, horizon_s=ev.horizon_s)
        if (yield mark("account")):
            mark.resume()
        book_figures(snap, markets, sink, fresh)
        if (yield mark("book")):
            mark.resume()
        funding_spread_figures(markets, sink)
        if (yield mark("funding_spread")):
            mark.resume()
        for _part in risk_steps(  # the long pole: cut in three, timed as one stage
            snap,
            markets,
            fresh,
            sink,
            models,
            ev,
            bybit_venues=self._bybit,
            var_check=self._var_check,
            kept=self._risk_kept,
        ):
            if (yield mark("risk")):
                mark.resume()
        gone_figures(snap, sink, GONE_RETENTION_S)
        if (yield mark("gone")):
            mark.resume()
        self._stress.run(snap, sink, fresh)
        if (yield mark("stress")):
            mark.resume()
        figures = sink.figures()  # the tick's one join of every column (evaluation/join.py)
        mark("join")
        self._views, self._fresh = markets, fresh  # what frame ticks carry from now on
        self.stages_ns = mark.stages
        return figures

    def frame(self, snap: Snapshot, now_ns: int, base: Figures | None) -> Figures | None:
        """`base` (the last full tick's Figures) with the account stage redone on `snap`'s marks.

        The account columns equal what `evaluate` would make at this snapshot while the carried
        inputs hold (no bar finished, no feed went stale or came back since the last full tick).
        None when a frame tick cannot stand in for a full one: no full tick yet, or a market the last
        full tick did not see (its volatility and freshness are not known) — the caller runs `evaluate`.
        """
        views = self._views
        if base is None or views is None or new_markets(snap, views):
            return None
        mark = _Stopwatch(self._monotonic_ns)
        markets = mark_views(snap, views)
        mark("marks")
        sink = FigureSink(now_ns, self._frame_shapes)
        horizon_s = self._cfg.evaluation.horizon_s
        self._accounts(snap, markets, self._fresh, sink, horizon_s=horizon_s, incremental=True)
        mark("account")
        figures = merge_columns(base, sink.columns(), now_ns)
        mark("merge")
        self.frame_stages_ns = mark.stages
        return figures


def merge_columns(base: Figures, account: dict[str, FigureColumn], now_ns: int) -> Figures:
    """`base` with the account stage's columns replaced by `account`'s, names kept in their place.

    A name of the account stage that `account` lacks is dropped (no row of it any more: the last
    isolated leg closed, no leg has both LPs); one `base` lacks goes last.
    """
    columns: dict[str, FigureColumn] = {}
    for name, col in base.columns.items():
        if name not in ACCOUNT_FIGURES:
            columns[name] = col
        elif name in account:
            columns[name] = account[name]
    for name, col in account.items():
        columns.setdefault(name, col)
    return Figures(taken_at_ns=now_ns, items=FigureItems(columns))


class _Stopwatch:
    """Split times between calls: `mark(name)` closes the stage that ran since the previous mark."""

    __slots__ = ("_last", "_now", "stages")

    def __init__(self, monotonic_ns: Callable[[], int] | None) -> None:
        self._now = monotonic_ns
        self._last = monotonic_ns() if monotonic_ns is not None else 0
        self.stages: dict[str, int] = {}

    def __call__(self, stage: str) -> str:
        """Close `stage` (a stage closed again adds up); the next counts from here, or from `resume`."""
        if self._now is not None:
            t = self._now()
            self.stages[stage] = self.stages.get(stage, 0) + t - self._last
            self._last = t
        return stage

    def resume(self) -> None:
        """The next stage starts now: what ran in between (a frame tick) is not its time."""
        if self._now is not None:
            self._last = self._now()
