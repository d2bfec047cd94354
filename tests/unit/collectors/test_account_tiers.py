"""A bad row in a venue's tier reply costs its own symbol, never the account's reconciliation.

The reconciler reads tiers, then the account snapshot. A tier row it could not read used to fail
the whole reference step, and the snapshot after it, on every round for as long as the venue kept
listing that row: the account went stale under a log line about a dropped *snapshot*.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import ccxt.async_support as ccxt_async
import structlog

from monitor.clock import ManualClock
from monitor.collectors import build_collector
from monitor.collectors.account_watch import AccountWatcher
from monitor.collectors.binance.collector import BinanceUsdmCollector
from monitor.collectors.bybit.collector import BybitCollector
from monitor.collectors.testing import RecordingStore
from monitor.config import parse_config
from monitor.records import AccountSnapshot, LeverageTiers
from monitor.venues import Endpoints

ENV = {"K": "key-1234567890", "S": "secret-1234567890"}


def _tier(mmr: float) -> dict[str, float]:
    return {
        "bracket": 1,
        "initialLeverage": 125,
        "notionalCap": 50000,
        "notionalFloor": 0,
        "maintMarginRatio": mmr,
        "cum": 0.0,
    }


class BinanceVenue:
    """Answers the reconciler's three calls; ETHUSDT's bracket row has a ratio out of range."""

    async def fapiPrivateGetLeverageBracket(self) -> Any:
        return [
            {"symbol": "BTCUSDT", "brackets": [_tier(0.004)]},
            {"symbol": "ETHUSDT", "brackets": [_tier(1.5)]},
        ]

    async def fapiPrivateV3GetPositionRisk(self) -> Any:
        return [{"symbol": "BTCUSDT", "positionSide": "BOTH", "positionAmt": "0.5", "entryPrice": "60000"}]

    async def fapiPrivateV3GetAccount(self) -> Any:
        return {"assets": [{"asset": "USDT", "walletBalance": "1000", "updateTime": 1}]}

    async def close(self) -> None:
        return None


def _ok(result: dict[str, Any]) -> dict[str, Any]:
    return {"retCode": 0, "retMsg": "OK", "result": result, "time": 1}


class BybitVenue:
    """The venue refuses SOLUSDT's risk-limit query (an envelope error); BTCUSDT answers."""

    async def publicGetV5MarketRiskLimit(self, params: dict[str, str]) -> Any:
        if params["symbol"] == "SOLUSDT":
            return {"retCode": 10001, "retMsg": "params error: symbol invalid", "result": {}, "time": 1}
        row = {
            "symbol": "BTCUSDT",
            "riskLimitValue": "2000000",
            "maintenanceMargin": "0.005",
            "initialMargin": "0.01",
            "maxLeverage": "100.00",
            "mmDeduction": "",
        }
        return _ok({"category": "linear", "list": [row]})

    async def privateGetV5PositionList(self, params: dict[str, Any]) -> Any:
        return _ok({"category": "linear", "list": [], "nextPageCursor": ""})

    async def privateGetV5AccountWalletBalance(self, params: dict[str, str]) -> Any:
        return _ok({"list": [{"coin": [{"coin": "USDT", "walletBalance": "1000"}]}]})

    async def close(self) -> None:
        return None


def watcher(kind: str, symbols: list[str], venue: Callable[[], Any]) -> tuple[AccountWatcher, RecordingStore]:
    data = {
        "venues": [{"name": kind, "kind": kind, "symbols": symbols, "user_stream": False, "poll_s": 1.0}],
        "accounts": [{"name": "desk", "venue": kind, "api_key_env": "K", "api_secret_env": "S"}],
    }
    cfg, secrets = parse_config(data, ENV)
    store = RecordingStore()
    c = build_collector(cfg.venues[0], cfg, secrets, Endpoints(), store, ManualClock())
    assert isinstance(c, BinanceUsdmCollector | BybitCollector)
    w = c.watchers["desk"]
    w._client = venue  # type: ignore[method-assign]
    return w, store


async def reconcile_until_snapshot(w: AccountWatcher, store: RecordingStore) -> None:
    task = asyncio.create_task(w.reconcile_loop())
    try:
        for _ in range(200):  # the manual clock makes every poll immediate
            if store.of(AccountSnapshot):
                return
            await asyncio.sleep(0)
        raise AssertionError("no account snapshot: reconciliation is blocked")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_binance_bad_bracket_row_drops_that_symbol_and_reconciliation_goes_on() -> None:
    w, store = watcher("binanceusdm", ["BTCUSDT", "ETHUSDT"], BinanceVenue)
    with structlog.testing.capture_logs() as logs:
        await reconcile_until_snapshot(w, store)
    (snap,) = store.of(AccountSnapshot)[:1]
    assert [p.symbol for p in snap.positions] == ["BTCUSDT"]
    assert {t.symbol for t in store.of(LeverageTiers)} == {"BTCUSDT"}
    assert w._stats.dropped["out_of_range"] >= 1
    dropped = [e for e in logs if e["event"] == "leverage tiers of one symbol dropped"]
    assert dropped and (dropped[0]["symbol"], dropped[0]["reason"]) == ("ETHUSDT", "out_of_range")
    assert not [e for e in logs if e["event"] == "account snapshot dropped"]


async def test_bybit_refused_symbol_drops_its_tiers_and_reconciliation_goes_on() -> None:
    w, store = watcher("bybit", ["SOLUSDT", "BTCUSDT"], BybitVenue)
    with structlog.testing.capture_logs() as logs:
        await reconcile_until_snapshot(w, store)
    assert {t.symbol for t in store.of(LeverageTiers)} == {"BTCUSDT"}  # asked after SOLUSDT failed
    assert w._stats.dropped["venue_error"] >= 1
    dropped = [e for e in logs if e["event"] == "leverage tiers of one symbol dropped"]
    assert dropped and (dropped[0]["symbol"], dropped[0]["reason"]) == ("SOLUSDT", "venue_error")


async def test_tiers_unreachable_never_hold_back_the_snapshot() -> None:
    """The tier endpoint fails over the network: logged as tiers, and the snapshot still follows."""

    class NoTiers(BinanceVenue):
        async def fapiPrivateGetLeverageBracket(self) -> Any:
            raise ccxt_async.NetworkError("binanceusdm GET /fapi/v1/leverageBracket 502 Bad Gateway")

    w, store = watcher("binanceusdm", ["BTCUSDT"], NoTiers)
    with structlog.testing.capture_logs() as logs:
        await reconcile_until_snapshot(w, store)
    assert not store.of(LeverageTiers)
    assert any(e["event"] == "leverage tiers failed" for e in logs)
