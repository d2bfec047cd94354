"""The start-up backfill against the simulators: the store's grids hold the venue's own candles.

Grid step 60 s (the live setting), so one-minute candles are exactly the grid's buckets; the fill
pages backwards (1,500 mark / 1,000 spot candles a page on Binance, 1,000 on Bybit), drops malformed
rows by reason, and the GARCH fit on the filled grid is the fit on the simulator's own path.
"""

from __future__ import annotations

import math
from typing import Any

import ccxt.async_support as ccxta
import numpy as np
import pytest

from monitor.clock import LiveClock
from monitor.collectors.backfill import Backfill, HistorySource, Series
from monitor.collectors.base import CollectorStats
from monitor.collectors.binanceusdm_history import BinanceHistory
from monitor.collectors.bybit_history import BybitHistory
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.pacing import Cooldown
from monitor.evaluation.models import fit_market
from monitor.risk.garch import fit_garch
from monitor.risk.volatility import log_returns
from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.klines import MINUTE_MS, KlineBook
from monitor.sim.server import Simulator
from monitor.sim.testing import bybit_config, running_simulator
from monitor.store.state import StateStore

pytestmark = pytest.mark.integration
KEY = ("binance", "BTCUSDT")


class Garbled(BinanceHistory):
    """Binance's pages with broken rows mixed in (what a bad proxy or a venue bug hands back)."""

    async def candles(self, rest: RestCaller, ex: Any, series: Series, *args: Any) -> list[Any]:
        rows = await super().candles(rest, ex, series, *args)
        t = rows[-1][0]
        bad = [
            ["x"],
            [t, "1", "1", "1", "NaN"],
            [t, "1", "1", "1", "-5"],
            "row",
            [str(t), "1", "1", "1", "2"],
        ]
        return rows[:-1] + bad + rows[-1:]


def backfill(sim: Simulator, venue: str, source: HistorySource, store: StateStore, points: int) -> Backfill:
    clock = LiveClock()
    stats = CollectorStats(venue)

    def client() -> Any:
        ex = (ccxta.bybit if venue == "bybit" else ccxta.binanceusdm)({"options": {"fetchCurrencies": False}})
        point_ccxt_at(ex, sim)
        return ex

    return Backfill(
        venue=venue,
        source=source,
        symbols=("BTCUSDT",),
        spot_symbols=("BTCUSDT",),
        step_s=60.0,
        points=points,
        client=client,
        rest=RestCaller(Cooldown(clock), stats, []),
        sink=store,
        clock=clock,
        stats=stats,
        weight_per_s=1_000.0,
    )


def candles(book: KlineBook, kind: str, opens_ns: np.ndarray, now_ms: int) -> np.ndarray:
    first = int(opens_ns[0]) // 1_000_000
    rows = book.query(kind, "BTCUSDT", MINUTE_MS, first, None, len(opens_ns), now_ms)
    assert [c.open_ms * 1_000_000 for c in rows] == [int(t) for t in opens_ns]
    return np.array([c.close for c in rows])


async def fill(b: Backfill) -> None:
    ex = b._client()
    try:
        await b.fill(ex, b.source.interval(b.step_s), b.points)
    finally:
        await ex.close()


