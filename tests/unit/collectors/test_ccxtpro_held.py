"""The generic collector's account loop with a symbol held beyond the config, on a scripted ccxt client.

No machine is reached: the client answers `load_markets`, `fetch_positions` and `fetch_balance`
(and `fetch_leverage_tiers` where the venue has it) from here, on a manual clock.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from monitor.clock import NS_PER_S, ManualClock
from monitor.collectors import build_collector
from monitor.collectors.generic.collector import CcxtProCollector
from monitor.collectors.testing import RecordingStore
from monitor.config import parse_config
from monitor.records import AccountSnapshot, FeedState, LeverageTiers, MarkPrice
from monitor.venues import Endpoints

ENV = {"K": "key-5f1e2d3c", "S": "secret-9a8b7c6d"}
MARKETS = {
    f"{b}/USDT:USDT": {"base": b, "quote": "USDT", "settle": "USDT", "swap": True, "linear": True}
    for b in ("BTC", "ETH")
}
ETH_ROW = {
    "symbol": "ETH/USDT:USDT",
    "side": "short",
    "contracts": 3,
    "entryPrice": 3500.0,
    "marginMode": "cross",
    "markPrice": 3600.0,
    "liquidationPrice": 4100.0,
    "maintenanceMargin": 54.0,
}
TIERS = [{"minNotional": 0, "maxNotional": 1e9, "maintenanceMarginRate": 0.005, "maxLeverage": 50}]


class Client:
    """A ccxt client of a venue that lists BTC and ETH perpetuals; the account is short ETH only."""

    def __init__(self, calls: list[Any], tiers: bool) -> None:
        self.has = {"fetchLeverageTiers": tiers}
        self.calls = calls

    async def load_markets(self) -> dict[str, Any]:
        return MARKETS

    async def fetch_positions(self) -> list[dict[str, Any]]:
        self.calls.append("positions")
        return [ETH_ROW]

    async def fetch_balance(self) -> dict[str, Any]:
        return {"total": {"USDT": 10_000.0}}

    async def fetch_leverage_tiers(self, symbols: list[str]) -> dict[str, Any]:
        self.calls.append(("tiers", tuple(symbols)))
        return {s: TIERS for s in symbols}

    async def close(self) -> None:
        pass


def collector(
    monkeypatch: pytest.MonkeyPatch, tiers: bool
) -> tuple[CcxtProCollector, list[Any], RecordingStore]:
    data = {
        "venues": [{"name": "x", "kind": "ccxt", "exchange": "okx", "symbols": ["BTCUSDT"], "poll_s": 2.0}],
        "accounts": [{"name": "desk", "venue": "x", "api_key_env": "K", "api_secret_env": "S"}],
    }
    cfg, secrets = parse_config(data, ENV)
    store = RecordingStore()
    c = build_collector(cfg.venues[0], cfg, secrets, Endpoints(), store, ManualClock())
    assert isinstance(c, CcxtProCollector)
    calls: list[Any] = []
    monkeypatch.setattr(c, "_new", lambda exchange_id, account=None: Client(calls, tiers))
    return c, calls, store


async def run_passes(c: CcxtProCollector, store: RecordingStore, passes: int) -> None:
    task = asyncio.create_task(c._account_loop("desk"))
    try:
        for _ in range(10_000):
            if len(store.of(AccountSnapshot)) >= passes or task.done():
                break
            await asyncio.sleep(0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert not task.done() or task.cancelled(), task.exception()


async def test_a_venue_without_tiers_keeps_polling_and_legs_carry_the_venue_figures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No `fetchLeverageTiers`: no crash and no tight loop (one pass per poll_s), the held ETH symbol is
    handed to the market side, and every leg carries the venue's maintenance margin, mark and LP."""
    c, calls, store = collector(monkeypatch, tiers=False)
    await run_passes(c, store, 5)
    snaps = store.of(AccountSnapshot)
    assert len(snaps) == 5 and calls.count("positions") == 5
    assert c.clock.monotonic_ns() in (8 * NS_PER_S, 10 * NS_PER_S)  # one poll_s sleep after each pass
    assert c.held.extra == ("ETHUSDT",)
    (eth,) = snaps[-1].positions
    assert (eth.venue_maint_margin, eth.venue_mark_price, eth.venue_liquidation_price) == (
        54.0,
        3600.0,
        4100.0,
    )
    assert not store.of(LeverageTiers)


async def test_tiers_of_a_held_symbol_are_fetched_at_once_and_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The first snapshot shows ETH: its tiers are asked for right after it, not at the 5-minute refresh,
    and not again on the passes that follow."""
    c, calls, store = collector(monkeypatch, tiers=True)
    await run_passes(c, store, 4)
    tier_calls = [x for x in calls if x != "positions"]
    assert tier_calls == [("tiers", ("BTC/USDT:USDT",)), ("tiers", ("ETH/USDT:USDT",))]
    assert calls.index(("tiers", ("ETH/USDT:USDT",))) == 2  # right after the first snapshot
    assert {t.symbol for t in store.of(LeverageTiers)} == {"BTCUSDT", "ETHUSDT"}


class PerSymbolMarks(Client):
    """A venue whose ccxt client watches marks one symbol at a time (kucoinfutures' shape)."""

    def __init__(self, calls: list[Any]) -> None:
        super().__init__(calls, tiers=False)
        self.has = {"watchMarkPrice": True}
        self.n = 0

    async def watch_mark_price(self, symbol: str) -> dict[str, Any]:
        self.calls.append(("watch", symbol))
        await asyncio.sleep(0.005)
        self.n += 1
        return {
            "symbol": symbol,
            "markPrice": 100.0,
            "indexPrice": 100.0,
            "timestamp": 1_700_000_000_000 + self.n,
        }


async def test_a_per_symbol_mark_venue_keeps_its_symbol_and_reports_the_held_one_not_watched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One configured symbol on `watch_mark_price`: a held ETH leg does not move it to tickers (which may
    carry no mark and would take BTC down with them); ETH's mark stream is DOWN, saying why."""
    c, calls, store = collector(monkeypatch, tiers=False)
    monkeypatch.setattr(c, "_new", lambda exchange_id, account=None: PerSymbolMarks(calls))
    task = asyncio.create_task(c._stream("marks", "okx", None, "mark"))
    try:
        for _ in range(1000):
            if len(store.of(MarkPrice)) >= 3:
                break
            await asyncio.sleep(0.005)
        c.held.note(["ETHUSDT"])
        n = len(store.of(MarkPrice))
        for _ in range(1000):
            if len(store.of(MarkPrice)) >= n + 3:
                break
            await asyncio.sleep(0.005)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    assert {m.symbol for m in store.of(MarkPrice)} == {"BTCUSDT"} and len(store.of(MarkPrice)) >= n + 3
    assert {x[1] for x in calls if x[0] == "watch"} == {"BTC/USDT:USDT"}
    (eth,) = store.statuses("mark:ETHUSDT")
    assert (eth.state, eth.reason) == (FeedState.DOWN, "not watched: this venue watches marks per symbol")
