"""Unmodified ccxt.pro 4.5.90 against the simulator's streams: values equal the engine's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import ccxt.pro as ccxtpro
import pytest

from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.server import Simulator
from monitor.sim.testing import TEST_KEYS, running_simulator

pytestmark = pytest.mark.integration
TIMEOUT = 5.0


@asynccontextmanager
async def pro(
    sim: Simulator, account: str | None = "alice", cls: Any = ccxtpro.binanceusdm, **options: Any
) -> AsyncIterator[Any]:
    conf: dict[str, Any] = {"options": {"fetchCurrencies": False, **options}}
    if account is not None:
        key, secret = TEST_KEYS[account]
        conf.update(apiKey=key.reveal(), secret=secret.reveal())
    ex = cls(conf)
    point_ccxt_at(ex, sim)
    try:
        yield ex
    finally:
        await ex.close()


async def test_watch_mark_price_tracks_the_market() -> None:
    """Each update ccxt returns is the market's mark and index of that tick (via @markPrice@1s)."""
    async with running_simulator() as sim, pro(sim, None) as ex:
        seen: list[float] = []
        for _ in range(4):
            t = await asyncio.wait_for(ex.watch_mark_price("BTC/USDT:USDT"), TIMEOUT)
            assert t["info"]["s"] == "BTCUSDT"
            seen.append(t["markPrice"])
        assert len(set(seen)) > 1  # the replay moves between frames
        sim.pause()
        paused_ms = sim.clock.now_ns() // 1_000_000
        t = await asyncio.wait_for(ex.watch_mark_price("BTC/USDT:USDT"), TIMEOUT)
        while t["timestamp"] < paused_ms:  # sent before the pause (a fixed 0.15 s drain was a guess)
            t = await asyncio.wait_for(ex.watch_mark_price("BTC/USDT:USDT"), TIMEOUT)
        q = sim.market.quotes["BTCUSDT"]
        assert (t["markPrice"], t["indexPrice"]) == (q.mark, q.index)
        assert (float(t["info"]["r"]), t["info"]["T"]) == (q.funding_rate, q.next_funding_ms)


async def test_watch_mark_prices_all_symbols() -> None:
    async with running_simulator() as sim, pro(sim, None) as ex:
        sim.pause()
        got: dict[str, Any] = {}
        while len(got) < 3:
            got.update(await asyncio.wait_for(ex.watch_mark_prices(), TIMEOUT))
        assert {s: t["markPrice"] for s, t in got.items()} == {
            f"{k[:-4]}/USDT:USDT": q.mark for k, q in sim.market.quotes.items()
        }


async def test_watch_bids_asks_futures_and_spot() -> None:
    """Futures book on /public/ws/<n>; spot book via ccxt.binance on /stream/ws/<n> (no `e`)."""
    async with running_simulator() as sim:
        sim.pause()
        q = sim.market.quotes["BTCUSDT"]
        async with pro(sim, None) as ex:
            fut = await asyncio.wait_for(ex.watch_bids_asks(["BTC/USDT:USDT"]), TIMEOUT)
        f = fut["BTC/USDT:USDT"]
        assert (f["bid"], f["bidVolume"], f["ask"], f["askVolume"]) == (q.bid, q.bid_qty, q.ask, q.ask_qty)
        async with pro(sim, None, ccxtpro.binance, fetchMarkets={"types": ["spot", "linear"]}) as spot:
            books = await asyncio.wait_for(spot.watch_bids_asks(["BTC/USDT"]), TIMEOUT)
        b = books["BTC/USDT"]
        assert (b["bid"], b["bidVolume"], b["ask"], b["askVolume"]) == (
            q.spot_bid,
            q.spot_bid_qty,
            q.spot_ask,
            q.spot_ask_qty,
        )


async def test_watch_positions_snapshot_then_liquidation_delta() -> None:
    """watch_positions returns the REST snapshot, then the ACCOUNT_UPDATE of a liquidation."""
    async with running_simulator() as sim, pro(sim, "bob") as ex:
        sim.pause()
        first = await asyncio.wait_for(ex.watch_positions(), TIMEOUT)
        snap = {(p["symbol"], p["side"]): p for p in first}
        for v in sim.engine.positions("bob"):
            p = snap[("BTC/USDT:USDT", "long" if v.qty > 0 else "short")]
            assert (p["contracts"], p["entryPrice"], p["liquidationPrice"]) == (
                abs(v.qty),
                v.entry,
                v.liquidation_price,
            )
        lp = sim.engine.liquidation_price("bob", "BTCUSDT", "LONG")
        waiter = asyncio.ensure_future(ex.watch_positions())
        await asyncio.sleep(0.1)
        sim.market.seek(_first_time_below(sim, lp))
        sim.resume()
        update = await asyncio.wait_for(waiter, TIMEOUT)
        closed = [p for p in update if p["side"] == "long"]
        assert closed and closed[0]["contracts"] == 0
        (liq,) = [x for x in sim.engine.liquidations if x.side == "LONG"]
        assert liq.account == "bob" and liq.price <= lp


def _first_time_below(sim: Simulator, price: float) -> float:
    """Replay time one vertex before the path first goes under `price` (so the next tick crosses it)."""
    path = sim.market.path
    i = next(i for i, p in enumerate(path.prices) if p < price)
    return float(path.times[max(0, i - 1)])


async def test_watch_balance_sees_funding_fee() -> None:
    """A funding settlement's ACCOUNT_UPDATE gives ccxt's balance total = the new wallet (`wb`)."""
    async with running_simulator() as sim, pro(sim) as ex:
        sim.pause()
        waiter = asyncio.ensure_future(ex.watch_balance())
        for _ in range(50):  # until the private socket is up
            await asyncio.sleep(0.05)
            if any(c.listen_keys for c in sim.futures_hub.connections):
                break
        q = sim.market.quotes["BTCUSDT"]
        sim.engine.settle_funding("BTCUSDT", 0.001, q.mark, q.time_ms)
        bal = await asyncio.wait_for(waiter, TIMEOUT)
        assert bal["USDT"]["total"] == sim.engine.wallet_balance("alice")
        assert sim.engine.funding_payments[0].amount == pytest.approx(-12.5 * q.mark * 0.001, abs=1e-8)
