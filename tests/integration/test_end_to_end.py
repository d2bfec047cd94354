"""End to end: the simulator replays the real 2021-05-19 crash; alerts reach a webhook; /metrics is exact.

The simulator and the daemon run in one event loop; the daemon's collectors talk to the simulator
over loopback exactly as they would to Binance (signed REST through ccxt, WebSocket streams).
"""

from __future__ import annotations

import asyncio
import bisect
import math
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from monitor.app import Daemon
from monitor.config import parse_config
from tests.support.held_start import play_once_seen, start_held

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEYS = {
    "HEDGE_KEY": "e2e-hedge-key",
    "HEDGE_SECRET": "e2e-hedge-secret",
    "DEGEN_KEY": "e2e-degen-key",
    "DEGEN_SECRET": "e2e-degen-secret",
}


class Receiver:
    """A local JSON webhook endpoint that records every POST."""

    def __init__(self) -> None:
        self.posts: list[dict[str, Any]] = []
        self.keys: list[str] = []
        self.arrived = asyncio.Event()

    async def handle(self, request: web.Request) -> web.Response:
        self.posts.append(await request.json())
        self.keys.append(request.headers.get("Idempotency-Key", ""))
        self.arrived.set()
        return web.Response(status=200)

    def alerts(self) -> list[dict[str, Any]]:
        return [a for p in self.posts for a in p["alerts"]]

    def find(self, alertname: str, status: str, **labels: str) -> list[dict[str, Any]]:
        return [
            a
            for a in self.alerts()
            if a["labels"].get("alertname") == alertname
            and a["status"] == status
            and all(a["labels"].get(k) == v for k, v in labels.items())
        ]


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/hook/{token}", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield rec, f"http://127.0.0.1:{port}/hook/s3cr3t-token"
    await runner.cleanup()


def e2e_config(tmp_path: Path, webhook_url: str) -> Any:
    env = {**KEYS, "HOOK_URL": webhook_url}
    data = {
        "state_dir": str(tmp_path / "state"),
        "log": {"format": "json", "level": "warning"},
        "http": {"host": "127.0.0.1", "port": 0},
        "simulator": {
            "enabled": True,
            "speed": 600.0,  # 10 replayed minutes per second: the crash in ~27 s
            "tick_s": 0.1,
            "loop": False,
            "accounts": [
                {
                    "name": "hedge",
                    "api_key_env": "HEDGE_KEY",
                    "api_secret_env": "HEDGE_SECRET",
                    "wallet_usdt": 400_000.0,
                    "positions": [{"symbol": "BTCUSDT", "qty": -50.0, "leverage": 5.0}],
                },
                {
                    "name": "degen",
                    "api_key_env": "DEGEN_KEY",
                    "api_secret_env": "DEGEN_SECRET",
                    "wallet_usdt": 6_000.0,
                    "positions": [{"symbol": "BTCUSDT", "qty": 2.0, "leverage": 20.0}],
                },
            ],
        },
        "venues": [
            {
                "name": "binance",
                "simulator": True,
                "symbols": ["BTCUSDT"],
                "spot_symbols": ["BTCUSDT"],
                "poll_s": 0.25,
                "stale_after_s": 5.0,
            }
        ],
        "accounts": [
            {
                "name": "hedge",
                "venue": "binance",
                "api_key_env": "HEDGE_KEY",
                "api_secret_env": "HEDGE_SECRET",
            },
            {
                "name": "degen",
                "venue": "binance",
                "api_key_env": "DEGEN_KEY",
                "api_secret_env": "DEGEN_SECRET",
            },
        ],
        "holdings": [
            {
                "name": "custody",
                "asset": "BTC",
                "quantity": 50.0,
                "price_venue": "binance",
                "price_symbol": "BTCUSDT",
            }
        ],
        "evaluation": {"interval_s": 0.1, "volatility_sample_s": 1.0, "horizon_s": 144.0},
        "rules": [
            {
                "name": "LiquidationDistance",
                "figure": "liquidation_distance_ratio",
                "op": "<",
                "for_s": 0.5,
                "levels": [
                    {"severity": "warning", "threshold": 0.10, "clear": 0.12},
                    {"severity": "critical", "threshold": 0.05, "clear": 0.06},
                ],
            },
            {
                "name": "PositionDisappeared",
                "figure": "position_disappeared",
                "op": ">",
                "levels": [{"severity": "critical", "threshold": 0.5}],
            },
        ],
        "receivers": [{"name": "desk", "type": "webhook", "url_env": "HOOK_URL", "timeout_s": 5.0}],
    }
    return parse_config(data, env)


async def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{port}/metrics") as r:
        assert r.status == 200
        text = await r.text()
    out = {}
    for fam in text_string_to_metric_families(text):
        for sample in fam.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def metric(m: dict[Any, float], name: str, **labels: str) -> float:
    want = {k: v for k, v in labels.items()}
    for (n, labs), v in m.items():
        d = dict(labs)
        if n == name and all(d.get(k) == val for k, val in want.items()):
            return v
    raise KeyError(f"{name}{labels} not exposed")


