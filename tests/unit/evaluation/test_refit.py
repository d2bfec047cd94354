"""The slow refit runs in a worker thread: the event loop keeps ticking while a fit is busy."""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Mapping

import pytest

from monitor.clock import ManualClock
from monitor.config import EvaluationConfig
from monitor.evaluation.exposure import PositionKey, book_signature, market_exposures
from monitor.evaluation.models import EMPTY_MODELS, MonteCarloRun, RiskModels
from monitor.records import Holding
from monitor.refit import BOOK_CHECK_S, EARLY_REFIT_GAP_S, ModelRefresher
from monitor.store.state import Snapshot, StateStore
from tests.unit.evaluation.world import config

TICKS_WHILE_FITTING = 20


async def test_loop_keeps_ticking_while_a_slow_fit_runs() -> None:
    """The fit waits until the loop ticked 20 times; run on the loop it would wait in vain and time out."""
    ticks = 0
    let_go = threading.Event()
    released_by_loop: list[bool] = []
    seen_on: list[int] = []

    def slow_fit(
        snap: Snapshot, ev: EvaluationConfig, prev: RiskModels, lps: Mapping[PositionKey, float]
    ) -> RiskModels:
        seen_on.append(threading.get_ident())
        released_by_loop.append(let_go.wait(timeout=10.0))
        return RiskModels(fitted_at_ns=snap.taken_at_ns, step_s=ev.volatility_sample_s)

    async def ticker() -> None:
        nonlocal ticks
        while not let_go.is_set():
            ticks += 1
            if ticks >= TICKS_WHILE_FITTING:
                let_go.set()
            await asyncio.sleep(0.001)

    clock = ManualClock()
    cfg = config()
    ref = ModelRefresher(clock, StateStore().snapshot, lambda: None, lambda: cfg.evaluation, fit=slow_fit)
    assert ref.models is EMPTY_MODELS
    tick_task = asyncio.create_task(ticker())
    await ref.refresh()
    await tick_task
    assert released_by_loop == [True]
    assert seen_on[0] != threading.get_ident()
    assert ticks >= TICKS_WHILE_FITTING
    assert ref.models.fitted_at_ns == clock.now_ns() and ref.refits == 1


async def test_a_failing_fit_keeps_the_previous_models() -> None:
    calls = 0
    good = RiskModels(fitted_at_ns=1, step_s=60.0)

    def flaky(
        snap: Snapshot, ev: EvaluationConfig, prev: RiskModels, lps: Mapping[PositionKey, float]
    ) -> RiskModels:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("a bug in a fit")
        return good

    clock = ManualClock()
    cfg = config(refit_s=10.0)
    ref = ModelRefresher(clock, StateStore().snapshot, lambda: None, lambda: cfg.evaluation, fit=flaky)
    task = asyncio.create_task(ref.run())
    for _ in range(200):
        if calls >= 3:
            break
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls >= 3 and ref.errors == 1 and ref.models is good


async def test_a_changed_book_brings_the_refit_forward() -> None:
    """A holding that arrives during a fit makes the next refit come after 10 s, not refit_s (300 s)."""
    clock = ManualClock()
    st = StateStore()
    fits: list[int] = []

    def fit(
        snap: Snapshot, ev: EvaluationConfig, prev: RiskModels, lps: Mapping[PositionKey, float]
    ) -> RiskModels:
        fits.append(clock.monotonic_ns())
        if len(fits) == 1:  # the book changes while the first fit runs
            t = clock.now_ns()
            st.put(
                Holding(
                    venue="config",
                    ts_event_ns=t,
                    ts_recv_ns=t,
                    name="custody",
                    asset="BTC",
                    quantity=5.0,
                    price_venue="binance",
                    price_symbol="BTCUSDT",
                )
            )
        return RiskModels(
            fitted_at_ns=snap.taken_at_ns, mc=MonteCarloRun(book=book_signature(market_exposures(snap)))
        )

    cfg = config(refit_s=300.0)
    ref = ModelRefresher(clock, st.snapshot, lambda: None, lambda: cfg.evaluation, fit=fit)
    task = asyncio.create_task(ref.run())
    for _ in range(2_000):
        if len(fits) >= 3:
            break
        await asyncio.sleep(0.001)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gaps = [(b - a) / 1e9 for a, b in itertools.pairwise(fits[:3])]
    assert EARLY_REFIT_GAP_S <= gaps[0] < EARLY_REFIT_GAP_S + BOOK_CHECK_S + 1e-9
    assert gaps[1] >= 300.0  # the book did not change again: back to the cadence
    assert ref.early_refits == 1
