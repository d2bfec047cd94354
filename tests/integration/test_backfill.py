"""The start-up backfill against the simulators: the store's grids hold the venue's own candles.

Grid step 60 s (the live setting), so one-minute candles are exactly the grid's buckets; the fill
pages backwards (1,500 mark / 1,000 spot candles a page on Binance, 1,000 on Bybit), drops malformed
rows by reason, and the GARCH fit on the filled grid is the fit on the simulator's own path.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import ccxt.async_support as ccxta
import numpy as np
import pytest

from monitor.clock import LiveClock, ManualClock
from monitor.collectors.backfill import Backfill, HistorySource, Series
from monitor.collectors.base import CollectorStats
from monitor.collectors.binance.history import BinanceHistory
from monitor.collectors.bybit.history import BybitHistory
from monitor.collectors.ccxt_rest import RestCaller
from monitor.collectors.pacing import Cooldown
from monitor.evaluation.models import fit_market
from monitor.records import MarkPrice
from monitor.risk.garch import fit_garch
from monitor.risk.volatility import log_returns
from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.klines import MINUTE_MS, KlineBook
from monitor.sim.server import Simulator
from monitor.sim.testing import bybit_config, running_simulator
from monitor.store.state import StateStore

pytestmark = pytest.mark.integration
KEY = ("binance", "BTCUSDT")
S = 1_000_000_000


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


async def test_a_reconnect_gap_is_refilled_from_the_venue_and_a_short_one_costs_nothing() -> None:
    store = StateStore(grid_step_s=60.0, history_points=200)
    async with running_simulator() as sim:
        now_ns = sim.clock.now_ns()
        b0 = now_ns // 60_000_000_000 - 8
        for bucket, price in ((b0, 100.0), (b0 + 6, 106.0)):  # live frames either side of a 5-bucket hole
            store.put(
                MarkPrice(
                    venue="binance",
                    symbol="BTCUSDT",
                    ts_event_ns=bucket * 60 * S,
                    ts_recv_ns=bucket * 60 * S,
                    mark=price,
                    index=price,
                )
            )
        assert list(store.snapshot(0).mark_grid[KEY][1]) == [100.0] * 6 + [106.0]  # carried forward
        clock = ManualClock(now_ns - 400 * S)
        b = backfill(sim, "binance", BinanceHistory(), store, 200)
        b.clock = clock
        b.stats.connected["binance.market.0"] = True
        ex = b._client()
        try:
            assert await b.after_gap(ex, "1m") == 0  # nothing dropped yet
            b.stats.connected["binance.market.0"] = False  # the socket drops
            b.stats.reconnects["binance.market.0"] += 1
            clock.advance(200.0)
            assert await b.after_gap(ex, "1m") == 0  # still down: wait for the whole hole
            clock.advance(200.0)
            b.stats.connected["binance.market.0"] = True
            assert await b.after_gap(ex, "1m") == 9  # 400 s down: ceil(400 / 60) + 2 bars
            b.stats.reconnects["binance.market.0"] += 1  # a blip shorter than one bucket
            clock.advance(1.0)
            assert await b.after_gap(ex, "1m") == 0
        finally:
            await ex.close()
        ts, values = store.snapshot(0).mark_grid[KEY]
        by_bucket = dict(zip((int(t) // (60 * S) for t in ts), values, strict=True))
        venue = sim.klines.query(
            "mark", "BTCUSDT", MINUTE_MS, (b0 + 1) * 60_000, None, 5, now_ns // 1_000_000
        )
    assert [by_bucket[k] for k in range(b0 + 1, b0 + 6)] == [c.close for c in venue]  # the hole, refilled
    assert by_bucket[b0] == 100.0 and by_bucket[b0 + 6] == 106.0  # live buckets kept
    assert b.stats.events["backfill_gap"] == 1 and b.requests == 2  # one mark page, one spot page


async def test_rate_limit_and_5xx_hold_the_fill_then_it_completes() -> None:
    """A 429 with Retry-After sets the venue's shared cool-down and the fill waits it out; a 503 is
    retried; the fill then completes with the venue's candles, nothing skipped or doubled."""
    store = StateStore(grid_step_s=60.0, history_points=300)
    async with running_simulator() as sim:
        b = backfill(sim, "binance", BinanceHistory(), store, 300)
        b.retry_s = 0.1
        sim.faults.rate_limit(calls_429=1, calls_418=0, retry_after_s=1)
        sim.faults.fail_rest(calls=1, status=503)
        ex = b._client()
        try:
            await b._until_done(partial(b.fill, ex, "1m", 300))
        finally:
            await ex.close()
        now_ms = sim.clock.now_ns() // 1_000_000
        ts, marks = store.snapshot(0).mark_grid[KEY]
        want = candles(sim.klines, "mark", ts, now_ms)
    assert ts.size == 300 and np.array_equal(marks, want)
    assert b.stats.events["rate_limited"] == 1 and b.stats.events["rest_failure"] == 2
    assert b.rest.cooldown.remaining_s() == 0
