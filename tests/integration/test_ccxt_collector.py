"""The generic ccxt.pro collector, selected by config, against the simulator through ccxt's binanceusdm.

Here with `exchange = "binanceusdm"` (Bybit's: test_ccxt_collector_bybit.py): the same records as
the native path must come out of ccxt's unified API.
"""

from __future__ import annotations

from typing import Any

import pytest

from monitor.collectors.generic.collector import CcxtProCollector
from monitor.collectors.testing import (
    Harness,
    account_state,
    first_stale_verdict,
    running_collector,
    venue_state,
    wait_until,
)
from monitor.records import AccountSnapshot, FeedState, FundingInfo, LeverageTiers, MarkPrice, Quote
from monitor.sim.book import Position as SimPosition

pytestmark = pytest.mark.integration

VENUE: dict[str, Any] = {
    "kind": "ccxt",
    "exchange": "binanceusdm",
    "symbols": ["BTCUSDT", "SOLUSDT"],
    "spot_symbols": ["BTCUSDT"],
    "poll_s": 0.2,
    "stale_after_s": 2.0,
}


def generic(h: Harness) -> CcxtProCollector:
    assert isinstance(h.collector, CcxtProCollector)
    return h.collector


async def test_generic_path_gives_the_same_records_as_the_venue_state() -> None:
    """Marks, both books, funding intervals, tiers and the account equal what the simulator holds."""
    async with running_collector(venue=VENUE) as h:
        snap = lambda: h.store.snapshot(h.clock.now_ns())  # noqa: E731
        await wait_until(
            lambda: (
                {("binance", "BTCUSDT"), ("binance", "SOLUSDT")} <= set(snap().marks)
                and ("binance", "BTCUSDT", "spot") in snap().quotes
                and ("binance", "BTCUSDT", "perp") in snap().quotes
                and ("binance", "bob") in snap().accounts
            ),
            10,
            "every stream and the account",
        )
        h.sim.pause()
        q = h.sim.market.quotes

        def same_marks() -> bool:
            ours = {s: snap().marks[("binance", s)] for s in ("BTCUSDT", "SOLUSDT")}
            return all(
                (m.mark, m.index, m.funding_rate) == (q[s].mark, q[s].index, q[s].funding_rate)
                for s, m in ours.items()
            )

        await wait_until(same_marks, 5, "the frozen marks, index and funding estimate")
        await wait_until(
            lambda: snap().quotes[("binance", "BTCUSDT", "spot")].bid == q["BTCUSDT"].spot_bid, 5, "spot"
        )
        perp = snap().quotes[("binance", "BTCUSDT", "perp")]
        assert (perp.bid, perp.ask) == (q["BTCUSDT"].bid, q["BTCUSDT"].ask)
        await wait_until(lambda: len(h.store.of(FundingInfo)) >= 2, 5, "funding intervals")
        intervals = {f.symbol: f.interval_s for f in h.store.of(FundingInfo)}
        assert intervals == {"BTCUSDT": 8 * 3600.0, "SOLUSDT": 4 * 3600.0}
        tiers = {t.symbol: t for t in h.store.of(LeverageTiers)}
        assert tiers["BTCUSDT"].brackets[1].cum == 50.0
        await wait_until(
            lambda: account_state(snap().accounts[("binance", "bob")]) == venue_state(h.sim, "bob"),
            5,
            "the account",
        )
        assert not generic(h).stats.dropped


async def test_generic_path_replaces_a_stalled_client() -> None:
    """A silent stall: the mark stream is stale within its limit, the ccxt client replaced, data resumes."""
    async with running_collector(venue={**VENUE, "symbols": ["BTCUSDT"]}) as h:
        await wait_until(lambda: len(h.store.of(MarkPrice)) > 3, 10, "marks")
        h.sim.faults.stall(True)
        verdict = await first_stale_verdict(h, "binance", "mark:BTCUSDT")
        assert verdict, "stale before the silence reached the stream's limit"
        await wait_until(lambda: generic(h).stats.events["stale_reconnect"] >= 1, 3, "a new client")
        assert any(s.state is FeedState.STALE for s in h.store.statuses("mark:BTCUSDT"))
        h.sim.faults.stall(False)
        await wait_until(lambda: h.figure("feed_stale", stream="mark:BTCUSDT") == 0.0, 8, "fresh marks")
        n = len(h.store.of(Quote))
        await wait_until(lambda: len(h.store.of(Quote)) > n, 5, "books flowing")
        assert h.store.of(AccountSnapshot)


async def test_generic_path_watches_a_symbol_an_account_opens() -> None:
    """bob opens ETHUSDT on a venue watched for BTCUSDT: the mark watch re-subscribes on the same
    client, the ETH mark equals the venue's and is fresh, with its funding interval and tiers."""
    async with running_collector(venue={**VENUE, "symbols": ["BTCUSDT"], "spot_symbols": []}) as h:
        snap = lambda: h.store.snapshot(h.clock.now_ns())  # noqa: E731
        await wait_until(lambda: ("binance", "bob") in snap().accounts, 10, "bob")
        eth = h.sim.engine.marks["ETHUSDT"]
        h.sim.engine.accounts["bob"].positions.append(
            SimPosition("ETHUSDT", "LONG", 2.0, eth, "cross", 0.0, 10.0, h.clock.now_ns() // 1_000_000)
        )
        await wait_until(lambda: ("binance", "ETHUSDT") in snap().marks, 10, "an ETH mark")
        h.sim.pause()
        q = h.sim.market.quotes["ETHUSDT"]
        await wait_until(
            lambda: snap().marks[("binance", "ETHUSDT")].mark == q.mark, 5, "the frozen ETH mark"
        )
        assert h.figure("feed_stale", stream="mark:ETHUSDT") == 0.0
        await wait_until(lambda: "ETHUSDT" in {f.symbol for f in h.store.of(FundingInfo)}, 5, "ETH funding")
        await wait_until(lambda: "ETHUSDT" in {t.symbol for t in h.store.of(LeverageTiers)}, 5, "ETH tiers")
        assert generic(h).stats.events["stale_reconnect"] == 0
