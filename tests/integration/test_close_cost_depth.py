"""Cost to close from real book levels: the collectors keep N levels of each perp book, and the
figure equals `cost_to_close` walked over the simulator's own levels (its REST depth)."""

from __future__ import annotations

import aiohttp
import numpy as np
import pytest

from monitor.collectors.testing import Harness, running_collector, wait_until
from monitor.records import BookLevels
from monitor.risk.liquidity import CloseCost, cost_to_close

pytestmark = pytest.mark.integration


async def _rest_levels(url: str, path: str, params: dict[str, str]) -> tuple[list[float], ...]:
    async with aiohttp.ClientSession() as http, http.get(url.rstrip("/") + path, params=params) as r:
        body = await r.json()
    book = body.get("result", body)  # Bybit wraps in {"result": …}
    bids, asks = (book["bids"], book["asks"]) if "bids" in book else (book["b"], book["a"])
    return ([float(p) for p, _ in bids], [float(q) for _, q in bids],
            [float(p) for p, _ in asks], [float(q) for _, q in asks])  # fmt: skip


def _walk(q: float, lv: tuple[list[float], ...]) -> CloseCost:
    return cost_to_close(q, *(np.array(x) for x in lv))


async def _frozen_levels(h: Harness, venue: str, depth: int) -> BookLevels:
    """Pause the market; wait until the stored levels are the venue's last book (same update id)."""
    key = (venue, "BTCUSDT", "perp")
    await wait_until(lambda: key in h.store.snapshot(h.clock.now_ns()).books, 10, "book levels")
    h.sim.pause()
    n = len(h.store.records)
    await wait_until(lambda: len(h.store.records) > n + 5, 5, "records after the pause")
    levels: BookLevels = h.store.snapshot(h.clock.now_ns()).books[key]
    assert len(levels.bid_px) == len(levels.ask_px) == depth
    return levels


async def test_binance_close_cost_walks_the_collected_depth() -> None:
    """alice's 12.5 BTC long is larger than the best bid: the figure is the walk over 20 levels."""
    async with running_collector(venue={"symbols": ["BTCUSDT"], "poll_s": 0.2}, accounts={"alice": {}}) as h:
        levels = await _frozen_levels(h, "binance", 20)
        sim = await _rest_levels(
            h.sim.futures_rest_url, "/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": "20"}
        )
        assert (
            list(levels.bid_px),
            list(levels.bid_qty),
            list(levels.ask_px),
            list(levels.ask_qty),
        ) == tuple(sim)
        await wait_until(
            lambda: ("binance", "alice") in h.store.snapshot(h.clock.now_ns()).accounts, 5, "alice"
        )
        acct = h.store.snapshot(h.clock.now_ns()).accounts[("binance", "alice")]
        q = next(p.qty * p.contract_size for p in acct.positions if p.symbol == "BTCUSDT" and p.qty)
        assert q > sim[1][0]  # beyond the best level: top of book alone said insufficient_depth
        want = _walk(q, sim)
        assert want.sufficient and want.cost > 0
        lab = {"account": "alice", "symbol": "BTCUSDT"}
        got = h.figures("close_cost_usd", "close_slippage_bps", "close_visible_fill_ratio", **lab)
        assert got["close_cost_usd"] == pytest.approx(want.cost, rel=1e-12)
        assert got["close_slippage_bps"] == pytest.approx(want.slippage_bps, rel=1e-12)
        assert got["close_visible_fill_ratio"] == 1.0
        assert h.figure("feed_stale", stream="depth:perp:BTCUSDT") == 0.0


async def test_bybit_close_cost_walks_orderbook_50() -> None:
    """carol's 20 BTC short closes into the asks of the simulated Bybit's `orderbook.50` (snapshot +
    deltas merged by the collector): the figure is the walk over the venue's own top 20 levels."""
    from tests.integration.test_collector_bybit import BYBIT, fig, running_book

    async with running_book([BYBIT], {"carol": "bybit"}) as b:
        key = ("bybit", "BTCUSDT", "perp")
        snap = lambda: b.store.snapshot(b.clock.now_ns())  # noqa: E731
        await wait_until(lambda: key in snap().books and ("bybit", "carol") in snap().accounts, 10, "levels")
        n_deltas = len(b.store.of(BookLevels))
        await wait_until(lambda: len(b.store.of(BookLevels)) > n_deltas + 3, 5, "book updates (deltas)")
        b.sim.pause()
        n = len(b.store.records)
        await wait_until(lambda: len(b.store.records) > n + 5, 5, "records after the pause")
        levels = snap().books[key]
        params = {"category": "linear", "symbol": "BTCUSDT", "limit": "20"}
        sim = await _rest_levels(b.sim.bybit_rest_url, "/v5/market/orderbook", params)
        assert (
            list(levels.bid_px),
            list(levels.bid_qty),
            list(levels.ask_px),
            list(levels.ask_qty),
        ) == tuple(sim)
        acct = snap().accounts[("bybit", "carol")]
        q = next(p.qty * p.contract_size for p in acct.positions if p.symbol == "BTCUSDT" and p.qty)
        assert q < 0 and -q > sim[3][0]  # beyond the best ask
        want = _walk(q, sim)
        assert want.sufficient
        got = fig(b.figures(), "close_cost_usd", venue="bybit", account="carol", symbol="BTCUSDT")
        assert got.value == pytest.approx(want.cost, rel=1e-12)
