"""Unmodified ccxt 4.5 `bybit` (async_support and pro) against the simulated Bybit: values equal the engine's.

Only `exchange.urls` is touched (through `point_ccxt_at`). The market is paused before comparing, so
the engine and the wire describe the same instant.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import ccxt
import ccxt.async_support as ccxta
import ccxt.pro as ccxtpro
import pytest

from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.control import SimControl
from monitor.sim.server import Simulator
from monitor.sim.testing import BYBIT_TEST_KEYS, bybit_config, running_simulator

pytestmark = pytest.mark.integration
TIMEOUT = 5.0


async def quiet(watch: Callable[[], Awaitable[Any]], last: Any = None, gap_s: float = 0.6) -> Any:
    """Drain a watch until nothing arrives for `gap_s`; the last update it returned (or `last`)."""
    while True:
        try:
            last = await asyncio.wait_for(watch(), gap_s)
        except TimeoutError:
            return last


async def watching(ex: Any, sim: Simulator, waits: tuple[str, ...], topics: tuple[str, ...]) -> None:
    """Until ccxt waits on `waits` (its message hashes) and the simulator routes dave's `topics` to his
    socket: an event raised before both is lost or taken by no one (a fixed 0.3 s sleep was the
    guess before; a watch subscribes in the background, later on a loaded box)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + 10.0
    while not (
        all(any(k.startswith(w) for c in ex.clients.values() for k in c.futures) for w in waits)
        and any(c.account == "dave" and set(topics) <= c.topics for c in sim.bybit.hub.connections)
    ):
        if loop.time() > end:
            raise AssertionError(f"no watch on {waits} with {topics} subscribed")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def client(
    sim: Simulator, account: str | None = "carol", cls: Any = ccxta.bybit, **conf: Any
) -> AsyncIterator[Any]:
    if account is not None:
        key, secret = BYBIT_TEST_KEYS[account]
        conf = {"apiKey": key.reveal(), "secret": secret.reveal(), **conf}
    ex = cls(conf)
    point_ccxt_at(ex, sim)
    try:
        yield ex
    finally:
        await ex.close()


async def test_load_markets_with_and_without_keys() -> None:
    """With keys ccxt also asks /v5/asset/coin/query-info; both load the linear perps and spot pairs."""
    async with running_simulator(bybit_config()) as sim:
        for account in ("carol", None):
            async with client(sim, account) as ex:
                markets = await ex.load_markets()
                btc = markets["BTC/USDT:USDT"]
                assert (btc["id"], btc["swap"], btc["linear"], btc["settle"], btc["active"]) == (
                    "BTCUSDT",
                    True,
                    True,
                    "USDT",
                    True,
                )
                assert (btc["precision"]["amount"], btc["precision"]["price"]) == (0.001, 0.1)
                assert btc["limits"]["leverage"]["max"] == 100.0
                assert {"ETH/USDT:USDT", "SOL/USDT:USDT", "BTC/USDT", "ETH/USDT", "SOL/USDT"} <= set(markets)
                # coin rows from the private coin-info call only with keys; else derived from markets
                assert (ex.currencies["USDT"]["info"] is not None) == (account is not None)


