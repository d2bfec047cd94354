"""The Hyperliquid collector's shape: one subscription per coin within the stream cap, its tasks, no key."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from monitor.clock import ManualClock
from monitor.collectors import build_collector
from monitor.collectors.hyperliquid.account import HlAccount
from monitor.collectors.hyperliquid.collector import HL_DIALECT, HyperliquidCollector
from monitor.collectors.testing import RecordingStore
from monitor.config import parse_config
from monitor.records import AccountSnapshot
from monitor.venues import Endpoints

ADDRESS = "0x" + "ab" * 20
FRAMES = Path(__file__).parents[2] / "testdata" / "frames" / "hyperliquid"


def collector(endpoints: Endpoints | None = None, **venue: Any) -> HyperliquidCollector:
    data = {
        "venues": [{"name": "hl", "kind": "hyperliquid", "symbols": ["BTC"], **venue}],
        "accounts": [{"name": "desk", "venue": "hl", "address": ADDRESS}],
    }
    cfg, secrets = parse_config(data, {})
    c = build_collector(
        cfg.venues[0], cfg, secrets, endpoints or Endpoints(), RecordingStore(), ManualClock()
    )
    assert isinstance(c, HyperliquidCollector)
    return c


def test_one_subscription_per_coin_capped_per_socket() -> None:
    c = collector(symbols=[f"C{i}" for i in range(250)], max_streams_per_connection=200)
    feeds = {f.name: f for f in c.feeds()}
    assert sorted(feeds) == ["hl.perp.0", "hl.perp.1"]
    assert feeds["hl.perp.0"].url == "wss://api.hyperliquid.xyz/ws"
    assert [len(feeds[f"hl.perp.{i}"].subscriptions) for i in range(2)] == [200, 50]
    assert feeds["hl.perp.1"].subscriptions[-1] == "activeAssetCtx:C249"
    assert set(feeds["hl.perp.0"].limits) == {f"mark:C{i}" for i in range(200)}


def test_the_dialect_is_the_venues() -> None:
    """One subscription per message (`max_batch = 1`), an application ping inside the 60 s idle cut."""
    msg = json.loads(HL_DIALECT.subscribe(["activeAssetCtx:ETH"], 7))
    assert msg == {"method": "subscribe", "subscription": {"type": "activeAssetCtx", "coin": "ETH"}}
    assert HL_DIALECT.max_batch == 1 and HL_DIALECT.app_ping_s < 60
    assert HL_DIALECT.app_ping is not None and json.loads(HL_DIALECT.app_ping(1)) == {"method": "ping"}
    assert HL_DIALECT.is_pong is not None and HL_DIALECT.is_pong('{"channel":"pong"}')
    assert not HL_DIALECT.is_pong('{"channel":"allMids","data":{}}')


def test_tasks_and_the_account_read_by_its_address() -> None:
    c = collector(endpoints=Endpoints("http://127.0.0.1:9", "ws://127.0.0.1:9"))
    assert set(c.tasks()) == {
        "hl.reference", "hl.history", "hl.perp.0", "hl.held", "hl.account.desk", "hl.user.desk",
    }  # fmt: skip
    (w,) = c.watchers.values()
    assert isinstance(w, HlAccount) and w.address == ADDRESS.lower()
    assert c.feeds()[0].url == "ws://127.0.0.1:9/ws"
    ex = c._client("desk")
    try:
        assert ex.urls["api"]["public"] == "http://127.0.0.1:9"  # the info endpoint, pointed
    finally:
        asyncio.run(ex.close())


async def test_the_key_check_has_nothing_to_refuse() -> None:
    c = collector()
    await c.check_keys()  # no key, no permission call: an address cannot trade or withdraw
    assert await c.keys.verdict("desk", attempts=1)  # accepted without allow_trading_key


def test_account_frames_are_whole_snapshots_and_bad_ones_are_counted() -> None:
    c = collector()
    (w,) = c.watchers.values()
    assert isinstance(w, HlAccount)
    docs = json.loads((FRAMES / "clearinghouse_state_docs.json").read_text())
    data = {"dex": "", "user": ADDRESS, "clearinghouseState": docs}
    frame = json.dumps({"channel": "clearinghouseState", "data": data})
    w._handle('{"channel":"subscriptionResponse","data":{}}')
    w._handle(frame)
    (snap,) = c.sink.of(AccountSnapshot)
    assert [p.symbol for p in snap.positions] == ["ETH"] and w.held_symbols == {"ETH": None}
    w._handle(frame.replace(ADDRESS, "0x" + "00" * 20))  # another user's state is never this account's
    w._handle(frame[:80])
    w._handle('{"channel":"error","data":"Invalid subscription"}')
    assert dict(c.stats.dropped) == {"schema": 1, "json": 1, "venue_error": 1}
    assert len(c.sink.of(AccountSnapshot)) == 1
