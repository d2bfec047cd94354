"""The Binance collector's shape: sockets per endpoint within the stream cap, tasks, the keepalive."""

from __future__ import annotations

from typing import Any

import ccxt.async_support as ccxt_async
import pytest

from monitor.clock import ManualClock
from monitor.collectors import build_collector
from monitor.collectors.binance.account import BinanceAccount, _SessionEnd
from monitor.collectors.binance.collector import BinanceUsdmCollector
from monitor.collectors.testing import RecordingStore
from monitor.config import parse_config
from monitor.records import AccountSnapshot, Balance, Fill, MarginCall, Position
from monitor.venues import Endpoints

ENV = {"K": "key-1234567890", "S": "secret-1234567890"}


def collector(**venue: Any) -> BinanceUsdmCollector:
    data = {
        "venues": [{"name": "binance", **venue}],
        "accounts": [{"name": "desk", "venue": "binance", "api_key_env": "K", "api_secret_env": "S"}],
    }
    cfg, secrets = parse_config(data, ENV)
    c = build_collector(cfg.venues[0], cfg, secrets, Endpoints(), RecordingStore(), ManualClock())
    assert isinstance(c, BinanceUsdmCollector)
    return c


def test_streams_are_split_per_endpoint_and_capped_per_socket() -> None:
    """450 perpetuals: marks on /market, books on /public, ≤ 200 streams per socket; spot on its host."""
    symbols = [f"S{i}USDT" for i in range(450)]
    c = collector(symbols=symbols, spot_symbols=["BTCUSDT"], max_streams_per_connection=200, depth_levels=0)
    feeds = {f.name: f for f in c.feeds()}
    assert sorted(feeds) == [
        "binance.market.0",
        "binance.market.1",
        "binance.market.2",
        "binance.public.0",
        "binance.public.1",
        "binance.public.2",
        "binance.spot.0",
    ]
    assert [len(feeds[f"binance.market.{i}"].subscriptions) for i in range(3)] == [200, 200, 50]
    assert feeds["binance.market.0"].url == "wss://fstream.binance.com/market/stream"
    assert feeds["binance.public.2"].subscriptions[-1] == "s449usdt@bookTicker"
    assert feeds["binance.spot.0"].url == "wss://stream.binance.com:9443/stream"
    assert feeds["binance.market.1"].limits == {f"mark:S{i}USDT": 3.0 for i in range(200, 400)}


def test_book_levels_have_sockets_of_their_own() -> None:
    """depth_levels = 20: `<symbol>@depth20@500ms` per perpetual on /public, its own sockets and parser."""
    c = collector(symbols=[f"S{i}USDT" for i in range(250)], max_streams_per_connection=200, depth_levels=20)
    feeds = {f.name: f for f in c.feeds()}
    assert [len(feeds[f"binance.depth.{i}"].subscriptions) for i in range(2)] == [200, 50]
    assert feeds["binance.depth.0"].url == "wss://fstream.binance.com/public/stream"
    assert feeds["binance.depth.1"].subscriptions[-1] == "s249usdt@depth20@500ms"
    assert feeds["binance.depth.1"].limits == {f"depth:perp:S{i}USDT": 10.0 for i in range(200, 250)}


def test_tasks_per_account_with_and_without_the_user_stream() -> None:
    """Each account has a reconciler, and a user stream unless it is turned off."""
    assert "binance.user.desk" in collector(symbols=["BTCUSDT"]).tasks()
    tasks = collector(symbols=["BTCUSDT"], user_stream=False).tasks()
    assert "binance.account.desk" in tasks and "binance.user.desk" not in tasks


class _DeadKeyExchange:
    async def fapiPrivatePutListenKey(self) -> Any:
        raise ccxt_async.BadRequest('binanceusdm {"code":-1125,"msg":"This listenKey does not exist."}')


async def test_keepalive_on_a_dead_key_ends_the_session() -> None:
    """PUT answered -1125: the session ends so a new key is created (not retried forever)."""
    c = collector(symbols=["BTCUSDT"], listen_key_keepalive_s=1800.0)
    watcher: BinanceAccount = c.watchers["desk"]
    with pytest.raises(_SessionEnd):
        await watcher._keepalive(_DeadKeyExchange())


def test_store_names_why_a_position_vanished() -> None:
    """The last fill since the leg was listed decides; an older one does not; a late one still counts."""
    store = RecordingStore()
    leg = Position(symbol="BTCUSDT", side="BOTH", qty=1.0, entry_price=100.0, margin_mode="cross")

    def snap(t: int, *legs: Position) -> AccountSnapshot:
        bal = (Balance(asset="USDT", wallet_balance=1.0),)
        return AccountSnapshot(
            venue="v", account="a", ts_event_ns=t, ts_recv_ns=t, positions=legs, balances=bal
        )

    def fill(t: int, kind: Any) -> Fill:
        return Fill(
            venue="v", account="a", ts_event_ns=t, ts_recv_ns=t, symbol="BTCUSDT", side="BOTH",
            kind=kind, qty=1.0, price=90.0, order_side="SELL",
        )  # fmt: skip

    store.put(snap(1, leg))
    store.put(fill(2, "liquidation"))
    store.put(snap(3))
    gone = store.snapshot(4).gone[("v", "a", "BTCUSDT", "BOTH")]
    assert (gone.reason, gone.price) == ("liquidated", 90.0)
    store.put(snap(5, leg))
    store.put(snap(6))
    assert store.snapshot(7).gone[("v", "a", "BTCUSDT", "BOTH")].reason == "unknown"  # that fill was before
    store.put(fill(8, "adl"))
    assert store.snapshot(9).gone[("v", "a", "BTCUSDT", "BOTH")].reason == "adl"
    store.put(snap(10, leg))
    store.put(fill(11, "trade"))  # the account's own order closed it
    store.put(snap(12))
    assert store.snapshot(13).gone[("v", "a", "BTCUSDT", "BOTH")].reason == "closed"


def test_store_keeps_the_last_margin_call_per_account() -> None:
    """A MARGIN_CALL record is in the snapshot for the evaluator and /debug."""
    store = RecordingStore()
    call = MarginCall(venue="v", account="a", ts_event_ns=1, ts_recv_ns=1, cross_wallet=3.0, positions=())
    store.put(call)
    assert store.snapshot(2).margin_calls[("v", "a")] is call
