"""risk-formulas.md §5 worked example, end to end: the venue reports its LP and liquidates there, to the tick.

The account of the example (cross, one-way; WB 1,535,443.01; BTCUSDT long 109.488 @ 32,481.98 and
ETHUSDT long 3,683.979 @ 1,456.84) is opened in the simulator, the marks are set to the example's
(31,967.27 and 1,335.18) through the scenario handle, and then ETHUSDT is walked down one price
tick (0.01) at a time with BTCUSDT held, as a market moving through the level would.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from typing import Any

import aiohttp
import ccxt.async_support as ccxta
import pytest

from monitor.clock import ManualClock
from monitor.config import SimAccountConfig, SimPositionConfig
from monitor.secret import Secret
from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.control import SimControl
from monitor.sim.testing import fast_config, running_simulator

pytestmark = pytest.mark.integration
T = 3.0
KEYS = {"faq": (Secret("faq-api-key-000000000000"), Secret("faq-api-secret-0000000000"))}
EXAMPLE = SimAccountConfig(
    name="faq",
    api_key_env="SIM_FAQ_KEY",
    api_secret_env="SIM_FAQ_SECRET",
    wallet_usdt=1_535_443.01,
    positions=(
        SimPositionConfig(symbol="BTCUSDT", qty=109.488, entry_price=32_481.98, leverage=10.0),
        SimPositionConfig(symbol="ETHUSDT", qty=3_683.979, entry_price=1_456.84, leverage=4.0),
    ),
)
CFG = fast_config(tick_s=3_600.0, accounts=(EXAMPLE,))  # ticks only when the handle steers
LP_ETH, LP_BTC = 1_153.26, 26_316.89  # the published answers
ETH_TICK = 0.01


async def _positions_over_ccxt(sim: Any) -> dict[str, Any]:
    key, secret = KEYS["faq"]
    ex = ccxta.binanceusdm({"apiKey": key.reveal(), "secret": secret.reveal()})
    point_ccxt_at(ex, sim)
    try:
        return {p["info"]["symbol"]: p for p in await ex.fetch_positions()}
    finally:
        await ex.close()


async def test_engine_and_position_risk_report_the_published_liquidation_prices() -> None:
    # signed calls carry ccxt's wall-clock timestamp: start the manual clock at the real now
    async with running_simulator(CFG, KEYS, ManualClock(time.time_ns())) as sim:
        ctl = SimControl(sim)
        ctl.set_price("BTCUSDT", 31_967.27)
        ctl.set_price("ETHUSDT", 1_335.18)
        eth = sim.engine.position("faq", "ETHUSDT")
        btc = sim.engine.position("faq", "BTCUSDT")
        assert eth is not None and btc is not None
        assert eth.liquidation_price == pytest.approx(LP_ETH, abs=0.005)
        assert btc.liquidation_price == pytest.approx(LP_BTC, abs=0.005)
        # the example's intermediate figures
        assert (eth.maint_margin_ratio, eth.cum, btc.maint_margin_ratio, btc.cum) == (
            0.10,
            135_365.0,
            0.025,
            16_300.0,
        )
        assert btc.maint_margin == pytest.approx(71_200.811444, abs=1e-6)
        assert eth.maint_margin == pytest.approx(356_512.508122, abs=1e-6)
        assert btc.unrealized_pnl == pytest.approx(-56_354.56848, abs=1e-6)
        assert eth.unrealized_pnl == pytest.approx(-448_192.88514, abs=1e-6)
        assert sim.engine.margin_ratio("faq") == pytest.approx(0.4149, abs=5e-5)
        # what the venue's positionRisk says, as ccxt reads it
        wire = await _positions_over_ccxt(sim)
        assert float(wire["ETHUSDT"]["info"]["liquidationPrice"]) == eth.liquidation_price
        assert float(wire["BTCUSDT"]["info"]["liquidationPrice"]) == btc.liquidation_price
        assert wire["ETHUSDT"]["liquidationPrice"] == pytest.approx(LP_ETH, abs=0.005)
        assert float(wire["ETHUSDT"]["info"]["maintMargin"]) == eth.maint_margin


async def test_driven_through_the_level_it_liquidates_on_the_first_tick_at_or_below_it() -> None:
    async with (
        running_simulator(CFG, KEYS, ManualClock()) as sim,
        aiohttp.ClientSession() as http,
    ):
        ctl = SimControl(sim)
        ctl.set_price("BTCUSDT", 31_967.27)
        ctl.set_price("ETHUSDT", 1_335.18)
        lp = sim.engine.liquidation_price("faq", "ETHUSDT")
        assert lp == pytest.approx(LP_ETH, abs=0.005)
        first_at_or_below = round(math.floor(lp / ETH_TICK) * ETH_TICK, 2)
        assert lp - ETH_TICK < first_at_or_below <= lp
        async with http.post(
            f"{sim.futures_rest_url}/fapi/v1/listenKey", headers={"X-MBX-APIKEY": KEYS["faq"][0].reveal()}
        ) as r:
            listen_key = (await r.json())["listenKey"]
        async with http.ws_connect(f"{sim.futures_ws_url}/private/ws?listenKey={listen_key}") as user:
            price = round(first_at_or_below + 20 * ETH_TICK, 2)
            while not sim.engine.liquidations:
                ctl.set_price("ETHUSDT", price)
                if not sim.engine.liquidations:
                    assert price > lp, "open below its own liquidation price"
                    assert sim.engine.margin_ratio("faq") < 1.0
                    price = round(price - ETH_TICK, 2)
            liquidated = {liq.symbol: liq for liq in sim.engine.liquidations}
            assert liquidated["ETHUSDT"].price == first_at_or_below  # to the tick
            assert set(liquidated) == {"BTCUSDT", "ETHUSDT"}  # cross: the whole account goes
            assert liquidated["BTCUSDT"].price == 31_967.27
            assert sim.engine.positions("faq") == []
            events: list[dict[str, Any]] = []
            while len([e for e in events if e["e"] == "ORDER_TRADE_UPDATE"]) < 2:
                msg = await asyncio.wait_for(user.receive(), T)
                events.append(json.loads(msg.data))
            fills = {e["o"]["s"]: e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"}
            assert float(fills["ETHUSDT"]["ap"]) == first_at_or_below
            assert fills["ETHUSDT"]["o"] == "LIQUIDATION" and fills["ETHUSDT"]["X"] == "FILLED"
            assert any(e["e"] == "MARGIN_CALL" for e in events)  # 80 % was crossed on the way down
