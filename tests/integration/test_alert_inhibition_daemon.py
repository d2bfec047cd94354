"""The daemon against the simulator: a stalled mark feed raises StaleFeed and mutes the alerts it feeds.

One event loop runs the simulator, the daemon, a webhook receiver and a real Alertmanager client
path. While the feed is stalled the webhook hears nothing of the muted alert, yet Alertmanager
keeps it active (the daemon's ticks re-send it as last told); once the feed is back, its repeats
resume and StaleFeed resolves.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Daemon
from monitor.config import parse_config
from tests.support.servers import alertmanager
from tests.unit.notify.notify_helpers import Receiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENV = {"DEGEN_KEY": "inh-degen-key", "DEGEN_SECRET": "inh-degen-secret"}


def config(tmp_path: Path, hook_url: str, am_url: str) -> Any:
    data = {
        "state_dir": str(tmp_path / "state"),
        "log": {"format": "json", "level": "error"},
        "http": {"host": "127.0.0.1", "port": 0},
        "simulator": {
            "enabled": True,
            "speed": 60.0,
            "tick_s": 0.1,
            "accounts": [
                {
                    "name": "degen",
                    "api_key_env": "DEGEN_KEY",
                    "api_secret_env": "DEGEN_SECRET",
                    "wallet_usdt": 6_000.0,
                    "positions": [{"symbol": "BTCUSDT", "qty": 2.0, "leverage": 20.0}],
                }
            ],
        },
        "venues": [
            {
                "name": "binance",
                "simulator": True,
                "symbols": ["BTCUSDT"],
                "poll_s": 0.25,
                "stale_after_s": 1.0,
            }
        ],
        "accounts": [
            {
                "name": "degen",
                "venue": "binance",
                "api_key_env": "DEGEN_KEY",
                "api_secret_env": "DEGEN_SECRET",
            }
        ],
        "evaluation": {"interval_s": 0.1, "volatility_sample_s": 1.0, "horizon_s": 144.0},
        "rules": [
            {
                "name": "StaleFeed",
                "figure": "feed_stale",
                "op": ">",
                "levels": [{"severity": "warning", "threshold": 0.5}],
                "match": {"stream": "mark:BTCUSDT"},
            },
            {
                "name": "DegenLeverage",  # 20× leverage is always this close: fires at once, repeats
                "figure": "liquidation_distance_ratio",
                "op": "<",
                "levels": [{"severity": "warning", "threshold": 0.5}],
                "repeat_s": 0.5,
                "match": {"account": "degen"},
            },
        ],
        "receivers": [
            {"name": "desk", "type": "webhook", "url_env": "HOOK_URL", "timeout_s": 2.0},
            {"name": "am", "type": "alertmanager", "url_env": "AM_URL", "resend_s": 1.0, "timeout_s": 2.0},
        ],
    }
    return parse_config(data, {**ENV, "HOOK_URL": hook_url, "AM_URL": am_url})


def am_active(url: str) -> set[str]:
    with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=2) as r:
        return {a["labels"]["alertname"] for a in json.load(r)}


async def until(cond: Callable[[], bool], what: str, limit_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_stalled_mark_feed_mutes_its_alerts_and_raises_stale_feed(tmp_path: Path) -> None:
    """Stall: StaleFeed fires, DegenLeverage goes quiet yet stays active in Alertmanager; unstall: resumes."""
    hook = Receiver()
    await hook.start()

    def told(name: str, status: str = "firing") -> int:
        return sum(
            1
            for r in hook.requests
            for a in r["json"]["alerts"]
            if a["labels"]["alertname"] == name and a["status"] == status
        )

    with alertmanager(tmp_path) as am_url:
        cfg, secrets = config(tmp_path, hook.url(), am_url)
        daemon = Daemon(cfg, secrets)
        await daemon.start()
        try:
            await until(lambda: told("DegenLeverage") >= 2, "the alert and a repeat")
            sim = daemon.simulator
            assert sim is not None
            sim.faults.stall()
            await until(lambda: told("StaleFeed") == 1, "StaleFeed")
            before = told("DegenLeverage")
            # an alert shows as muted once an event of it is held back: its next repeat (repeat_s 0.5)
            await until(lambda: bool(daemon.engine.inhibited()), "DegenLeverage's repeat held back")
            assert list(daemon.engine.inhibited().values()) == [("binance", "mark:BTCUSDT")]
            await asyncio.sleep(4.5)  # > 4 × resend_s: without re-sends Alertmanager would expire it
            assert told("DegenLeverage") == before, "muted: no repeat reached the desk"
            assert await asyncio.to_thread(am_active, am_url) >= {"DegenLeverage", "StaleFeed"}
            sim.faults.stall(False)
            await until(lambda: told("StaleFeed", "resolved") == 1, "StaleFeed to resolve")
            await until(lambda: told("DegenLeverage") > before, "the repeats to resume")
            assert daemon.engine.inhibited() == {}
        finally:
            await daemon.stop()
            await hook.stop()