async def test_fetch_ticker_and_funding_rates_equal_the_market() -> None:
    async with running_simulator(bybit_config()) as sim, client(sim, None) as ex:
        sim.pause()
        await asyncio.sleep(0.1)
        q = sim.bybit.market.quotes["BTCUSDT"]
        t = await ex.fetch_ticker("BTC/USDT:USDT")
        assert (t["markPrice"], t["indexPrice"], t["bid"], t["ask"], t["last"]) == (
            q.mark,
            q.index,
            q.bid,
            q.ask,
            q.last,
        )
        spot = await ex.fetch_ticker("BTC/USDT")
        assert (spot["bid"], spot["ask"]) == (q.spot_bid, q.spot_ask)
        rates = await ex.fetch_funding_rates(["BTC/USDT:USDT", "SOL/USDT:USDT"])
        for symbol, hours in (("BTC", "8h"), ("SOL", "1h")):
            fr = rates[f"{symbol}/USDT:USDT"]
            qs = sim.bybit.market.quotes[f"{symbol}USDT"]
            assert (fr["fundingRate"], fr["fundingTimestamp"], fr["interval"]) == (
                qs.funding_rate,
                qs.next_funding_ms,
                hours,
            )
        one = await ex.fetch_funding_rate("SOL/USDT:USDT")
        assert one["fundingRate"] == sim.bybit.market.quotes["SOLUSDT"].funding_rate
        history = await ex.fetch_funding_rate_history("BTC/USDT:USDT", limit=10)
        stored = sim.bybit.funding.query("BTCUSDT", None, None, 10)
        assert [(h["timestamp"], h["fundingRate"]) for h in history] == [(r.time_ms, r.rate) for r in stored]
        tiers = (await ex.fetch_leverage_tiers(["BTC/USDT:USDT"]))["BTC/USDT:USDT"]
        spec_tiers = sim.bybit.market.specs["BTCUSDT"].tiers
        assert [(t["maxNotional"], t["maintenanceMarginRate"], t["maxLeverage"]) for t in tiers] == [
            (s.limit, s.mmr, s.max_leverage) for s in spec_tiers
        ]


async def test_fetch_positions_equal_the_engine() -> None:
    """Cross (carol) and isolated (dave, the documented long, LP 9,849.3 on the mark): ccxt matches it."""
    async with running_simulator(bybit_config()) as sim:
        sim.pause()
        for account in ("carol", "dave"):
            async with client(sim, account) as ex:
                got = {p["symbol"]: p for p in await ex.fetch_positions()}
            views = sim.bybit.engine.positions(account)
            assert len(got) == len(views) == 2
            for v in views:
                p = got[f"{v.symbol[:-4]}/USDT:USDT"]
                assert p["contracts"] == v.size
                assert p["side"] == ("long" if v.qty > 0 else "short")
                assert p["entryPrice"] == v.avg_price
                assert p["markPrice"] == v.mark
                assert (p["unrealizedPnl"] or 0.0) == v.upnl
                assert p["notional"] == v.value
                assert p["initialMargin"] == v.im
                assert p["maintenanceMargin"] == v.mm
                assert p["liquidationPrice"] == (v.liq_price or None)
                assert p["collateral"] == pytest.approx(v.balance + v.upnl, abs=1e-8)
                assert p["hedged"] is False
        dave_btc = sim.bybit.engine.position("dave", "BTCUSDT")
        assert dave_btc is not None and dave_btc.liq_price == 9_849.3  # (10,000 − 200)/0.995; 2024: 9,850
        async with client(sim, "carol") as ex:  # by name: a flat symbol still has its row
            flat = await ex.fetch_position("ETH/USDT:USDT")
            held = await ex.fetch_positions(["BTC/USDT:USDT"])
        assert (flat["symbol"], flat["contracts"], flat["liquidationPrice"]) == ("ETH/USDT:USDT", 0.0, None)
        assert [(p["symbol"], p["side"]) for p in held] == [("BTC/USDT:USDT", "short")]


async def test_fetch_balance_equals_the_wallet() -> None:
    async with running_simulator(bybit_config()) as sim, client(sim) as ex:
        sim.pause()
        w = sim.bybit.engine.wallet("carol")
        bal = await ex.fetch_balance()
        assert (bal["USDT"]["total"], bal["USDT"]["free"]) == (w.wallet, w.available)
        info = bal["info"]["result"]["list"][0]
        assert (float(info["totalEquity"]), float(info["totalMaintenanceMargin"])) == (
            w.equity,
            w.maint_margin,
        )
        assert float(info["accountMMRate"]) == w.mm_rate


