"""Unmodified ccxt `okx` (async_support and pro) against the simulated OKX: values equal the engine's.

Only `exchange.urls` is touched (through `point_ccxt_at`). The market is paused before comparing, so
the engine and the wire describe the same instant.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import ccxt
import ccxt.async_support as ccxta
import ccxt.pro as ccxtpro
import pytest

from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.server import Simulator
from monitor.sim.testing import OKX_TEST_KEYS, OKX_TEST_PASSWORDS, okx_config, running_simulator

pytestmark = pytest.mark.integration
TIMEOUT = 5.0
_SWAPS = {"options": {"fetchMarkets": {"types": ["spot", "swap"]}}}


@asynccontextmanager
async def client(
    sim: Simulator,
    account: str | None = "erin",
    cls: Any = ccxta.okx,
    password: str | None = None,
    **conf: Any,
) -> AsyncIterator[Any]:
    if account is not None:
        key, secret = OKX_TEST_KEYS[account]
        phrase = password if password is not None else OKX_TEST_PASSWORDS[account].reveal()
        conf = {"apiKey": key.reveal(), "secret": secret.reveal(), "password": phrase, **conf}
    ex = cls(conf)
    point_ccxt_at(ex, sim)
    try:
        yield ex
    finally:
        await ex.close()


async def test_load_markets_with_and_without_keys() -> None:
    """All four instrument types are asked for (FUTURES and OPTION empty); with keys ccxt also reads
    /api/v5/asset/currencies, signed."""
    async with running_simulator(okx_config()) as sim:
        for account in ("erin", None):
            async with client(sim, account) as ex:
                markets = await ex.load_markets()
                btc = markets["BTC/USDT:USDT"]
                assert (btc["id"], btc["swap"], btc["linear"], btc["settle"], btc["contractSize"]) == (
                    "BTC-USDT-SWAP", True, True, "USDT", 0.01,
                )  # fmt: skip
                assert btc["limits"]["leverage"]["max"] == 100.0
                assert {"ETH/USDT:USDT", "SOL/USDT:USDT", "BTC/USDT"} <= set(markets)
                assert ("USDT" in ex.currencies) is True


async def test_fetch_ticker_funding_and_tiers_equal_the_market() -> None:
    async with running_simulator(okx_config()) as sim, client(sim, None, **_SWAPS) as ex:
        sim.pause()
        await asyncio.sleep(0.1)
        q = sim.okx.market.quotes["BTCUSDT"]
        t = await ex.fetch_ticker("BTC/USDT:USDT")
        assert (t["bid"], t["ask"], t["last"]) == (q.bid, q.ask, q.last)
        fr = await ex.fetch_funding_rate("BTC/USDT:USDT")
        assert (fr["fundingRate"], fr["fundingTimestamp"], fr["interval"]) == (
            q.funding_rate,
            q.funding_ms,
            "8h",
        )
        assert fr["markPrice"] is None or fr["markPrice"] == q.mark
        mark = await ex.fetch_mark_price("BTC/USDT:USDT") if ex.has.get("fetchMarkPrice") else None
        if mark is not None:
            assert mark["markPrice"] == q.mark
        tiers = await ex.fetch_market_leverage_tiers("BTC/USDT:USDT", {"marginMode": "cross"})
        spec = sim.okx.market.specs["BTCUSDT"]
        assert [(x["maintenanceMarginRate"], x["maxLeverage"]) for x in tiers] == [
            (s.mmr, s.max_lever) for s in spec.cross
        ]


async def test_fetch_positions_and_balance_are_the_engines_figures() -> None:
    """liqPx, the maintenance amount (`mmr`) and OKX's `mgnRatio` reach ccxt exactly as the engine
    computed them with perpmon's OKX model; cross and isolated both."""
    async with running_simulator(okx_config()) as sim, client(sim, **_SWAPS) as ex:
        sim.pause()
        await asyncio.sleep(0.1)
        views = {v.spec.inst_id: v for v in sim.okx.engine.views("erin")}
        positions = await ex.fetch_positions()
        assert len(positions) == 3
        for p in positions:
            v = views[p["info"]["instId"]]
            assert p["marginMode"] == v.p.mgn_mode
            assert p["liquidationPrice"] == v.liq_px
            assert p["maintenanceMargin"] == v.mm_amount
            assert float(p["info"]["mgnRatio"]) == v.mgn_ratio
            assert p["contracts"] == abs(v.p.contracts)
            assert p["side"] == ("long" if v.p.contracts > 0 else "short")
        bal = await ex.fetch_balance()
        acct = sim.okx.engine.accounts["erin"]
        assert bal["info"]["data"][0]["details"][0]["cashBal"] == repr(acct.cash_bal)
        assert bal["USDT"]["total"] == pytest.approx(acct.cash_bal + sum(v.upl for v in views.values()))


async def test_wrong_passphrase_and_wrong_secret_are_refused_in_okx_codes() -> None:
    async with running_simulator(okx_config()) as sim:
        async with client(sim, password="not-the-phrase", **_SWAPS) as ex:
            with pytest.raises(ccxt.AuthenticationError, match="50105"):
                await ex.fetch_balance()
        async with client(sim, secret="wrong-secret", **_SWAPS) as ex:
            with pytest.raises(ccxt.AuthenticationError, match="50113"):
                await ex.fetch_positions()
        async with client(sim, apiKey="no-such-key", **_SWAPS) as ex:
            with pytest.raises(ccxt.AuthenticationError, match="50111"):
                await ex.fetch_positions()


async def test_watch_ticker_positions_and_balance_over_the_sockets() -> None:
    """ccxt.pro logs in (HMAC of timestamp + GET + /users/self/verify) and watches the private channels."""
    async with running_simulator(okx_config()) as sim, client(sim, cls=ccxtpro.okx, **_SWAPS) as ex:
        t = await asyncio.wait_for(ex.watch_ticker("BTC/USDT:USDT"), TIMEOUT)
        assert t["symbol"] == "BTC/USDT:USDT" and t["bid"] > 0
        positions = await asyncio.wait_for(ex.watch_positions(), TIMEOUT)
        assert {p["info"]["instId"] for p in positions} <= {"BTC-USDT-SWAP", "ETH-USDT-SWAP", "SOL-USDT-SWAP"}
        assert positions and all(p["liquidationPrice"] for p in positions)
        bal = await asyncio.wait_for(ex.watch_balance(), TIMEOUT)
        assert bal["USDT"]["total"] > 0


async def test_a_failed_socket_login_is_refused() -> None:
    async with (
        running_simulator(okx_config()) as sim,
        client(sim, cls=ccxtpro.okx, password="nope", **_SWAPS) as ex,
    ):
        with pytest.raises(ccxt.AuthenticationError):
            await asyncio.wait_for(ex.watch_positions(), TIMEOUT)
