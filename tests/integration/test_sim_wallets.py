"""Multi-asset futures wallets in single-asset mode: every asset listed, only USDT is margin."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import ccxt.async_support as ccxta
import pytest

from monitor.clock import ManualClock
from monitor.config import SimAccountConfig, SimPositionConfig
from monitor.errors import ConfigError
from monitor.secret import Secret
from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.server import Simulator
from monitor.sim.testing import fast_config, running_simulator, signed_query

pytestmark = pytest.mark.integration
KEYS = {
    "multi": (Secret("multi-api-key-00000000000"), Secret("multi-api-secret-000000000")),
    "plain": (Secret("plain-api-key-00000000000"), Secret("plain-api-secret-000000000")),
}
POS = (SimPositionConfig(symbol="BTCUSDT", qty=0.8, entry_price=40_000.0, leverage=20.0),)
MULTI = SimAccountConfig(
    name="multi",
    api_key_env="SIM_MULTI_KEY",
    api_secret_env="SIM_MULTI_SECRET",
    wallet_usdt=3_000.0,
    other_assets={"USDC": 2_500.0, "BNB": 12.5},
    positions=POS,
)
PLAIN = SimAccountConfig(
    name="plain",
    api_key_env="SIM_PLAIN_KEY",
    api_secret_env="SIM_PLAIN_SECRET",
    wallet_usdt=3_000.0,
    positions=POS,
)
CFG = fast_config(tick_s=3_600.0, accounts=(MULTI, PLAIN))


async def _signed(sim: Simulator, path: str, account: str = "multi") -> Any:
    key, secret = KEYS[account]
    query = signed_query(secret, {}, sim.clock.now_ns() // 1_000_000)
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{sim.futures_rest_url}{path}?{query}", headers={"X-MBX-APIKEY": key.reveal()}) as r,
    ):
        assert r.status == 200
        return await r.json()


async def test_every_asset_is_listed_and_ccxt_sees_each() -> None:
    async with running_simulator(CFG, KEYS, ManualClock(time.time_ns())) as sim:
        v3 = await _signed(sim, "/fapi/v3/account")
        assert [a["asset"] for a in v3["assets"]] == ["USDT", "BNB", "USDC"]
        usdt = sim.engine.summary("multi")
        assert float(v3["totalWalletBalance"]) == usdt.wallet_balance == 3_000.0  # USDT only
        bnb = next(a for a in v3["assets"] if a["asset"] == "BNB")
        assert (bnb["walletBalance"], bnb["maintMargin"], bnb["unrealizedProfit"]) == (
            "12.50000000",
            "0.00000000",
            "0.00000000",
        )
        assert {k: type(v) for k, v in bnb.items()} == {k: type(v) for k, v in v3["assets"][0].items()}
        rows = await _signed(sim, "/fapi/v2/balance")
        assert {r["asset"]: r["balance"] for r in rows} == {
            "USDT": "3000.00000000",
            "BNB": "12.50000000",
            "USDC": "2500.00000000",
        }
        key, secret = KEYS["multi"]
        ex = ccxta.binanceusdm({"apiKey": key.reveal(), "secret": secret.reveal()})
        point_ccxt_at(ex, sim)
        try:
            bal = await ex.fetch_balance()
        finally:
            await ex.close()
        assert (bal["BNB"]["total"], bal["USDC"]["total"], bal["USDC"]["free"]) == (12.5, 2_500.0, 2_500.0)
        assert bal["USDT"]["total"] == usdt.margin_balance


async def test_other_assets_are_not_margin_in_single_asset_mode() -> None:
    """Same USDT book with and without 2,500 USDC and 12.5 BNB beside it: same LP, same liquidation."""
    async with running_simulator(CFG, KEYS, ManualClock(time.time_ns())) as sim:
        multi = sim.engine.position("multi", "BTCUSDT")
        plain = sim.engine.position("plain", "BTCUSDT")
        assert multi is not None and plain is not None
        assert multi.liquidation_price == plain.liquidation_price > 0
        assert sim.engine.margin_ratio("multi") == sim.engine.margin_ratio("plain")


def test_usdt_is_not_an_other_asset() -> None:
    bad = SimAccountConfig(
        name="x", api_key_env="K", api_secret_env="S", wallet_usdt=1.0, other_assets={"USDT": 5.0}
    )
    with pytest.raises(ConfigError, match="other_assets"):
        Simulator(fast_config(accounts=(bad,)), {}, ManualClock())