async def test_wrong_credentials_raise_authentication_errors() -> None:
    async with running_simulator(bybit_config()) as sim:
        async with client(sim, None, apiKey="unknown", secret="x") as ex:
            with pytest.raises(ccxt.AuthenticationError):
                await ex.fetch_positions(None, {"type": "swap"})
        key, _secret = BYBIT_TEST_KEYS["carol"]
        async with client(sim, None, apiKey=key.reveal(), secret="not-the-secret") as ex:
            ex.options["enableUnifiedAccount"] = ex.options["enableUnifiedMargin"] = True
            with pytest.raises(ccxt.AuthenticationError):
                await ex.fetch_balance()


async def test_pro_watch_ticker_merges_deltas_into_the_market() -> None:
    async with running_simulator(bybit_config()) as sim, client(sim, None, ccxtpro.bybit) as ex:
        marks = []
        for _ in range(4):
            t = await asyncio.wait_for(ex.watch_ticker("ETH/USDT:USDT"), TIMEOUT)
            marks.append(t["markPrice"])
        assert len(set(marks)) > 1
        sim.pause()
        t = await quiet(lambda: ex.watch_ticker("ETH/USDT:USDT"), t)  # a frozen market sends no deltas
        q = sim.bybit.market.quotes["ETHUSDT"]
        assert (t["markPrice"], t["indexPrice"], t["bid"], t["ask"]) == (q.mark, q.index, q.bid, q.ask)
        assert float(t["info"]["fundingRate"]) == q.funding_rate


async def test_pro_watch_positions_and_balance() -> None:
    async with running_simulator(bybit_config()) as sim, client(sim, "dave", ccxtpro.bybit) as ex:
        sim.pause()
        snapshot = await asyncio.wait_for(ex.watch_positions(), TIMEOUT)
        assert {p["symbol"]: p["liquidationPrice"] for p in snapshot}["BTC/USDT:USDT"] == 9_849.3

        async def change(wait: str, topic: str) -> None:
            await watching(ex, sim, (wait,), (topic,))
            sim.bybit.engine.set_position("dave", "SOLUSDT", 100.0, leverage=10.0, now_ms=sim.bybit.now_ms())

        task = asyncio.create_task(change("positions", "position"))
        update = await asyncio.wait_for(ex.watch_positions(), TIMEOUT)
        await task
        sol = sim.bybit.engine.position("dave", "SOLUSDT")
        assert sol is not None
        assert [(p["symbol"], p["contracts"], p["liquidationPrice"]) for p in update] == [
            ("SOL/USDT:USDT", 100.0, sol.liq_price)
        ]
        task = asyncio.create_task(change("balances", "wallet"))
        balance = await asyncio.wait_for(ex.watch_balance(), TIMEOUT)
        await task
        w = sim.bybit.engine.wallet("dave")
        assert (balance["USDT"]["total"], balance["USDT"]["free"]) == (w.equity, w.available)


async def test_one_venue_stalls_while_the_other_streams() -> None:
    """Binance's feed frozen (sockets up): Bybit tickers keep coming; and the other way round."""
    async with (
        running_simulator(bybit_config()) as sim,
        client(sim, None, ccxtpro.bybit) as bybit,
        client(sim, None, ccxtpro.binanceusdm, options={"fetchCurrencies": False}) as binance,
    ):
        await asyncio.wait_for(bybit.watch_ticker("BTC/USDT:USDT"), TIMEOUT)
        await asyncio.wait_for(binance.watch_mark_price("BTC/USDT:USDT"), TIMEOUT)
        sim.faults.stall()
        await quiet(lambda: binance.watch_mark_price("BTC/USDT:USDT"))  # what was in flight
        for _ in range(3):
            await asyncio.wait_for(bybit.watch_ticker("BTC/USDT:USDT"), TIMEOUT)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(binance.watch_mark_price("BTC/USDT:USDT"), 0.3)
        sim.faults.stall(False)
        sim.bybit.faults.stall()
        await quiet(lambda: bybit.watch_ticker("BTC/USDT:USDT"))
        for _ in range(3):
            await asyncio.wait_for(binance.watch_mark_price("BTC/USDT:USDT"), TIMEOUT)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(bybit.watch_ticker("BTC/USDT:USDT"), 0.3)


