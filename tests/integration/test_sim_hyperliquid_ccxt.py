"""Unmodified ccxt `hyperliquid` (async_support and pro) against the simulated Hyperliquid.

Only `exchange.urls` is touched (through `point_ccxt_at`); accounts are read by address, no key.
The market is paused before comparing, so the engine and the wire describe the same instant. The
simulator's `liquidationPx` is checked against perpmon's pure model fed from the parsed wire
(`collectors.hyperliquid.margin_wire` → `risk.hyperliquid_margin`).
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import ccxt.async_support as ccxta
import ccxt.pro as ccxtpro
import pytest

from monitor.clock import ManualClock
from monitor.collectors.hyperliquid.margin_wire import (
    hl_asset_brackets,
    parse_clearinghouse_state,
    parse_meta_and_asset_ctxs,
)
from monitor.risk.hyperliquid_margin import hl_liquidation_price
from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.hyperliquid.testing import ERIN, FRANK, hyperliquid_config
from monitor.sim.server import Simulator
from monitor.sim.testing import running_simulator

pytestmark = pytest.mark.integration
TIMEOUT = 5.0


@asynccontextmanager
async def client(sim: Simulator, cls: Any = ccxta.hyperliquid, **conf: Any) -> AsyncIterator[Any]:
    ex = cls(conf)
    point_ccxt_at(ex, sim)
    try:
        yield ex
    finally:
        await ex.close()


async def _info(sim: Simulator, body: dict[str, Any]) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.post(f"{sim.hyperliquid_url}/info", json=body) as r:
        text = await r.text()
        return r.status, (json.loads(text) if r.status == 200 else text)


async def test_markets_tickers_and_funding_are_the_simulated_contexts() -> None:
    async with running_simulator(hyperliquid_config()) as sim, client(sim) as ex:
        sim.pause()
        markets = await ex.load_markets()
        btc = markets["BTC/USDC:USDC"]
        assert (btc["swap"], btc["linear"], btc["settle"], btc["baseName"]) == (True, True, "USDC", "BTC")
        assert btc["limits"]["leverage"]["max"] == 40
        ctx = sim.hyperliquid.market.ctxs["BTC"]
        ticker = await ex.fetch_ticker("BTC/USDC:USDC")
        assert float(ticker["info"]["markPx"]) == pytest.approx(ctx.mark, rel=1e-9)
        rates = await ex.fetch_funding_rates(["BTC/USDC:USDC", "ETH/USDC:USDC"])
        eth = rates["ETH/USDC:USDC"]
        assert eth["interval"] == "1h"
        assert eth["fundingRate"] == pytest.approx(sim.hyperliquid.market.ctxs["ETH"].funding, abs=1e-8)
        assert eth["indexPrice"] == pytest.approx(sim.hyperliquid.market.ctxs["ETH"].oracle, rel=1e-9)
        history = await ex.fetch_funding_rate_history("ETH/USDC:USDC", limit=5)
        assert [h["fundingRate"] for h in history][-1] == pytest.approx(0.0000125)  # the calm past
        assert all(b["timestamp"] - a["timestamp"] == 3_600_000 for a, b in itertools.pairwise(history))


async def test_positions_and_balance_by_address_carry_the_models_liquidation_price() -> None:
    async with running_simulator(hyperliquid_config()) as sim, client(sim) as ex:
        sim.pause()
        await ex.load_markets()
        frank = await ex.fetch_positions(params={"user": FRANK})
        by_symbol = {p["symbol"]: p for p in frank}
        assert set(by_symbol) == {"ETH/USDC:USDC", "SOL/USDC:USDC"}
        assert (by_symbol["SOL/USDC:USDC"]["side"], by_symbol["SOL/USDC:USDC"]["marginMode"]) == (
            "short",
            "isolated",
        )
        erin = {p["symbol"]: p for p in await ex.fetch_positions(params={"user": ERIN})}
        assert erin["BTC/USDC:USDC"]["marginMode"] == "cross"
        balance = await ex.fetch_balance({"user": ERIN})
        st = sim.hyperliquid.engine.state(ERIN)
        assert balance["USDC"]["total"] == pytest.approx(st.account_value, rel=1e-9)
        # the wire's LPs are the pure model's, recomputed from the parsed replies alone
        _, meta_raw = await _info(sim, {"type": "metaAndAssetCtxs"})
        meta = parse_meta_and_asset_ctxs(meta_raw).meta
        index = {a.name: i for i, a in enumerate(meta.universe)}
        for user in (ERIN, FRANK):
            _, raw = await _info(sim, {"type": "clearinghouseState", "user": user})
            state = parse_clearinghouse_state(raw)
            for ap in state.asset_positions:
                p = ap.position
                own_mm = sim.hyperliquid.engine._mm(p.coin, p.position_value)
                if p.leverage.kind == "isolated":
                    margin, other = p.margin_used, 0.0
                else:
                    margin = state.cross_margin_summary.account_value
                    other = state.cross_maintenance_margin_used - own_mm
                lp, _ = hl_liquidation_price(
                    p.szi, p.mark, margin, hl_asset_brackets(meta, index[p.coin]), other_mm=other
                )
                if p.liquidation_px is None:
                    assert not lp > 0
                else:
                    assert lp == pytest.approx(p.liquidation_px, rel=1e-7), p.coin


async def test_info_refuses_what_the_venue_refuses() -> None:
    clock = ManualClock()  # the weight window is the clock's minute: it moves only when told to
    async with running_simulator(hyperliquid_config(), clock=clock) as sim:
        assert (await _info(sim, {"type": "clearinghouseState", "user": "0x12"}))[0] == 422
        assert (await _info(sim, {"type": "noSuchType"}))[0] == 422
        status, body = await _info(sim, {"type": "clearinghouseState", "user": "0x" + "0" * 40})
        assert (status, body["assetPositions"], body["marginSummary"]["accountValue"]) == (200, [], "0")
        clock.advance(60.0)
        sim.hyperliquid.weight_per_min = 42  # metaAndAssetCtxs costs 20, clearinghouseState 2
        calls = ({"type": "metaAndAssetCtxs"},) * 2 + ({"type": "clearinghouseState", "user": FRANK},) * 2
        assert [(await _info(sim, body))[0] for body in calls] == [200, 200, 200, 429]
        clock.advance(60.0)  # a new minute, a new budget
        assert (await _info(sim, {"type": "metaAndAssetCtxs"}))[0] == 200


async def test_ccxt_pro_watches_tickers_positions_and_balance() -> None:
    async with (
        running_simulator(hyperliquid_config()) as sim,
        client(sim, ccxtpro.hyperliquid, walletAddress=FRANK) as ex,
    ):
        await ex.load_markets()
        ticker = await asyncio.wait_for(ex.watch_ticker("ETH/USDC:USDC"), TIMEOUT)
        assert ticker["symbol"] == "ETH/USDC:USDC" and float(ticker["info"]["oraclePx"]) > 0
        positions = await asyncio.wait_for(ex.watch_positions(), TIMEOUT)
        assert {p["symbol"] for p in positions} == {"ETH/USDC:USDC", "SOL/USDC:USDC"}
        assert all(p["liquidationPrice"] and p["liquidationPrice"] > 0 for p in positions)
        balance = await asyncio.wait_for(ex.watch_balance(), TIMEOUT)
        assert balance["USDC"]["total"] > 0
        mids = await asyncio.wait_for(ex.watch_tickers(), TIMEOUT)
        assert "BTC/USDC:USDC" in mids
        # the next tick pushes again: a second ticker arrives without a new subscription
        again = await asyncio.wait_for(ex.watch_ticker("ETH/USDC:USDC"), TIMEOUT)
        assert again["symbol"] == "ETH/USDC:USDC"
