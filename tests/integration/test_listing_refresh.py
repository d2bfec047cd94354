"""A venue entry with `symbols = ["*"]` picks up listings at its reference refresh (collectors/listing.py).

Start-up resolution is the daemon's (test_universe_end_to_end.py); here the entry starts with only
BTCUSDT named, as after a start at which the venue did not answer, and the collector's reference
loop alone must find every other contract the simulator lists and read their funding intervals.
"""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from monitor.clock import LiveClock
from monitor.collectors import build_collector
from monitor.collectors.binance.collector import BinanceUsdmCollector
from monitor.collectors.testing import RecordingStore
from monitor.config import parse_config
from monitor.records import FundingInfo
from monitor.sim.testing import fast_config, running_simulator
from monitor.venues import Endpoints

pytestmark = [pytest.mark.integration]


async def test_the_reference_refresh_watches_what_the_venue_newly_lists() -> None:
    async with running_simulator(fast_config(universe_symbols=6, accounts=())) as sim:
        cfg, secrets = parse_config({"venues": [{"name": "binance", "symbols": ["*", "BTCUSDT"]}]}, {})
        store = RecordingStore()
        ep = Endpoints(sim.futures_rest_url, sim.futures_ws_url, sim.spot_rest_url, sim.spot_ws_url)
        c = build_collector(cfg.venues[0], cfg, secrets, ep, store, LiveClock())
        assert isinstance(c, BinanceUsdmCollector)
        assert c.held.watched == ("BTCUSDT",)  # "*" is no stream of its own
        listed = set(sim.market.specs) - {"BTCUSDT"}
        task = asyncio.create_task(c.reference_loop())
        try:
            loop = asyncio.get_running_loop()
            end = loop.time() + 20.0
            while {f.symbol for f in store.of(FundingInfo)} != set(sim.market.specs):
                assert loop.time() < end, "the listing's funding intervals never arrived"
                await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        assert set(c.held.extra) == listed  # each new listing goes the held-symbol way: streams follow
        hours = {f.symbol: f.interval_s / 3600 for f in store.of(FundingInfo)}
        assert all(hours[s] == sim.market.specs[s].funding_hours for s in hours)
