"""The slow models run off the loop, one paced job at a time, within their CPU budget.

Jobs here are fakes that "spend" a given CPU time on an injected CPU clock, and the scheduler
runs on a ManualClock (its rests advance time, nothing sleeps): the budget, the order of the jobs
and the Monte Carlo size are checked against those known costs.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import math
import threading
from collections.abc import Callable, Mapping

import numpy as np
import pytest

from monitor.clock import NS_PER_S, ManualClock
from monitor.config import EvaluationConfig
from monitor.evaluation.exposure import PositionKey, book_signature, market_exposures
from monitor.evaluation.models import EMPTY_MODELS, MarketModel, MonteCarloRun, ReturnHistory
from monitor.records import Holding
from monitor.refit import BOOK_CHECK_S, EARLY_REFIT_GAP_S, STALE_ROUNDS, ModelRefresher
from monitor.refit_budget import BOOK, HEADROOM, BudgetPlanner, path_levels
from monitor.risk.basis import ou_fit
from monitor.risk.garch import fit_garch
from monitor.store.state import Snapshot, StateStore
from tests.unit.evaluation.world import config

MKey = tuple[str, str]
TICKS_WHILE_FITTING = 20


class FakeCpu:
    """A thread CPU clock that moves only when a fake job spends time."""

    def __init__(self) -> None:
        self.ns = 0

    def __call__(self) -> int:
        return self.ns

    def spend(self, seconds: float) -> None:
        self.ns += round(seconds * NS_PER_S)


class FakeMc:
    """A Monte Carlo run whose paths cost `per_path_s` each, in chunks of `chunk` paths."""

    def __init__(
        self, cpu: FakeCpu, per_path_s: float, chunk: int, n_paths: int, sig: tuple[object, ...]
    ) -> None:
        self.cpu, self.per_path_s, self.chunk, self.n_paths, self.sig = cpu, per_path_s, chunk, n_paths, sig
        self.simulated = 0
        self.shape = (60, 3, 2)
        self.sizes: list[int] = []

    @property
    def done(self) -> bool:
        return self.simulated >= self.n_paths

    def resize(self, n_paths: int) -> None:
        self.sizes.append(n_paths)
        self.n_paths = max(n_paths, self.simulated)

    def advance(self) -> int:
        n = min(self.chunk, self.n_paths - self.simulated)
        self.cpu.spend(n * self.per_path_s)
        self.simulated += n
        return n

    def finish(self, confidences: tuple[float, ...], note: str = "") -> MonteCarloRun:
        return MonteCarloRun(reason="", note=note, book=self.sig, n_paths=self.simulated, steps=60)


def _model(snap: Snapshot) -> MarketModel:
    return MarketModel(
        garch=fit_garch(np.zeros(0)),
        last_bar_ns=0,
        ou=ou_fit(np.zeros(0), 60.0),
        fitted_at_ns=snap.taken_at_ns,
    )


class World:
    """N markets in the snapshot, fake jobs with known costs, and the log of what ran when."""

    def __init__(self, costs: dict[MKey, float], book_cost: float = 0.05, **ev: object) -> None:
        self.clock = ManualClock()
        self.cpu = FakeCpu()
        self.store = StateStore()
        self.costs = dict(costs)
        self.book_cost = book_cost
        self.log: list[tuple[MKey, int, float]] = []  # (job, monotonic start, CPU s)
        self.mc_per_path_s = 0.0
        self.mcs: list[FakeMc] = []
        self.fail: set[MKey] = set()
        self.ev: EvaluationConfig = config(**ev).evaluation  # type: ignore[arg-type]
        self.ref = ModelRefresher(
            self.clock,
            self.snapshot,
            lambda: None,
            lambda: self.ev,
            fit_market=self.fit_market,
            prepare_book=self.prepare_book,
            cpu_ns=self.cpu,
        )

    def snapshot(self, now_ns: int) -> Snapshot:
        snap = self.store.snapshot(now_ns)
        grid = (np.zeros(0, dtype=np.int64), np.zeros(0))
        return dataclasses.replace(snap, mark_grid={k: grid for k in self.costs})

    def fit_market(
        self, snap: Snapshot, ev: EvaluationConfig, key: MKey, previous: MarketModel | None
    ) -> MarketModel:
        self.log.append((key, self.clock.monotonic_ns(), self.costs[key]))
        self.cpu.spend(self.costs[key])
        if key in self.fail:
            raise RuntimeError("a bug in a fit")
        return _model(snap)

    def prepare_book(
        self,
        snap: Snapshot,
        ev: EvaluationConfig,
        markets: Mapping[MKey, MarketModel],
        lps: Mapping[PositionKey, float],
        floor: int,
    ) -> tuple[ReturnHistory, MonteCarloRun | FakeMc]:
        self.log.append((BOOK, self.clock.monotonic_ns(), self.book_cost))
        self.cpu.spend(self.book_cost)
        sig = book_signature(market_exposures(snap))
        history = ReturnHistory(reason="no_position", fitted_at_ns=snap.taken_at_ns)
        if not self.mc_per_path_s:
            return history, MonteCarloRun(reason="no_position", book=sig)
        mc = FakeMc(self.cpu, self.mc_per_path_s, 100, floor, sig)
        self.mcs.append(mc)
        return history, mc

    async def run_until(self, done: Callable[[], bool], limit_s: float = 60.0) -> None:
        """Yield to the scheduler until `done`; bounded in wall time, not in turns: its fits run
        in a worker thread, and on a loaded box 100,000 turns of the loop ended before one did."""
        task = asyncio.create_task(self.ref.run())
        loop = asyncio.get_running_loop()
        end = loop.time() + limit_s
        while not done() and loop.time() < end:  # noqa: ASYNC110 - polls a counter, no event to wait on
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert done(), "the scheduler did not get there"


def markets(n: int, cost: float | Callable[[int], float] = 0.05) -> dict[MKey, float]:
    return {("binance", f"S{i:03d}USDT"): cost(i) if callable(cost) else cost for i in range(n)}


async def test_the_refits_never_spend_more_than_their_budget_over_any_window() -> None:
    """40 markets of 10–190 ms each need ~4 CPU s a round: far more than 25 % of 10 s; the pace holds."""
    w = World(markets(40, lambda i: 0.01 + 0.02 * (i % 10)), book_cost=0.3, refit_s=10.0)
    await w.run_until(lambda: len(w.log) >= 400)
    budget = w.ev.model_cpu_budget
    assert budget == 0.25  # the default
    starts = [t for _, t, _ in w.log]
    costs = [c for _, _, c in w.log]
    used = [0.0, *itertools.accumulate(costs)]
    for i, k in itertools.combinations(range(len(w.log)), 2):
        # the jobs started in [t_i, t_k) used at most budget × (t_k − t_i) CPU seconds
        assert used[k] - used[i] <= budget * (starts[k] - starts[i]) / NS_PER_S + 1e-9
    span = (starts[-1] - starts[0]) / NS_PER_S
    assert used[-2] / span == pytest.approx(budget, rel=1e-6)  # always busy: exactly the budget
    assert used[-2] - 1e-9 <= w.ref.cpu_s <= used[-1] + 1e-9 and w.ref.errors == 0


async def test_every_market_is_served_each_round_the_stalest_first() -> None:
    """Never-fitted markets first (before the book), then strict round-robin by the last fit."""
    w = World(markets(25), book_cost=0.05, refit_s=5.0)  # a round needs 1.3 CPU s = 5.2 s > refit_s
    await w.run_until(lambda: len(w.log) >= 26 * 6)
    keys = [k for k, _, _ in w.log]
    assert keys[:25] == sorted(w.costs) and keys[25] == BOOK
    last: dict[MKey, float] = dict.fromkeys([*w.costs, BOOK], -math.inf)
    for key, start, _ in w.log:
        assert last[key] == min(last.values()), f"{key} ran before a staler job"
        last[key] = start
    for window in itertools.pairwise(range(0, len(keys) - 26, 26)):  # every 26 consecutive jobs: all of them
        assert set(keys[window[0] : window[1]]) == {*w.costs, BOOK}


async def test_a_new_market_is_fitted_before_the_ones_already_fitted() -> None:
    w = World(markets(10), refit_s=1.0)
    await w.run_until(lambda: len(w.log) >= 30)
    new = ("binance", "NEWUSDT")
    w.costs[new] = 0.05
    n = len(w.log)
    await w.run_until(lambda: new in [k for k, _, _ in w.log])
    # picked up with the next snapshot (reused at most SNAPSHOT_REUSE_S): within a few jobs, not a round
    assert [k for k, _, _ in w.log[n:]].index(new) <= 8


async def test_monte_carlo_is_sized_to_what_the_budget_leaves() -> None:
    """The paths grow with the budget; the run's figures say the size; the floor is kept and flagged."""
    paths: dict[float, int] = {}
    notes: dict[float, str] = {}
    for budget in (0.05, 0.25, 0.5, 1.0):
        w = World(markets(10, 0.05), book_cost=0.1, refit_s=60.0, model_cpu_budget=budget, mc_paths=20_000)
        w.mc_per_path_s = 0.002  # 20,000 paths would cost 40 CPU s
        await w.run_until(lambda w=w: w.ref.book_fits >= 2)  # type: ignore[misc]
        paths[budget] = w.ref.models.mc.n_paths
        notes[budget] = w.ref.models.mc.note
        # the run's own size is what the planner chose from the measured costs
        left = HEADROOM * budget * 60.0 - 10 * 0.05 - 0.1
        levels = path_levels(20_000, 1_000)
        expect = next((n for n in levels if n * 0.002 <= left + 1e-9), 1_000)
        assert paths[budget] == expect
    assert paths[0.05] == 1_000 and notes[0.05] == "mc_over_budget"  # 2 CPU s left: below the floor's
    assert paths[0.25] < paths[0.5] < paths[1.0] and notes[0.25] == notes[1.0] == ""
    assert paths[1.0] <= 20_000


