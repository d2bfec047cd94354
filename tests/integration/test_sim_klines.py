"""Unmodified ccxt reads the simulators' candles and settled funding, equal to the engine's own values.

The past (before the simulator started) is the replayed path mapped back at the replay's speed; the
minutes since start are what the venue published. Only `exchange.urls` is touched.
"""

from __future__ import annotations

import asyncio
from typing import Any

import ccxt.async_support as ccxta
import numpy as np
import pytest

from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.klines import MINUTE_MS
from monitor.sim.server import Simulator
from monitor.sim.testing import bybit_config, running_simulator

pytestmark = pytest.mark.integration
H = 3_600_000


def client(sim: Simulator, cls: Any) -> Any:
    ex = cls({"options": {"fetchCurrencies": False}})
    ex.has["fetchCurrencies"] = False
    point_ccxt_at(ex, sim)
    return ex


def engine(sim: Simulator, kind: str, opens: list[int], book: Any = None) -> list[list[float]]:
    book = book or sim.klines
    out = []
    for t in opens:
        (c,) = book.query(kind, "BTCUSDT", MINUTE_MS, t, None, 1, sim.clock.now_ns() // 1_000_000)
        out.append([c.open_ms, c.open, c.high, c.low, c.close])
    return out


async def test_binance_mark_perp_and_spot_candles_equal_the_engine() -> None:
    async with running_simulator() as sim:
        await asyncio.sleep(0.2)
        sim.pause()
        ex = client(sim, ccxta.binanceusdm)
        try:
            mark = await ex.fetch_mark_ohlcv("BTC/USDT:USDT", "1m", limit=500)
            perp = await ex.fetch_ohlcv("BTC/USDT:USDT", "1m", limit=50)
            spot = await ex.publicGetKlines({"symbol": "BTCUSDT", "interval": "1m", "limit": 50})
        finally:
            await ex.close()
    opens = [row[0] for row in mark]
    assert len(mark) == 500 and np.all(np.diff(opens) == MINUTE_MS)
    assert opens[-1] == sim.clock.now_ns() // 1_000_000 // MINUTE_MS * MINUTE_MS  # the bar in progress
    assert [r[:5] for r in mark] == engine(sim, "mark", opens)
    assert all(r[5] == 0 for r in mark)  # mark candles carry no volume
    assert [r[:5] for r in perp] == engine(sim, "mark", [r[0] for r in perp])
    assert perp[0][5] > 0
    spot_rows = [[r[0], *map(float, r[1:5])] for r in spot]
    assert spot_rows == engine(sim, "spot", [r[0] for r in spot])
    # the path really moves: one wall minute is an hour of the 2021-05-19 crash at 60x
    closes = np.array([r[4] for r in mark])
    assert np.std(np.diff(np.log(closes))) > 1e-3
    # the live bar closes on the live mark
    assert mark[-1][4] == sim.market.quotes["BTCUSDT"].mark


async def test_binance_pages_forward_from_start_and_back_from_end() -> None:
    async with running_simulator() as sim:
        sim.pause()
        ex = client(sim, ccxta.binanceusdm)
        now = sim.clock.now_ns() // 1_000_000 // MINUTE_MS * MINUTE_MS
        try:
            first = await ex.fapiPublicGetMarkPriceKlines(
                {
                    "symbol": "BTCUSDT",
                    "interval": "1m",
                    "startTime": now - 3_000 * MINUTE_MS + 1,
                    "limit": 1500,
                }
            )
            back = await ex.fapiPublicGetMarkPriceKlines(
                {"symbol": "BTCUSDT", "interval": "1m", "endTime": now - 10 * MINUTE_MS, "limit": 1500}
            )
            hourly = await ex.fetch_mark_ohlcv("BTC/USDT:USDT", "1h", limit=3)
        finally:
            await ex.close()
    assert len(first) == 1500 and first[0][0] == now - 2_999 * MINUTE_MS  # the first open at or after start
    assert len(back) == 1500 and back[-1][0] == now - 10 * MINUTE_MS
    assert back[-1][6] == back[-1][0] + MINUTE_MS - 1  # close time
    assert [r[0] % H for r in hourly] == [0, 0, 0]


async def test_binance_funding_history_is_the_venue_history() -> None:
    async with running_simulator() as sim:
        ex = client(sim, ccxta.binanceusdm)
        try:
            rows = await ex.fetch_funding_rate_history("BTC/USDT:USDT", limit=20)
        finally:
            await ex.close()
    want = sim.funding.query("BTCUSDT", None, None, 20)
    assert len(want) >= 3
    assert [(r["timestamp"], r["fundingRate"]) for r in rows] == [(w.time_ms, w.rate) for w in want]


async def test_bybit_mark_and_spot_candles_and_funding_equal_the_engine() -> None:
    async with running_simulator(bybit_config()) as sim:
        await asyncio.sleep(0.2)
        sim.pause()
        ex = client(sim, ccxta.bybit)
        try:
            mark = await ex.fetch_mark_ohlcv("BTC/USDT:USDT", "1m", limit=300)
            spot = await ex.fetch_ohlcv("BTC/USDT", "1m", limit=30)
            funding = await ex.fetch_funding_rate_history("BTC/USDT:USDT", limit=20)
        finally:
            await ex.close()
    opens = [r[0] for r in mark]
    assert len(mark) == 300 and np.all(np.diff(opens) == MINUTE_MS)  # ccxt re-sorts Bybit's newest-first
    assert [r[:5] for r in mark] == engine(sim, "mark", opens, sim.bybit_klines["linear"])
    assert [r[:5] for r in spot] == engine(sim, "spot", [r[0] for r in spot], sim.bybit_klines["spot"])
    assert mark[-1][4] == sim.bybit.market.quotes["BTCUSDT"].mark
    want = sim.bybit.funding.query("BTCUSDT", None, None, 20)
    assert [(r["timestamp"], r["fundingRate"]) for r in funding] == [(w.time_ms, w.rate) for w in want]


async def test_bad_kline_requests_get_the_venue_errors() -> None:
    async with running_simulator() as sim:
        ex = client(sim, ccxta.binanceusdm)
        try:
            with pytest.raises(ccxta.BadRequest):
                await ex.fapiPublicGetMarkPriceKlines({"symbol": "BTCUSDT", "interval": "7m"})
            with pytest.raises(ccxta.BadSymbol):
                await ex.fapiPublicGetMarkPriceKlines({"symbol": "NOPEUSDT", "interval": "1m"})
        finally:
            await ex.close()
