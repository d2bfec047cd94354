"""Unmodified ccxt 4.5.90 `binancecoinm` (async and pro) against the simulated COIN-M venue.

Only `exchange.urls` is touched (through `point_ccxt_at`). The market is paused before comparing,
so the engine and the wire describe the same instant. Every figure ccxt returns is the engine's,
and the engine's are perpmon's pure inverse model (`risk/inverse_margin.py`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import ccxt.async_support as ccxta
import ccxt.pro as ccxtpro
import pytest

from monitor.risk.inverse_margin import coinm_liquidation_price
from monitor.sim.binance_coinm.testing import COINM_TEST_KEYS, coinm_config
from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.numfmt import q8
from monitor.sim.server import Simulator
from monitor.sim.testing import TEST_KEYS, running_simulator

pytestmark = pytest.mark.integration
TIMEOUT = 5.0


@asynccontextmanager
async def coinm_sim() -> AsyncIterator[Simulator]:
    async with running_simulator(coinm_config(), TEST_KEYS | COINM_TEST_KEYS) as sim:
        yield sim


@asynccontextmanager
async def client(
    sim: Simulator, account: str | None = "erin", cls: Any = ccxta.binancecoinm
) -> AsyncIterator[Any]:
    conf: dict[str, Any] = {"options": {"fetchCurrencies": False}}
    if account is not None:
        key, secret = COINM_TEST_KEYS[account]
        conf.update(apiKey=key.reveal(), secret=secret.reveal())
    ex = cls(conf)
    point_ccxt_at(ex, sim)
    try:
        yield ex
    finally:
        await ex.close()


async def test_load_markets_lists_the_inverse_perpetuals() -> None:
    """contractSize in USD, settled in the coin, inverse, active: from /dapi/v1/exchangeInfo."""
    async with coinm_sim() as sim, client(sim, None) as ex:
        markets = await ex.load_markets()
        got = {
            s: (m["id"], m["contractSize"], m["inverse"], m["settle"], m["active"])
            for s, m in markets.items()
        }
        assert got == {
            "BTC/USD:BTC": ("BTCUSD_PERP", 100.0, True, "BTC", True),
            "ETH/USD:ETH": ("ETHUSD_PERP", 10.0, True, "ETH", True),
        }
        assert markets["BTC/USD:BTC"]["precision"]["price"] == 0.1


async def test_funding_rate_and_mark_price_are_the_markets() -> None:
    """fetch_funding_rate / fetch_mark_price read /dapi/v1/premiumIndex: BTCUSDT's mark and index."""
    async with coinm_sim() as sim, client(sim, None) as ex:
        sim.pause()
        fr = await ex.fetch_funding_rate("BTC/USD:BTC")
        mp = await ex.fetch_mark_price("ETH/USD:ETH")
        history = await ex.fetch_funding_rate_history("BTC/USD:BTC", limit=5)
    btc, eth = sim.coinm.market.quote("BTCUSD_PERP"), sim.coinm.market.quote("ETHUSD_PERP")
    assert (fr["markPrice"], fr["indexPrice"], fr["fundingRate"]) == (btc.mark, btc.index, btc.funding_rate)
    assert fr["fundingTimestamp"] == btc.next_funding_ms
    assert btc.mark == q8(sim.market.quotes["BTCUSDT"].mark)
    assert (mp["markPrice"], mp["indexPrice"]) == (eth.mark, eth.index)
    assert len(history) == 5 and all(h["symbol"] == "BTC/USD:BTC" for h in history)


async def test_fetch_positions_equal_the_engine_and_the_risk_model() -> None:
    """Cross one-way (erin), isolated (frank), cross hedge legs (gina): every figure is the engine's,
    and the LP is `coinm_liquidation_price` on the account's own numbers."""
    async with coinm_sim() as sim:
        sim.pause()
        for account in ("erin", "frank", "gina"):
            async with client(sim, account) as ex:
                got = {(p["symbol"], p["side"]): p for p in await ex.fetch_positions()}
            views = sim.coinm.engine.positions(account)
            assert len(got) == len(views)
            for v in views:
                p = got[(f"{v.coin}/USD:{v.coin}", "long" if v.contracts > 0 else "short")]
                assert p["contracts"] == abs(v.contracts)
                assert p["contractSize"] == sim.coinm.market.specs[v.symbol].contract_size
                assert (p["entryPrice"], p["markPrice"]) == (v.entry, v.mark)
                assert p["unrealizedPnl"] == v.upnl
                assert p["notional"] == abs(v.notional)
                assert p["marginMode"] == v.margin_mode
                assert p["hedged"] == (v.side != "BOTH")
                assert v.liquidation_price is not None
                assert p["liquidationPrice"] == q8(v.liquidation_price)
    # frank's isolated LP, by hand from the model: wallet 0.3 BTC, 1,000 contracts long
    frank = sim.coinm.engine.positions("frank")[0]
    b = sim.coinm.market.brackets["BTCUSD_PERP"]
    lp = coinm_liquidation_price(
        mark=frank.mark, wallet=0.3, brackets=b, contract_size=100.0, contracts=1000.0, entry=frank.entry
    )
    assert frank.liquidation_price == lp.price