def test_path_levels_and_the_planners_choice() -> None:
    assert path_levels(10_000, 1_000) == [10_000, 7_071, 5_000, 3_536, 2_500, 1_768, 1_250, 1_000]
    assert path_levels(500, 1_000) == [500]  # a floor above the maximum: the maximum
    p = BudgetPlanner()
    p.sync([("v", "A"), ("v", "B")])
    p.finished(("v", "A"), 0, 1.0)
    p.finished(("v", "B"), 0, 1.0)
    p.mc_measured((10, 1, 1), 100, 0.1)  # 1 ms per path
    assert p.mc_size(0.5, 100.0, 10_000, 1_000) == (10_000, "")  # 38 CPU s left: the maximum
    assert p.mc_size(0.1, 100.0, 10_000, 1_000) == (5_000, "")  # 6 CPU s left
    assert p.mc_size(0.01, 100.0, 10_000, 1_000) == (1_000, "mc_over_budget")
    # the round: every job at the budget, at least refit_s
    assert p.round_s(0.01, 100.0) == pytest.approx((2.0 + 1.0) / 0.01)
    assert p.round_s(1.0, 100.0) == 100.0


async def test_the_age_limit_is_two_planned_rounds() -> None:
    w = World(markets(20, 0.1), book_cost=0.1, refit_s=4.0)  # a round: 2.1 CPU s / 0.25 = 8.4 s
    await w.run_until(lambda: w.ref.book_fits >= 2)
    b = w.ref.models.budget
    assert b.round_s == pytest.approx(2.1 / 0.25)
    assert b.stale_after_s == pytest.approx(STALE_ROUNDS * b.round_s)
    assert b.cpu_share == pytest.approx(0.25, rel=0.05)


