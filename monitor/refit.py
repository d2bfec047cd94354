"""The slow models on a CPU budget: GARCH/OU per market, the book's history and Monte Carlo, off the loop.

Refitting everything at once every `refit_s` does not scale: at 600 symbols × 1,000 positions one
warm refit took 197 CPU seconds (655 % of a core at the old 300 s cadence), so it never kept up
and held a core the tick needed. Here the work is cut into jobs and paced:

- **Jobs.** One per market (its GARCH(1,1)-t warm-started from the last parameters, and its OU
  basis fit; ~10–30 ms each) and one for the book (return history for parametric/historical VaR,
  then Monte Carlo in slices of ~0.2 CPU s: a few steps of a chunk of paths, book_mc.slice_steps).
  Each slice runs in a worker thread (`asyncio.to_thread`) on a snapshot taken on the loop, and
  the finished model replaces the old one in a new `RiskModels` record the next tick reads.
- **Budget.** Each slice's cost is the worker thread's CPU time (`thread_cpu_ns`; one BLAS thread,
  so nothing runs unmeasured); after a slice of c CPU seconds that took w wall seconds the
  scheduler rests c / budget − w. So no slice starts while the refits are in debt: over any
  window the refits use at most `model_cpu_budget` × window plus one slice, whatever the book size.
  A thread slowed by the GIL or a busy box only makes the pace slower, never the share larger.
- **Order.** A job is due `refit_s` after it last finished; among due jobs the stalest runs first
  (never fitted before everything, markets before the book on a tie, so a new symbol is fitted
  before the Monte Carlo that needs it). Every job is served within one round of the others: a job
  that becomes due waits only for those due before it. A changed book makes the book job due
  `EARLY_REFIT_GAP_S` after its last run (VaR of a book the models never saw is not available).
- **Monte Carlo size.** Steps are fixed (var_horizon_s / volatility_sample_s: the GARCH parameters
  are per bar, and a coarser step would need a temporally aggregated GARCH and would miss LP touches
  between grid points), so the budget sizes the paths: per `refit_s` the budget pays
  `model_cpu_budget` × refit_s CPU seconds; the markets and the history take their measured cost
  and Monte Carlo gets what is left (less `HEADROOM`), priced at the measured cost per path of
  this book's shape (its first chunk measures it when the shape is new). The count is a level of
  `mc_paths` × 2^(−i/2), so small cost noise does not change the paths (`mc_seed` draws the same
  ones every refit); never below `mc_min_paths`: when even that does not fit, it runs at the floor,
  says `mc_over_budget` on the Monte Carlo figures, and the round takes longer instead.
- **Age.** Every model keeps its fit time (market_model_age_seconds, var_model_age_seconds). The
  round the budget plans is (every job's measured cost) / budget, at least refit_s; a model older
  than `STALE_ROUNDS` rounds has fallen behind what the budget allows (a fit failing each time, a
  starved thread), and the tick flags its figures `model_stale` (monitor/evaluation/model_age.py).

A failing job keeps the previous model (its age keeps growing until it is flagged) and is counted.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Protocol, TypeVar

import structlog

from monitor.clock import NS_PER_S, Clock, thread_cpu_ns
from monitor.config import EvaluationConfig
from monitor.evaluation.book_mc import lps_from_figures, prepare_monte_carlo
from monitor.evaluation.exposure import PositionKey, book_signature, market_exposures
from monitor.evaluation.models import (
    EMPTY_MODELS,
    MarketModel,
    ModelBudget,
    MonteCarloRun,
    ReturnHistory,
    RiskModels,
    book_history,
    fit_market,
    oldest_fit_ns,
)
from monitor.records import Figures
from monitor.refit_budget import BOOK, BudgetPlanner, MarketKey
from monitor.store.state import Snapshot

__all__ = ["BookMc", "FitMarket", "ModelRefresher", "PrepareBook", "fit_market_job", "prepare_book_job"]

log = structlog.get_logger(__name__)

T = TypeVar("T")

FIRST_FIT_AFTER_S = 5.0  # the first fit waits for a little history
BOOK_CHECK_S = 2.0  # how often the loop compares the book with the one the models simulated
EARLY_REFIT_GAP_S = 10.0  # a changed book refits early, but no sooner than this after the last run
SNAPSHOT_REUSE_S = 2.0  # market jobs share one snapshot this long (taking one at 600 symbols costs ms)
STALE_ROUNDS = 2.0  # a model older than this many planned rounds is flagged model_stale
SHARE_WINDOW_S = 60.0  # the CPU share reported is over this window


class BookMc(Protocol):
    """A prepared Monte Carlo run that the scheduler advances a chunk at a time (see McPlan)."""

    @property
    def shape(self) -> tuple[int, int, int]: ...
    @property
    def simulated(self) -> int: ...
    @property
    def done(self) -> bool: ...
    def resize(self, n_paths: int) -> None: ...
    def advance(self) -> int: ...
    def finish(self, confidences: tuple[float, ...], note: str = "") -> MonteCarloRun: ...


FitMarket = Callable[[Snapshot, EvaluationConfig, MarketKey, MarketModel | None], MarketModel]
PrepareBook = Callable[
    [Snapshot, EvaluationConfig, Mapping[MarketKey, MarketModel], Mapping[PositionKey, float], int],
    tuple[ReturnHistory, "MonteCarloRun | BookMc"],
]


def fit_market_job(
    snap: Snapshot, ev: EvaluationConfig, key: MarketKey, previous: MarketModel | None
) -> MarketModel:
    """One market's GARCH (warm-started from `previous`) and OU fits, stamped with the snapshot time."""
    return fit_market(
        snap.mark_grid[key], snap.spot_grid.get(key), ev.volatility_sample_s, ev.garch_min_obs, previous,
        snap.taken_at_ns,
    )  # fmt: skip