async def test_fetch_balance_is_the_coin_wallets() -> None:
    """fetch_balance reads /dapi/v1/account: per-coin totals (wallet + UPnL) in coin."""
    async with coinm_sim() as sim, client(sim, "erin") as ex:
        sim.pause()
        bal = await ex.fetch_balance()
    assets = sim.coinm.engine.assets("erin")
    for coin in ("BTC", "ETH"):
        a = assets[coin]
        assert bal[coin]["total"] == q8(a["wallet"] + a["upnl"])
        assert bal[coin]["free"] == q8(max(0.0, a["cross_wallet"] + a["cross_upnl"] - a["im"]))


async def test_signed_calls_refuse_a_bad_key() -> None:
    async with coinm_sim() as sim, client(sim, None) as ex:
        ex.apiKey, ex.secret = "nobody", "nothing"
        with pytest.raises(ccxta.AuthenticationError):
            await ex.fetch_positions()


async def test_watch_mark_price_tracks_the_market() -> None:
    """ccxt.pro's `btcusd_perp@markPrice@1s` on the dstream base: each update is that tick's mark."""
    async with coinm_sim() as sim, client(sim, None, ccxtpro.binancecoinm) as ex:
        seen = []
        for _ in range(4):
            t = await asyncio.wait_for(ex.watch_mark_price("BTC/USD:BTC"), TIMEOUT)
            assert t["info"]["s"] == "BTCUSD_PERP"
            seen.append(t["markPrice"])
        assert len(set(seen)) > 1
        sim.pause()
        paused_ms = sim.clock.now_ns() // 1_000_000
        t = await asyncio.wait_for(ex.watch_mark_price("BTC/USD:BTC"), TIMEOUT)
        while t["timestamp"] < paused_ms:
            t = await asyncio.wait_for(ex.watch_mark_price("BTC/USD:BTC"), TIMEOUT)
        q = sim.coinm.market.quote("BTCUSD_PERP")
        assert (t["markPrice"], t["indexPrice"]) == (q.mark, q.index)


async def test_user_stream_tells_a_liquidation() -> None:
    """listenKey over REST (API key only), `/ws/<listenKey>` on dstream: frank's isolated long,
    driven past its LP through the venue's tick hook, arrives as ACCOUNT_UPDATE with the BTC wallet."""
    import aiohttp

    async with coinm_sim() as sim, aiohttp.ClientSession() as http:
        sim.pause()
        key = COINM_TEST_KEYS["frank"][0].reveal()
        async with http.post(f"{sim.coinm_rest_url}/dapi/v1/listenKey", headers={"X-MBX-APIKEY": key}) as r:
            listen_key = (await r.json())["listenKey"]
        async with http.ws_connect(f"{sim.coinm_ws_url}/ws/{listen_key}") as ws:
            lp = sim.coinm.engine.positions("frank")[0].liquidation_price
            assert lp is not None
            sim.coinm.tick([{"BTCUSDT": lp * 1.01}])
            assert sim.coinm.engine.accounts["frank"].positions  # not before the LP
            sim.coinm.tick([{"BTCUSDT": lp * 0.99}])
            msg = await asyncio.wait_for(ws.receive_json(), TIMEOUT)
            while msg.get("e") != "ACCOUNT_UPDATE":
                msg = await asyncio.wait_for(ws.receive_json(), TIMEOUT)
    assert msg["a"]["m"] == "ORDER"
    assert (msg["a"]["P"][0]["s"], msg["a"]["P"][0]["pa"], msg["a"]["P"][0]["mt"]) == (
        "BTCUSD_PERP",
        "0",
        "isolated",
    )
    assert msg["a"]["B"][0]["a"] == "BTC"
    assert float(msg["a"]["B"][0]["wb"]) == sim.coinm.engine.accounts["frank"].wallets["BTC"]
    assert sim.coinm.engine.accounts["frank"].positions == []


async def test_funding_settles_in_coin_and_joins_the_history() -> None:
    """Past a settlement time (a manual clock), erin's BTC wallet moves by the coin funding of her
    short and /dapi/v1/fundingRate lists the settlement."""
    import time

    from monitor.clock import ManualClock

    clock = ManualClock(time.time_ns())
    async with running_simulator(coinm_config(), TEST_KEYS | COINM_TEST_KEYS, clock) as sim:
        sim.pause()
        q = sim.coinm.market.quote("BTCUSD_PERP")
        before = sim.coinm.engine.accounts["erin"].wallets["BTC"]
        clock.advance((q.next_funding_ms - clock.now_ns() // 1_000_000) / 1000 + 1)
        sim.tick()
        after = sim.coinm.engine.accounts["erin"].wallets["BTC"]
        mark = sim.coinm.market.quote("BTCUSD_PERP").mark
        assert after == q8(before + q8(3000 * 100 / mark * q.funding_rate))
        async with client(sim, None) as ex:
            last = (await ex.fetch_funding_rate_history("BTC/USD:BTC", limit=1))[-1]
        assert (last["timestamp"], last["fundingRate"]) == (q.next_funding_ms, q.funding_rate)