async def test_loop_keeps_ticking_while_a_slow_fit_runs() -> None:
    """The fit waits until the loop ticked 20 times; run on the loop it would wait in vain and time out."""
    ticks = 0
    let_go = threading.Event()
    released_by_loop: list[bool] = []
    seen_on: list[int] = []
    w = World(markets(1))

    def slow_fit(
        snap: Snapshot, ev: EvaluationConfig, key: MKey, previous: MarketModel | None
    ) -> MarketModel:
        seen_on.append(threading.get_ident())
        released_by_loop.append(let_go.wait(timeout=10.0))
        return _model(snap)

    async def ticker() -> None:
        nonlocal ticks
        while not let_go.is_set():
            ticks += 1
            if ticks >= TICKS_WHILE_FITTING:
                let_go.set()
            await asyncio.sleep(0.001)

    w.ref._fit_market = slow_fit
    assert w.ref.models is EMPTY_MODELS
    tick_task = asyncio.create_task(ticker())
    await w.run_until(lambda: w.ref.market_fits >= 1)
    await tick_task
    assert released_by_loop[0] is True
    assert seen_on[0] != threading.get_ident()
    assert ticks >= TICKS_WHILE_FITTING
    assert w.ref.models.markets[("binance", "S000USDT")].fitted_at_ns > 0