def prepare_book_job(
    snap: Snapshot,
    ev: EvaluationConfig,
    markets: Mapping[MarketKey, MarketModel],
    lps: Mapping[PositionKey, float],
    floor_paths: int,
) -> tuple[ReturnHistory, MonteCarloRun | BookMc]:
    """The book's return history, and its Monte Carlo prepared in budget chunks (or why there is none)."""
    plan = prepare_monte_carlo(snap, ev, markets, lps, n_paths=floor_paths, budget_floor=floor_paths)
    return book_history(snap, ev), plan


class ModelRefresher:
    """Holds the current `RiskModels`; `run()` refits its parts one job at a time within the CPU budget."""

    def __init__(
        self,
        clock: Clock,
        snapshot: Callable[[int], Snapshot],
        figures: Callable[[], Figures | None],
        config: Callable[[], EvaluationConfig],
        *,
        fit_market: FitMarket = fit_market_job,
        prepare_book: PrepareBook = prepare_book_job,
        cpu_ns: Callable[[], int] = thread_cpu_ns,
    ) -> None:
        self.models: RiskModels = EMPTY_MODELS
        self.refits = 0  # jobs finished (market fits and book runs)
        self.market_fits = 0
        self.book_fits = 0
        self.early_refits = 0  # book runs brought forward by a book change
        self.errors = 0
        self.cpu_s = 0.0  # CPU the refits used since start
        self.planner = BudgetPlanner()
        self._clock, self._snapshot, self._figures, self._config = clock, snapshot, figures, config
        self._fit_market, self._prepare_book, self._cpu_ns = fit_market, prepare_book, cpu_ns
        self._snap: Snapshot | None = None
        self._snap_mono = 0
        self._book_checked = -math.inf
        self._recent: deque[tuple[int, float]] = deque()  # (monotonic end, CPU s) of recent slices
        self._first_slice_ns: int | None = None
        self._job_cpu = 0.0  # CPU seconds of the job running now

    # ------------------------------------------------------------------ the cadence
    async def run(self) -> None:
        await self._clock.sleep(min(FIRST_FIT_AFTER_S, self._config().refit_s))
        while True:
            ev = self._config()  # re-read each job: a reload may change the budget or the cadence
            key = self._next()
            if key is None:
                due_s = self.planner.next_due_s(self._clock.monotonic_ns(), ev.refit_s)
                await self._clock.sleep(min(BOOK_CHECK_S, max(due_s, 0.01)))
                continue
            self._job_cpu = 0.0
            try:
                if key == BOOK:
                    await self._refit_book(ev)
                else:
                    await self._refit_market(ev, key)
            except Exception:  # a bug in a fit must not end the cadence; the old model stays
                self.errors += 1
                log.exception("risk model refit failed", market="/".join(key) if key != BOOK else "book")
            self.planner.finished(key, self._clock.monotonic_ns(), self._job_cpu)

    def _next(self) -> MarketKey | None:
        snap = self._cached_snapshot()
        self.planner.sync(list(snap.mark_grid))
        now = self._clock.monotonic_ns()
        ev = self._config()
        book = self.planner.jobs[BOOK]
        gap_ok = now - book.done_ns >= EARLY_REFIT_GAP_S * NS_PER_S
        if gap_ok and not self.planner.early_book and now - self._book_checked >= BOOK_CHECK_S * NS_PER_S:
            self._book_checked = now
            if book.done_ns > -math.inf and self.book_changed(snap):
                self.planner.early_book = True
                self.early_refits += 1
        return self.planner.next_job(now, ev.refit_s)

    def book_changed(self, snap: Snapshot | None = None) -> bool:
        """True when the book now differs from the one the current models simulated."""
        snap = snap if snap is not None else self._snapshot(self._clock.now_ns())
        return book_signature(market_exposures(snap)) != self.models.mc.book

    def _cached_snapshot(self) -> Snapshot:
        mono = self._clock.monotonic_ns()
        if self._snap is None or mono - self._snap_mono >= SNAPSHOT_REUSE_S * NS_PER_S:
            self._snap, self._snap_mono = self._snapshot(self._clock.now_ns()), mono
        return self._snap

    # ------------------------------------------------------------------ jobs
    async def _refit_market(self, ev: EvaluationConfig, key: MarketKey) -> None:
        snap = self._cached_snapshot()
        if key not in snap.mark_grid:
            return
        previous = self.models.markets.get(key)
        model = await self._slice(ev, lambda: self._fit_market(snap, ev, key, previous))
        markets = {k: m for k, m in self.models.markets.items() if k in snap.mark_grid}
        markets[key] = model
        self.market_fits += 1
        self.refits += 1
        self._publish(ev, markets=markets)

    async def _refit_book(self, ev: EvaluationConfig) -> None:
        snap = self._snapshot(self._clock.now_ns())  # the book as it is now, with the LPs of the last tick
        self._snap, self._snap_mono = snap, self._clock.monotonic_ns()
        lps = lps_from_figures(self._figures())
        markets = self.models.markets
        floor = min(ev.mc_min_paths, ev.mc_paths)
        history, plan = await self._slice(ev, lambda: self._prepare_book(snap, ev, markets, lps, floor))
        self._publish(ev, history=history)  # parametric and historical VaR need not wait for the paths
        prep_cpu = self._job_cpu
        if isinstance(plan, MonteCarloRun):
            mc = replace(plan, fitted_at_ns=snap.taken_at_ns)
        else:
            spent = 0.0  # CPU of the slices since the last chunk completed
            while plan.simulated == 0 and not plan.done:  # the first chunk prices a path of this shape
                before = self._job_cpu
                await self._slice(ev, plan.advance)
                spent += self._job_cpu - before
            self.planner.mc_measured(plan.shape, plan.simulated, spent)
            n, note = self.planner.mc_size(ev.model_cpu_budget, ev.refit_s, ev.mc_paths, floor)
            plan.resize(n)
            spent = 0.0
            while not plan.done:
                before = self._job_cpu
                added = await self._slice(ev, plan.advance)
                spent += self._job_cpu - before
                if added:
                    self.planner.mc_measured(plan.shape, added, spent)
                    spent = 0.0
            mc = replace(await self._slice(ev, lambda: plan.finish(ev.var_confidences, note)),
                         fitted_at_ns=snap.taken_at_ns)  # fmt: skip
        self._job_cpu = prep_cpu  # the book job's own cost; its paths are costed per path above
        self.book_fits += 1
        self.refits += 1
        self._publish(ev, mc=mc)

    async def _slice(self, ev: EvaluationConfig, fn: Callable[[], T]) -> T:
        """Run `fn` in a worker thread, add its CPU time to the job, then rest so the budget holds."""
        start = self._clock.monotonic_ns()
        if self._first_slice_ns is None:
            self._first_slice_ns = start
        out, err, cpu_ns = await asyncio.to_thread(self._measured, fn)
        end = self._clock.monotonic_ns()
        cpu_s = cpu_ns / NS_PER_S
        self._job_cpu += cpu_s
        self.cpu_s += cpu_s
        self._recent.append((end, cpu_s))
        wall_s = (end - start) / NS_PER_S
        await self._clock.sleep(max(0.0, cpu_s / ev.model_cpu_budget - wall_s))
        # the share and the plan stay current through a long Monte Carlo run, not only between jobs
        self.models = replace(self.models, budget=self.budget_state(ev))
        if err is not None:
            raise err
        return out  # type: ignore[return-value]  # set whenever err is None

    def _measured(self, fn: Callable[[], T]) -> tuple[T | None, Exception | None, int]:
        """In the worker thread: the result or the error, and the thread's CPU time it took."""
        c0 = self._cpu_ns()
        try:
            out = fn()
        except Exception as e:  # re-raised on the loop after the rest, so a failure is paced too
            return None, e, self._cpu_ns() - c0
        return out, None, self._cpu_ns() - c0

    # ------------------------------------------------------------------ the record the tick reads
    def _publish(
        self,
        ev: EvaluationConfig,
        *,
        markets: Mapping[MarketKey, MarketModel] | None = None,
        history: ReturnHistory | None = None,
        mc: MonteCarloRun | None = None,
    ) -> None:
        old = self.models
        mk = MappingProxyType(dict(markets)) if markets is not None else old.markets
        h = history if history is not None else old.history
        m = mc if mc is not None else old.mc
        self.models = RiskModels(
            fitted_at_ns=oldest_fit_ns(mk, h.fitted_at_ns, m.fitted_at_ns),
            step_s=ev.volatility_sample_s,
            markets=mk,
            history=h,
            mc=m,
            budget=self.budget_state(ev),
        )

    def budget_state(self, ev: EvaluationConfig) -> ModelBudget:
        now = self._clock.monotonic_ns()
        window_ns = int(SHARE_WINDOW_S * NS_PER_S)
        while self._recent and self._recent[0][0] < now - window_ns:
            self._recent.popleft()
        since = now - (self._first_slice_ns if self._first_slice_ns is not None else now)
        span_s = min(window_ns, since) / NS_PER_S
        share = sum(c for _, c in self._recent) / span_s if span_s > 0 else math.nan
        round_s = self.planner.round_s(ev.model_cpu_budget, ev.refit_s)
        return ModelBudget(stale_after_s=STALE_ROUNDS * round_s, round_s=round_s, cpu_share=share)
