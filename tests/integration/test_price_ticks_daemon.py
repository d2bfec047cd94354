"""A daemon on the simulator writes each alert's prices at the tick the venue's metadata gives.

The simulated Binance and Bybit serve exchangeInfo / instruments-info in the venues' shapes; the
collectors read PRICE_FILTER / priceFilter tickSize from them, and the webhook's text and the status
page's JSON carry prices at those ticks. The ticks expected are read here from the simulator's own
replies, not restated: XRPUSDT's 0.0001 on Binance and SOLUSDT's "0.010" on Bybit are where the tick
and six significant digits disagree (`1.2345` against `1.23450`; `8.12` against `8.12345`).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import msgspec
import pytest
from aiohttp import web

from monitor.app import Daemon
from monitor.collectors.generic.collector import CcxtProCollector
from monitor.collectors.testing import RecordingStore, wait_until
from monitor.config import parse_config
from monitor.records import Instrument
from monitor.sim.testing import fast_config, running_simulator
from monitor.supervise import Supervisor
from tests.integration.test_collector_bybit import ENV as SIM_ENV

pytestmark = [pytest.mark.integration]

ENV = {"ALT_KEY": "alt-key", "ALT_SECRET": "alt-secret", "SOL_KEY": "sol-key", "SOL_SECRET": "sol-secret"}
LEGS = {("binance", "XRPUSDT"), ("binance", "BTCUSDT"), ("bybit", "SOLUSDT")}


class Hook:
    """A webhook endpoint that keeps every alert it is sent."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.alerts.extend((await request.json())["alerts"])
        return web.Response(status=200)