def independent_margin_ratio(sim: Any, account: str) -> float:
    """Σ MM / (wallet + Σ UPnL) from the simulator's own raw state, with the tiers looked up here."""
    view = sim.engine.summary(account)
    mm = upnl = 0.0
    for p in sim.engine.positions(account):
        mark = sim.engine.marks[p.symbol]
        notional = abs(p.qty) * mark
        tiers = sim.engine.brackets(p.symbol)
        i = bisect.bisect_right([b.floor for b in tiers], notional) - 1
        mm += notional * tiers[i].mmr - tiers[i].cum
        upnl += p.qty * (mark - p.entry)
    return mm / (view.cross_wallet + upnl)


async def wait_for(cond: Any, limit_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def holds_the_venues_accounts(daemon: Daemon, sim: Any, accounts: list[str]) -> bool:
    """The daemon's stored legs and wallets are the venue's (an account update may be in flight)."""
    snap = daemon.store.snapshot(daemon.clock.now_ns())
    for acct in accounts:
        ours, pos = snap.accounts.get(("binance", acct)), sim.engine.position(acct, "BTCUSDT")
        if ours is None or pos is None:
            return False
        legs = [(p.qty, p.entry_price) for p in ours.positions if p.symbol == "BTCUSDT"]
        wallets = [b.wallet_balance for b in ours.balances if b.asset == "USDT"]
        if legs != [(pos.qty, pos.entry)] or wallets != [sim.engine.summary(acct).wallet_balance]:
            return False
    return True


async def check_metrics_match_venue(daemon: Daemon, accounts: list[str]) -> None:
    """Freeze the market, let the daemon catch up, and compare /metrics with the venue's state."""
    sim = daemon.simulator
    assert sim is not None
    sim.pause()
    mark = sim.engine.marks["BTCUSDT"]

    def caught_up() -> bool:
        figs = daemon.latest
        if figs is None:
            return False
        marks = [f.value for k, f in figs.items.items() if k.name == "mark_price_usd"]
        return marks == [mark]

    await wait_for(caught_up, 30, "the daemon to see the frozen mark")
    await wait_for(lambda: holds_the_venues_accounts(daemon, sim, accounts), 30, "the venue's accounts")
    inputs_at = daemon.clock.now_ns()
    await wait_for(lambda: daemon.latest.taken_at_ns > inputs_at, 30, "a tick on them")  # type: ignore[union-attr]
    m = await scrape(daemon.http.bound_port)
    for acct in accounts:
        pos = sim.engine.position(acct, "BTCUSDT")
        assert pos is not None
        labels = {"venue": "binance", "account": acct, "symbol": "BTCUSDT", "side": "BOTH"}
        ours_lp = metric(m, "perpmon_liquidation_price_usd", **labels)
        assert ours_lp == pytest.approx(pos.liquidation_price, rel=1e-9), acct
        ours_ratio = metric(m, "perpmon_margin_ratio", venue="binance", account=acct)
        assert ours_ratio == pytest.approx(independent_margin_ratio(sim, acct), rel=1e-9), acct
    sim.resume()


async def test_crash_replay_reaches_webhook_and_metrics(
    tmp_path: Path, receiver: tuple[Receiver, str]
) -> None:
    """The degen long is warned, then liquidated; the hedge stays quiet; /metrics equals the venue."""
    rec, url = receiver
    cfg, secrets = e2e_config(tmp_path, url)
    daemon = Daemon(cfg, secrets)
    sim = await start_held(daemon)
    try:
        await play_once_seen(daemon, ["hedge", "degen"])  # the crash plays from here
        degen = {"account": "degen", "symbol": "BTCUSDT"}
        await wait_for(
            lambda: rec.find("LiquidationDistance", "firing", **degen), 30, "the degen distance alert"
        )
        first = rec.find("LiquidationDistance", "firing", **degen)[0]
        assert first["labels"]["severity"] in ("warning", "critical")
        assert float(first["annotations"]["value"]) < 0.10

        await check_metrics_match_venue(daemon, ["hedge", "degen"])

        await wait_for(lambda: rec.find("PositionDisappeared", "firing", **degen), 60, "the liquidation")
        await wait_for(
            lambda: rec.find("LiquidationDistance", "resolved", **degen), 30, "the distance alert resolving"
        )
        assert [liq.account for liq in sim.engine.liquidations] == ["degen"]

        await check_metrics_match_venue(daemon, ["hedge"])
        lp = sim.engine.position("hedge", "BTCUSDT")
        assert lp is not None and lp.liquidation_price / sim.engine.marks["BTCUSDT"] - 1 > 0.10
        assert rec.find("LiquidationDistance", "firing", account="hedge") == []
        assert all(k for k in rec.keys), "every POST carries an idempotency key"
        assert "s3cr3t-token" not in str(await scrape(daemon.http.bound_port))
    finally:
        await daemon.stop()
    assert math.isfinite(daemon.eval_stats.last_duration_s)
