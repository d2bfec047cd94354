"""Unmodified ccxt 4.5.90 REST clients against the simulator: every figure equals the engine's.

Only `exchange.urls` is touched (through `point_ccxt_at`). The market is paused before comparing,
so the engine and the wire describe the same instant.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import ccxt
import ccxt.async_support as ccxta
import pytest

from monitor.sim.ccxt_urls import point_ccxt_at
from monitor.sim.server import Simulator
from monitor.sim.testing import TEST_KEYS, running_simulator

pytestmark = pytest.mark.integration


@asynccontextmanager
async def client(
    sim: Simulator, account: str | None = "alice", cls: Any = ccxta.binanceusdm, **options: Any
) -> AsyncIterator[Any]:
    conf: dict[str, Any] = {"options": options} if options else {}
    if account is not None:
        key, secret = TEST_KEYS[account]
        conf.update(apiKey=key.reveal(), secret=secret.reveal())
    ex = cls(conf)
    point_ccxt_at(ex, sim)
    try:
        yield ex
    finally:
        await ex.close()


@pytest.mark.parametrize("fetch_currencies", [True, False])
async def test_load_markets_with_keys(fetch_currencies: bool) -> None:
    """With keys ccxt calls SAPI (served) unless fetchCurrencies is off; both load the perps."""
    async with running_simulator() as sim, client(sim, fetchCurrencies=fetch_currencies) as ex:
        markets = await ex.load_markets()
        btc = markets["BTC/USDT:USDT"]
        assert (btc["id"], btc["swap"], btc["linear"], btc["settle"], btc["active"]) == (
            "BTCUSDT",
            True,
            True,
            "USDT",
            True,
        )
        assert btc["precision"]["price"] == 0.1 and btc["precision"]["amount"] == 0.001
        assert {"ETH/USDT:USDT", "SOL/USDT:USDT"} <= set(markets)


async def test_fetch_positions_equal_the_engine() -> None:
    """contracts, entry, mark, LP, UPnL, notional, margin mode, side, hedged: cross and hedge isolated."""
    async with running_simulator() as sim:
        sim.pause()
        for account in ("alice", "bob"):
            async with client(sim, account) as ex:
                got = {(p["symbol"], p["side"]): p for p in await ex.fetch_positions()}
            views = sim.engine.positions(account)
            assert len(got) == len(views)
            for v in views:
                side = "long" if v.qty > 0 else "short"
                p = got[(f"{v.symbol[:-4]}/USDT:USDT", side)]
                assert p["contracts"] == abs(v.qty)
                assert p["entryPrice"] == v.entry
                assert p["markPrice"] == v.mark
                assert p["liquidationPrice"] == v.liquidation_price
                assert p["unrealizedPnl"] == v.unrealized_pnl
                assert p["notional"] == v.notional
                assert p["initialMargin"] == v.initial_margin
                assert p["marginMode"] == v.margin_mode
                assert p["hedged"] == (v.side != "BOTH")
                # ccxt's own maintenance margin is mmr × notional: it ignores cum (pitfall 7)
                assert p["maintenanceMargin"] == pytest.approx(v.maint_margin_ratio * v.notional, rel=1e-12)
                assert p["info"]["maintMargin"] == f"{v.maint_margin:.8f}"
                if v.margin_mode == "isolated":
                    assert p["collateral"] == v.isolated_margin
        assert sim.engine.position("bob", "BTCUSDT", "SHORT") is not None


async def test_cross_collateral_back_solved_by_ccxt_is_the_cross_wallet_when_alone() -> None:
    """ccxt back-solves collateral from the LP; with one position it returns the wallet (§3.4)."""
    from monitor.config import SimAccountConfig, SimPositionConfig
    from monitor.sim.testing import fast_config

    solo = SimAccountConfig(
        name="alice",
        api_key_env="A",
        api_secret_env="B",
        wallet_usdt=3_000.0,
        positions=(SimPositionConfig(symbol="BTCUSDT", qty=0.5, leverage=20.0),),
    )
    async with running_simulator(fast_config(accounts=(solo,))) as sim:
        sim.pause()
        async with client(sim) as ex:
            (p,) = await ex.fetch_positions()
        assert p["collateral"] == pytest.approx(3_000.0, abs=0.02)  # ccxt rounds to the price precision
        assert p["liquidationPrice"] == sim.engine.liquidation_price("alice", "BTCUSDT")


async def test_fetch_balance_equals_the_engine() -> None:
    async with running_simulator() as sim, client(sim) as ex:
        sim.pause()
        bal = await ex.fetch_balance()
        s = sim.engine.summary("alice")
        assert bal["USDT"]["total"] == s.margin_balance
        assert bal["USDT"]["free"] == s.available_balance
        assert bal["USDT"]["used"] == s.initial_margin
        assert float(bal["info"]["totalWalletBalance"]) == s.wallet_balance
        assert float(bal["info"]["totalMaintMargin"]) == s.maint_margin


async def test_funding_rates_mark_prices_and_intervals() -> None:
    async with running_simulator() as sim, client(sim, None) as ex:
        sim.pause()
        quotes = sim.market.quotes
        one = await ex.fetch_funding_rate("BTC/USDT:USDT")
        q = quotes["BTCUSDT"]
        assert (one["fundingRate"], one["markPrice"], one["indexPrice"]) == (q.funding_rate, q.mark, q.index)
        assert one["fundingTimestamp"] == q.next_funding_ms and one["interestRate"] == 0.0001
        every = await ex.fetch_funding_rates()
        assert {s: r["fundingRate"] for s, r in every.items()} == {
            f"{k[:-4]}/USDT:USDT": v.funding_rate for k, v in quotes.items()
        }
        marks = await ex.fetch_mark_prices()
        assert {s: t["markPrice"] for s, t in marks.items()} == {
            f"{k[:-4]}/USDT:USDT": v.mark for k, v in quotes.items()
        }
        mark = await ex.fetch_mark_price("ETH/USDT:USDT")
        assert (mark["markPrice"], mark["indexPrice"]) == (quotes["ETHUSDT"].mark, quotes["ETHUSDT"].index)
        intervals = await ex.fetch_funding_intervals()
        assert {s: i["interval"] for s, i in intervals.items()} == {
            "SOL/USDT:USDT": "4h",
            "XRP/USDT:USDT": "1h",
        }


async def test_funding_history_is_real_and_ends_before_now() -> None:
    async with running_simulator() as sim, client(sim, None) as ex:
        hist = await ex.fetch_funding_rate_history("BTC/USDT:USDT", limit=50)
        assert len(hist) == 50
        times = [h["timestamp"] for h in hist]
        assert times == sorted(times) and times[-1] <= sim.market.quotes["BTCUSDT"].time_ms
        assert all(abs(h["fundingRate"]) <= 0.003 for h in hist)


async def test_leverage_tiers_are_the_engine_brackets() -> None:
    async with running_simulator() as sim, client(sim) as ex:
        tiers = await ex.fetch_leverage_tiers()
        for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
            got = tiers[f"{symbol[:-4]}/USDT:USDT"]
            want = sim.engine.brackets(symbol)
            assert [
                (t["minNotional"], t["maxNotional"], t["maintenanceMarginRate"], t["maxLeverage"])
                for t in got
            ] == [(b.floor, b.cap, b.mmr, b.max_leverage) for b in want]


async def test_books_futures_and_spot() -> None:
    """Futures bookTicker via binanceusdm; spot `fetch_bids_asks(['BTC/USDT'])` via ccxt.binance."""
    async with running_simulator() as sim:
        sim.pause()
        q = sim.market.quotes["BTCUSDT"]
        async with client(sim, None) as ex:
            fut = await ex.fetch_bids_asks(["BTC/USDT:USDT"])
        assert (fut["BTC/USDT:USDT"]["bid"], fut["BTC/USDT:USDT"]["ask"]) == (q.bid, q.ask)
        async with client(sim, "alice", ccxta.binance, fetchMarkets={"types": ["spot", "linear"]}) as spot:
            books = await spot.fetch_bids_asks(["BTC/USDT"])
        b = books["BTC/USDT"]
        assert (b["bid"], b["bidVolume"], b["ask"], b["askVolume"]) == (
            q.spot_bid,
            q.spot_bid_qty,
            q.spot_ask,
            q.spot_ask_qty,
        )


async def test_position_mode_and_sync_client() -> None:
    """The synchronous ccxt client works too (run in a thread: the simulator owns this loop)."""
    import asyncio

    async with running_simulator() as sim:
        key, secret = TEST_KEYS["bob"]
        ex = ccxt.binanceusdm(
            {"apiKey": key.reveal(), "secret": secret.reveal(), "options": {"fetchCurrencies": False}}
        )
        point_ccxt_at(ex, sim)
        mode = await asyncio.to_thread(ex.fetch_position_mode)
        assert mode["hedged"] is True


async def test_auth_failures_map_to_ccxt_exceptions() -> None:
    """Bad secret / unknown key → AuthenticationError; a stale timestamp (-1021) → InvalidNonce."""
    async with running_simulator() as sim:
        async with client(sim, fetchCurrencies=False) as ex:
            await ex.load_markets()
            ex.secret = "not-the-secret"
            with pytest.raises(ccxt.AuthenticationError):
                await ex.fetch_balance()
            ex.apiKey = "unknown-key"
            with pytest.raises(ccxt.AuthenticationError):
                await ex.fetch_balance()
        async with client(sim, fetchCurrencies=False) as ex:
            await ex.load_markets()
            ex.options["timeDifference"] = 30_000  # ccxt signs now − 30 s; recvWindow is 10 s
            with pytest.raises(ccxt.InvalidNonce):
                await ex.fetch_balance()


async def test_rest_faults_as_ccxt_sees_them() -> None:
    """5xx → ExchangeNotAvailable; 429 then 418 → DDoSProtection; then service resumes."""
    async with running_simulator() as sim, client(sim, None) as ex:
        await ex.load_markets()
        sim.faults.fail_rest(1, status=503)
        with pytest.raises(ccxt.ExchangeNotAvailable):
            await ex.fetch_mark_price("BTC/USDT:USDT")
        sim.faults.rate_limit(calls_429=1, calls_418=1, retry_after_s=3)
        for _ in range(2):
            with pytest.raises(ccxt.DDoSProtection):
                await ex.fetch_mark_price("BTC/USDT:USDT")
        assert (await ex.fetch_mark_price("BTC/USDT:USDT"))["markPrice"] > 0


async def test_position_variants_v2_and_account_agree_with_v3() -> None:
    """`useV2` (every symbol, zero rows dropped by ccxt) and `method: account` give the same book."""
    async with running_simulator() as sim, client(sim, fetchCurrencies=False) as ex:
        sim.pause()
        v3 = {p["symbol"]: p for p in await ex.fetch_positions()}
        v2 = {p["symbol"]: p for p in await ex.fetch_positions(params={"useV2": True})}
        acct = {p["symbol"]: p for p in await ex.fetch_positions(params={"method": "account"})}
        assert set(v3) == set(v2) == {"BTC/USDT:USDT", "ETH/USDT:USDT"}
        for symbol, p in v3.items():
            assert (v2[symbol]["contracts"], v2[symbol]["entryPrice"], v2[symbol]["liquidationPrice"]) == (
                p["contracts"],
                p["entryPrice"],
                p["liquidationPrice"],
            )
            assert (
                v2[symbol]["leverage"]
                == sim.engine.position("alice", symbol.replace("/USDT:USDT", "USDT")).leverage
            )
            assert (acct[symbol]["contracts"], acct[symbol]["unrealizedPnl"]) == (
                p["contracts"],
                p["unrealizedPnl"],
            )


async def test_open_interest_now_and_history() -> None:
    """Synthetic open interest (the replay has none): current via fapi, 5-minute history via /futures/data."""
    async with running_simulator() as sim, client(sim, None) as ex:
        sim.pause()
        oi = await ex.fetch_open_interest("BTC/USDT:USDT")
        mark = sim.market.quotes["BTCUSDT"].mark
        assert oi["openInterestAmount"] == round(5e9 / mark, 3)
        hist = await ex.fetch_open_interest_history("BTC/USDT:USDT", "5m")
        assert len(hist) == 1 and hist[0]["timestamp"] % 300_000 == 0