@pytest.fixture
async def hook() -> AsyncIterator[tuple[Hook, str]]:
    h = Hook()
    app = web.Application()
    app.router.add_post("/hook", h.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield h, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


def _config(tmp: Path, url: str) -> Any:
    alt = {"api_key_env": "ALT_KEY", "api_secret_env": "ALT_SECRET"}
    sol = {"api_key_env": "SOL_KEY", "api_secret_env": "SOL_SECRET"}
    data = {
        "state_dir": str(tmp / "state"),
        "log": {"format": "json", "level": "warning"},
        "http": {"host": "127.0.0.1", "port": 0},
        "simulator": {
            "enabled": True,
            "speed": 60.0,
            "tick_s": 0.1,
            "loop": True,
            "accounts": [
                {
                    "name": "alt",
                    "wallet_usdt": 4_000.0,  # ~10x on the cross book: every leg has a liquidation price
                    "positions": [
                        {"symbol": "XRPUSDT", "qty": 20_000.0, "leverage": 10.0},
                        {"symbol": "BTCUSDT", "qty": 0.2, "leverage": 10.0},
                    ],
                    **alt,
                },
                {
                    "name": "sol",
                    "venue": "bybit",
                    "wallet_usdt": 2_000.0,
                    "positions": [{"symbol": "SOLUSDT", "qty": 1_000.0, "leverage": 10.0}],
                    **sol,
                },
            ],
        },
        "venues": [
            {
                "name": "binance",
                "simulator": True,
                "symbols": ["BTCUSDT", "XRPUSDT"],
                "spot_symbols": ["BTCUSDT"],
                "poll_s": 0.25,
                "backfill": False,
            },
            {"name": "bybit", "kind": "bybit", "simulator": True, "symbols": ["SOLUSDT"], "poll_s": 0.25},
        ],
        "accounts": [
            {"name": "alt", "venue": "binance", **alt},
            {"name": "sol", "venue": "bybit", **sol},
        ],
        "evaluation": {"interval_s": 0.2},
        "rules": [  # every leg with a liquidation price fires, and is re-sent every second
            {
                "name": "LiquidationDistance",
                "figure": "liquidation_distance_ratio",
                "op": "<",
                "repeat_s": 1.0,
                "levels": [{"severity": "warning", "threshold": 1.0}],
            }
        ],
        "receivers": [{"name": "desk", "type": "webhook", "url_env": "HOOK_URL", "timeout_s": 5.0}],
    }
    return parse_config(data, {**ENV, "HOOK_URL": url})


async def _venue_ticks(daemon: Daemon) -> dict[tuple[str, str], str]:
    """(venue, symbol) → tickSize as the simulated venues write it, asked of them directly."""
    sim = daemon.simulator
    assert sim is not None
    async with aiohttp.ClientSession() as s:
        async with s.get(f"{sim.futures_rest_url}/fapi/v1/exchangeInfo") as r:
            binance = await r.json()
        async with s.get(
            f"{sim.bybit_rest_url}/v5/market/instruments-info", params={"category": "linear"}
        ) as r:
            bybit = await r.json()
    out = {}
    for row in binance["symbols"]:
        [pf] = [f for f in row["filters"] if f["filterType"] == "PRICE_FILTER"]
        out[("binance", row["symbol"])] = pf["tickSize"]
    for row in bybit["result"]["list"]:
        out[("bybit", row["symbol"])] = row["priceFilter"]["tickSize"]
    return out


def _decimals(tick: str) -> int:
    return max(0, -int(Decimal(tick).normalize().as_tuple().exponent))


async def _until(cond: Any, limit_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_alert_text_and_status_page_carry_the_venues_ticks(
    tmp_path: Path, hook: tuple[Hook, str]
) -> None:
    """Mark and LP in the webhook's text and price_tick on /status.json follow each venue's tickSize."""
    h, url = hook
    daemon = Daemon(*_config(tmp_path, url))
    await daemon.start()
    try:
        venue = await _venue_ticks(daemon)
        assert venue[("binance", "XRPUSDT")] == "0.0001" and venue[("bybit", "SOLUSDT")] == "0.010"
        await _until(lambda: set(daemon.store.ticks()) >= LEGS, 30, "every watched symbol's tick")
        assert {k: daemon.store.ticks()[k] for k in LEGS} == {k: float(venue[k]) for k in LEGS}

        seen = len(h.alerts)  # alerts sent before the ticks arrived may read at significant digits
        latest: dict[tuple[str, str], dict[str, str]] = {}

        def every_leg_resent() -> bool:
            for a in h.alerts[seen:]:
                if a["status"] == "firing" and "mark" in a["annotations"]:
                    latest[(a["labels"]["venue"], a["labels"]["symbol"])] = a["annotations"]
            return set(latest) >= LEGS

        await _until(every_leg_resent, 30, "each leg's alert re-sent after the ticks arrived")
        for leg in LEGS:
            want = _decimals(venue[leg])
            for field in ("mark", "liquidation_price"):
                text = latest[leg][field].split(" (")[0]  # "1.2345 (venue 1.2346)": perpmon's own first
                assert re.fullmatch(r"\d{1,3}(,\d{3})*" + (rf"\.\d{{{want}}}" if want else ""), text), (
                    leg,
                    field,
                    text,
                )

        port = daemon.http.bound_port
        async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/status.json") as r:
            page = await r.json()
        rows = {(p["venue"], p["symbol"]): p["price_tick"] for p in page["positions"]}
        assert {k: rows[k] for k in LEGS} == {k: float(venue[k]) for k in LEGS}
    finally:
        await daemon.stop()


@pytest.mark.parametrize(
    ("kind", "perp", "spot"),
    [
        ("binanceusdm", {"BTCUSDT": 0.1, "XRPUSDT": 0.0001}, {"BTCUSDT": 0.01}),  # spot: "0.01000000"
        ("bybit", {"BTCUSDT": 0.1, "SOLUSDT": 0.01}, {"BTCUSDT": 0.01}),
    ],
)
async def test_native_collectors_read_perp_and_spot_ticks(
    kind: str, perp: dict[str, float], spot: dict[str, float]
) -> None:
    """Binance's exchangeInfo (futures and spot hosts) and Bybit's instruments-info (linear and spot)."""
    sim_cfg = fast_config()
    venue = {"name": "v", "kind": kind, "simulator": True, "symbols": list(perp), "spot_symbols": list(spot)}
    cfg, secrets = parse_config({"simulator": msgspec.to_builtins(sim_cfg), "venues": [venue]}, SIM_ENV)
    async with running_simulator(sim_cfg) as s:
        daemon = Daemon(cfg, secrets, clock=s.clock)
        daemon.simulator = s
        store = daemon.store = RecordingStore()
        collector = daemon.build_venue(cfg.venues[0], cfg, secrets)
        sup = Supervisor(s.clock)
        sup.spawn("reference", collector.tasks()["v.reference"])
        want = {**{(k, "perp"): t for k, t in perp.items()}, **{(k, "spot"): t for k, t in spot.items()}}
        got = lambda: {(i.symbol, i.market): i.tick for i in store.of(Instrument)}  # noqa: E731
        try:
            await wait_until(lambda: set(got()) >= set(want), 20, "perp and spot ticks")
        finally:
            await sup.stop()
    assert got() == want
    assert dict(store.ticks()) == {("v", k): t for k, t in perp.items()}  # the perpetual's tick wins


async def test_the_generic_ccxt_collector_reads_ticks_from_loaded_markets() -> None:
    """ccxt's precision.price of the simulated Binance's markets: the perpetuals' and the spot book's."""
    sim_cfg = fast_config()
    venue = {
        "name": "ccxt-binance",
        "kind": "ccxt",
        "exchange": "binanceusdm",
        "simulator": True,
        "symbols": ["BTCUSDT", "XRPUSDT"],
        "spot_symbols": ["BTCUSDT"],
        "poll_s": 0.3,
    }
    cfg, secrets = parse_config({"simulator": msgspec.to_builtins(sim_cfg), "venues": [venue]}, SIM_ENV)
    async with running_simulator(sim_cfg) as s:
        daemon = Daemon(cfg, secrets, clock=s.clock)
        daemon.simulator = s
        store = daemon.store = RecordingStore()
        collector = daemon.build_venue(cfg.venues[0], cfg, secrets)
        assert isinstance(collector, CcxtProCollector)
        sup = Supervisor(s.clock)
        for name, factory in collector.tasks().items():
            sup.spawn(name, factory)
        try:
            got = lambda: {(i.symbol, i.market): i.tick for i in store.of(Instrument)}  # noqa: E731
            want = {("BTCUSDT", "perp"), ("XRPUSDT", "perp"), ("BTCUSDT", "spot")}
            await wait_until(lambda: set(got()) >= want, 20, "ticks from ccxt's markets")
        finally:
            await sup.stop()
        venue_ticks = await _venue_ticks(daemon)
    assert got() == {
        ("BTCUSDT", "perp"): float(venue_ticks[("binance", "BTCUSDT")]),
        ("XRPUSDT", "perp"): float(venue_ticks[("binance", "XRPUSDT")]),
        ("BTCUSDT", "spot"): 0.01,  # spot's "0.01000000"
    }
    assert store.ticks() == {("ccxt-binance", "BTCUSDT"): 0.1, ("ccxt-binance", "XRPUSDT"): 0.0001}