async def test_binance_fill_equals_the_venue_candles_and_fits_the_same_garch() -> None:
    store = StateStore(grid_step_s=60.0, history_points=3_000)
    async with running_simulator() as sim:
        b = backfill(sim, "binance", BinanceHistory(), store, 3_000)
        await fill(b)
        now_ms = sim.clock.now_ns() // 1_000_000
        snap = store.snapshot(sim.clock.now_ns())
        ts, marks = snap.mark_grid[KEY]
        sts, spots = snap.spot_grid[KEY]
        want_marks = candles(sim.klines, "mark", ts, now_ms)
        want_spots = candles(sim.klines, "spot", sts, now_ms)
        venue_funding = sim.funding.query("BTCUSDT", None, None, 1000)
    assert ts.size == sts.size == 3_000
    assert int(ts[-1]) // 1_000_000 == now_ms // MINUTE_MS * MINUTE_MS - MINUTE_MS  # the last closed bar
    assert np.array_equal(marks, want_marks) and np.array_equal(spots, want_spots)
    # pagination: 3,000 marks in two pages of 1,500, 3,000 spots in three of 1,000, one funding page
    assert b.requests == 2 + 3 + 1
    assert b.bars_sent == 6_000 and store.backfilled_bars == 6_000
    # history is not a heartbeat: nothing was heard on any stream, no current mark exists
    assert dict(snap.feeds) == {} and dict(snap.marks) == {}
    # settled funding is the venue's
    st, rates = snap.funding_settled[KEY]
    assert [(int(t) // 1_000_000, float(r)) for t, r in zip(st, rates, strict=True)] == [
        (f.time_ms, f.rate) for f in venue_funding
    ]
    assert snap.funding_settled_estimated[KEY] is False
    # GARCH on the filled grid is GARCH on the simulator's own path (the last bucket is "in progress")
    model = fit_market(snap.mark_grid[KEY], snap.spot_grid[KEY], 60.0, 100, None)
    direct = fit_garch(log_returns(want_marks[:-1]), min_obs=100)
    assert math.isfinite(model.garch.sigma2_next)
    assert (model.garch.omega, model.garch.alpha, model.garch.beta, model.garch.sigma2_next) == (
        direct.omega,
        direct.alpha,
        direct.beta,
        direct.sigma2_next,
    )
    assert not model.ou.reason or model.ou.reason.name in ("OK", "NOT_MEAN_REVERTING")


async def test_malformed_kline_rows_are_counted_and_dropped() -> None:
    store = StateStore(grid_step_s=60.0, history_points=200)
    async with running_simulator() as sim:
        b = backfill(sim, "binance", Garbled(), store, 200)
        await fill(b)
        now_ms = sim.clock.now_ns() // 1_000_000
        ts, marks = store.snapshot(0).mark_grid[KEY]
        want = candles(sim.klines, "mark", ts, now_ms)
    assert ts.size == 200 and np.array_equal(marks, want)  # the good rows all arrived
    assert b.stats.dropped == {"bad_kline": 2 * 5}  # five broken rows on each of the two pages


async def test_bybit_fill_pages_and_equals_the_venue() -> None:
    store = StateStore(grid_step_s=60.0, history_points=2_500)
    async with running_simulator(bybit_config()) as sim:
        b = backfill(sim, "bybit", BybitHistory(), store, 2_500)
        await fill(b)
        now_ms = sim.clock.now_ns() // 1_000_000
        snap = store.snapshot(0)
        ts, marks = snap.mark_grid[("bybit", "BTCUSDT")]
        sts, spots = snap.spot_grid[("bybit", "BTCUSDT")]
        want_marks = candles(sim.bybit_klines["linear"], "mark", ts, now_ms)
        want_spots = candles(sim.bybit_klines["spot"], "spot", sts, now_ms)
        venue_funding = sim.bybit.funding.query("BTCUSDT", None, None, 200)
    assert ts.size == sts.size == 2_500
    assert np.array_equal(marks, want_marks) and np.array_equal(spots, want_spots)
    assert b.requests == 3 + 3 + 1
    st, rates = snap.funding_settled[("bybit", "BTCUSDT")]
    got = [(int(t) // 1_000_000, float(r)) for t, r in zip(st, rates, strict=True)]
    assert got == [(f.time_ms, f.rate) for f in venue_funding] and len(got) >= 3


def test_a_grid_finer_than_any_candle_is_not_backfilled() -> None:
    assert BinanceHistory().interval(5.0) is None and BybitHistory().interval(1.0) is None
    assert BinanceHistory().interval(60.0) == "1m" and BybitHistory().interval(3600.0) == "60"