async def test_a_failing_fit_keeps_the_previous_model_and_its_age() -> None:
    w = World(markets(3), refit_s=1.0)
    key = ("binance", "S001USDT")
    await w.run_until(lambda: w.ref.market_fits >= 3)
    first = w.ref.models.markets[key]
    w.fail.add(key)
    await w.run_until(lambda: w.ref.errors >= 2)
    assert w.ref.models.markets[key] is first  # the old fit stays, so its age keeps growing
    others = [m.fitted_at_ns for k, m in w.ref.models.markets.items() if k != key]
    assert min(others) > first.fitted_at_ns
    assert w.ref.models.fitted_at_ns == first.fitted_at_ns  # risk_models_age_seconds: the oldest in use


async def test_a_changed_book_brings_the_book_refit_forward() -> None:
    """A holding that arrives during the book job makes the next one come after 10 s, not refit_s (300 s)."""
    w = World(markets(1, 0.001), book_cost=0.001, refit_s=300.0)
    books: list[int] = []
    inner = w.prepare_book

    def prepare(
        snap: Snapshot,
        ev: EvaluationConfig,
        mk: Mapping[MKey, MarketModel],
        lps: Mapping[PositionKey, float],
        floor: int,
    ) -> tuple[ReturnHistory, MonteCarloRun | FakeMc]:
        books.append(w.clock.monotonic_ns())
        out = inner(snap, ev, mk, lps, floor)
        if len(books) == 1:  # the book changes while the first book job runs
            t = w.clock.now_ns()
            w.store.put(Holding(venue="config", ts_event_ns=t, ts_recv_ns=t, name="custody", asset="BTC",
                                quantity=5.0, price_venue="binance", price_symbol="BTCUSDT"))  # fmt: skip
        return out

    w.ref._prepare_book = prepare
    await w.run_until(lambda: len(books) >= 3)
    gaps = [(b - a) / 1e9 for a, b in itertools.pairwise(books[:3])]
    assert EARLY_REFIT_GAP_S <= gaps[0] < EARLY_REFIT_GAP_S + BOOK_CHECK_S + 1.0
    assert gaps[1] >= 300.0  # the book did not change again: back to the cadence
    assert w.ref.early_refits == 1


async def test_the_real_jobs_on_a_budget_give_the_reference_models() -> None:
    """The daemon's jobs (real fits, Monte Carlo in slices sized by the budget) against refresh_models."""
    from monitor.evaluation.book_mc import lps_from_figures
    from monitor.evaluation.models import refresh_models
    from monitor.evaluator import Evaluator
    from tests.unit.evaluation.world import T0, bar_ns, path, put_bars, put_book, store

    cfg = config(mc_paths=4_000, mc_min_paths=500)
    marks, basis = path(402)
    st = store()
    put_bars(st, marks, basis, 0, 401)
    now = bar_ns(401)
    put_book(st, now)
    first = Evaluator(cfg, started_ns=T0).evaluate(st.snapshot(now), now)
    clock = ManualClock(now)
    ref = ModelRefresher(clock, lambda t: st.snapshot(now), lambda: first, lambda: cfg.evaluation)
    task = asyncio.create_task(ref.run())
    for _ in range(20_000):
        if ref.book_fits:
            break
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    got = ref.models
    want = refresh_models(st.snapshot(now), cfg.evaluation, EMPTY_MODELS, lps_from_figures(first))
    key = ("binance", "BTCUSDT")
    assert got.markets[key].garch == want.markets[key].garch and got.markets[key].ou == want.markets[key].ou
    assert np.array_equal(got.history.returns, want.history.returns)
    mc = got.mc
    assert mc.reason == "" and mc.n_paths in path_levels(4_000, 500) and mc.steps == 60
    for alpha, res in mc.results.items():
        ref_res = want.mc.results[alpha]
        assert math.isfinite(res.var) and res.var_se > 0
        assert abs(res.var - ref_res.var) < 5 * math.hypot(
            res.var_se, ref_res.var_se
        )  # other paths, same law
    assert got.budget.stale_after_s >= STALE_ROUNDS * cfg.evaluation.refit_s
