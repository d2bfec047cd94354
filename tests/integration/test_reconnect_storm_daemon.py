"""The daemon through a reconnect storm: StaleFeed fires for the streams the venue refused, and
resolves for each once it is back; the venue (its organic limits) never bans the daemon's IP.

The simulator keeps a connection budget of 2 attempts per 3 s (Binance's 300 per 5 min, shrunk so
the window refills within a test) and the daemon holds one socket per stream, so closing every
socket at once asks for far more than the budget: most attempts are refused with 429 and a
Retry-After, which the daemon's collectors wait out.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Daemon
from monitor.config import parse_config
from tests.unit.notify.notify_helpers import Receiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ENV = {"DESK_KEY": "storm-desk-key", "DESK_SECRET": "storm-desk-secret"}
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]


def config(tmp_path: Path, hook_url: str) -> Any:
    data = {
        "state_dir": str(tmp_path / "state"),
        "log": {"format": "json", "level": "error"},
        "http": {"host": "127.0.0.1", "port": 0},
        "simulator": {
            "enabled": True,
            "speed": 60.0,
            "tick_s": 0.1,
            "limits": {"ws_connects_per_5min": 2, "ws_connects_window_s": 3.0},
            "accounts": [
                {
                    "name": "desk",
                    "api_key_env": "DESK_KEY",
                    "api_secret_env": "DESK_SECRET",
                    "wallet_usdt": 100_000.0,
                    "positions": [{"symbol": "BTCUSDT", "qty": 0.5, "leverage": 5.0}],
                }
            ],
        },
        "venues": [
            {
                "name": "binance",
                "simulator": True,
                "symbols": SYMBOLS,
                "max_streams_per_connection": 1,
                "poll_s": 0.25,
                "stale_after_s": 1.0,
                "backfill": False,
            }
        ],
        "accounts": [
            {"name": "desk", "venue": "binance", "api_key_env": "DESK_KEY", "api_secret_env": "DESK_SECRET"}
        ],
        "evaluation": {"interval_s": 0.1, "volatility_sample_s": 1.0, "horizon_s": 144.0},
        "rules": [
            {
                "name": "StaleFeed",
                "figure": "feed_stale",
                "op": ">",
                "levels": [{"severity": "warning", "threshold": 0.5}],
            }
        ],
        "receivers": [{"name": "desk", "type": "webhook", "url_env": "HOOK_URL", "timeout_s": 2.0}],
    }
    return parse_config(data, {**ENV, "HOOK_URL": hook_url})


async def until(cond: Callable[[], bool], what: str, limit_s: float) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_storm_fires_stale_feed_for_the_refused_and_resolves_it_without_a_ban(tmp_path: Path) -> None:
    hook = Receiver()
    await hook.start()

    def told(stream: str, status: str) -> int:
        return sum(
            1
            for r in hook.requests[start:]
            for a in r["json"]["alerts"]
            if a["labels"]["alertname"] == "StaleFeed"
            and a["labels"].get("stream") == stream
            and a["status"] == status
        )

    def daemon_firing() -> bool:
        return any(told(m, "firing") > told(m, "resolved") for m in [f"mark:{s}" for s in SYMBOLS])

    cfg, secrets = config(tmp_path, hook.url())
    daemon = Daemon(cfg, secrets)
    await daemon.start()
    try:
        sim = daemon.simulator
        assert sim is not None
        marks = [f"mark:{s}" for s in SYMBOLS]
        # the start is a storm of its own; wait until every socket is up and StaleFeed quiet
        await until(lambda: len(sim.futures_hub.connections) >= 2 * len(SYMBOLS), "every socket up", 120)
        await asyncio.sleep(0)
        start = len(hook.requests)
        refused_before = sim.futures_limit.served_429
        sim.faults.disconnect_all()
        # the budget lets 2 attempts through at once: at least the other mark streams wait a Retry-After
        refused = len(marks) - 2
        await until(lambda: sum(bool(told(m, "firing")) for m in marks) >= refused, "StaleFeed", 60)
        await until(
            lambda: all(told(m, "resolved") >= told(m, "firing") for m in marks) and not daemon_firing(),
            "StaleFeed resolved for each",
            120,
        )
        assert sim.futures_limit.served_429 > refused_before  # refused past the budget …
        assert sim.futures_limit.bans() == 0  # … and never banned
    finally:
        await daemon.stop()
        await hook.stop()