async def test_pro_watch_bids_asks_on_spot_and_linear_books() -> None:
    """`orderbook.1.*`: ccxt's book tops equal the market's spot and perp tops."""
    async with running_simulator(bybit_config()) as sim, client(sim, None, ccxtpro.bybit) as ex:
        await asyncio.wait_for(ex.watch_bids_asks(["BTC/USDT"]), TIMEOUT)
        await asyncio.wait_for(ex.watch_bids_asks(["BTC/USDT:USDT"]), TIMEOUT)
        sim.pause()
        await quiet(lambda: ex.watch_bids_asks(["BTC/USDT"]))
        await quiet(lambda: ex.watch_bids_asks(["BTC/USDT:USDT"]))
        q = sim.bybit.market.quotes["BTCUSDT"]
        spot, perp = ex.bidsasks["BTC/USDT"], ex.bidsasks["BTC/USDT:USDT"]
        assert (spot["bid"], spot["bidVolume"], spot["ask"], spot["askVolume"]) == (
            q.spot_bid,
            q.spot_bid_size,
            q.spot_ask,
            q.spot_ask_size,
        )
        assert (perp["bid"], perp["bidVolume"], perp["ask"], perp["askVolume"]) == (
            q.bid,
            q.bid_size,
            q.ask,
            q.ask_size,
        )


async def test_pro_watch_positions_sees_a_market_driven_liquidation() -> None:
    """The market pinned below dave's 9,849.3: the venue takes the long over and ccxt hears size 0."""
    async with running_simulator(bybit_config()) as sim, client(sim, "dave", ccxtpro.bybit) as ex:
        await asyncio.wait_for(ex.watch_positions(), TIMEOUT)  # the REST snapshot
        pending = asyncio.ensure_future(ex.watch_positions(["BTC/USDT:USDT"]))
        fills = asyncio.ensure_future(ex.watch_my_trades())
        await watching(ex, sim, ("positions", "myTrades"), ("position", "execution"))
        SimControl(sim).set_price("BTCUSDT", 9_000.0)
        update = await asyncio.wait_for(pending, TIMEOUT)
        (fill,) = await asyncio.wait_for(fills, TIMEOUT)
        assert (fill["symbol"], fill["side"], fill["amount"], fill["price"]) == (
            "BTC/USDT:USDT",
            "sell",
            1.0,
            9_800.0,
        )
        assert fill["info"]["execType"] == "BustTrade"
        (liq,) = [x for x in sim.bybit.engine.liquidations if x.account == "dave"]
        assert (liq.symbol, liq.liq_price, liq.loss) == ("BTCUSDT", 9_849.3, 200.0)
        assert liq.price <= 9_849.3
        assert [(p["symbol"], p["contracts"]) for p in update] == [("BTC/USDT:USDT", 0.0)]
        assert sim.bybit.engine.position("dave", "BTCUSDT") is None


async def test_fetch_order_book_and_open_interest() -> None:
    async with running_simulator(bybit_config()) as sim, client(sim, None) as ex:
        sim.pause()
        await asyncio.sleep(0.1)
        q = sim.bybit.market.quotes["ETHUSDT"]
        book = await ex.fetch_order_book("ETH/USDT:USDT", 10)
        assert (len(book["bids"]), len(book["asks"])) == (10, 10)
        assert (book["bids"][0], book["asks"][0]) == ([q.bid, q.bid_size], [q.ask, q.ask_size])
        assert all(a[0] > b[0] for a, b in zip(book["bids"], book["bids"][1:], strict=False))
        spot = await ex.fetch_order_book("ETH/USDT")
        assert (spot["bids"][0][0], spot["asks"][0][0]) == (q.spot_bid, q.spot_ask)
        oi = await ex.fetch_open_interest("ETH/USDT:USDT")
        last_hour = [p for p in sim.bybit.open_interest["ETHUSDT"] if p[0] % 3_600_000 == 0][-1]
        assert (oi["timestamp"], oi["openInterestAmount"]) == last_hour
        with pytest.raises(ccxt.BadRequest):
            await ex.fetch_order_book("ETH/USDT:USDT", 501)
