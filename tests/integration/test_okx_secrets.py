"""An OKX key is three secrets: key, secret and passphrase. None of them reaches the logs, /metrics or
the feed reasons while the daemon reads the account.

The daemon runs OKX through the generic ccxt collector (`kind = "ccxt"`, `exchange = "okx"`) on the
simulated OKX. (A refused passphrase: the venue's reply names the header, never the value,
`test_sim_okx_auth.py`; the start-up key check then retries without end, which makes a daemon test
of that path slow: left for the native collector's own key check.)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog

from monitor.app import Daemon
from monitor.config import parse_config
from monitor.log import configure_logging

pytestmark = pytest.mark.integration

ENV = {
    "OKX_KEY": "0f3c9a1e-7b2d-4c8e-9a6f-5d4e3c2b1a09",
    "OKX_SECRET": "8E1F4A7C2B9D6E3F0A5C8B1D4E7F2A9C",
    "OKX_PHRASE": "Pp-okx-Phrase-4711",
}


def config(tmp_path: Path) -> Any:
    good = {
        "name": "erin",
        "api_key_env": "OKX_KEY",
        "api_secret_env": "OKX_SECRET",
        "api_password_env": "OKX_PHRASE",
    }
    data = {
        "state_dir": str(tmp_path / "state"),
        "log": {"format": "json", "level": "debug"},
        "http": {"host": "127.0.0.1", "port": 0},
        "simulator": {
            "enabled": True,
            "tick_s": 0.05,
            "speed": 60.0,
            "accounts": [
                {
                    **good,
                    "venue": "okx",
                    "wallet_usdt": 10_000.0,
                    "positions": [{"symbol": "BTCUSDT", "qty": 0.2}],
                },
            ],
        },
        "venues": [
            {
                "name": "okx",
                "kind": "ccxt",
                "exchange": "okx",
                "simulator": True,
                "symbols": ["BTCUSDT"],
                "poll_s": 0.2,
                "reconcile_s": 0.3,
                "stale_after_s": 2.0,
            }
        ],
        "accounts": [{**good, "venue": "okx"}],
        "evaluation": {"interval_s": 0.2, "volatility_sample_s": 1.0},
        "receivers": [{"name": "log", "type": "console"}],
    }
    return parse_config(data, ENV)


async def until(cond: Callable[[], bool], what: str, limit_s: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_no_okx_key_secret_or_passphrase_leaks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stdlib = _Keep()
    root = logging.getLogger()
    root.addHandler(stdlib)
    cfg, secrets = config(tmp_path)
    assert ENV["OKX_PHRASE"] in {s.reveal() for s in secrets.all()}  # the redactor knows it
    configure_logging(cfg.log.level, cfg.log.format, secrets.all())
    daemon = Daemon(cfg, secrets)
    try:
        await daemon.start()
        await until(lambda: ("okx", "erin") in daemon.store.snapshot(0).accounts, "erin's account")
        url = f"http://127.0.0.1:{daemon.http.bound_port}/metrics"
        metrics = ""
        loop = asyncio.get_running_loop()
        end = loop.time() + 20.0
        while 'account="erin"' not in metrics:  # an evaluation after the account arrived
            assert loop.time() < end, "erin's figures never reached /metrics"
            await asyncio.sleep(0.1)
            async with aiohttp.ClientSession() as s, s.get(url) as r:
                metrics = await r.text()
        feeds = repr(daemon.store.snapshot(daemon.clock.now_ns()).feeds)
    finally:
        await daemon.stop()
        root.removeHandler(stdlib)
        structlog.reset_defaults()
    out = capsys.readouterr()
    logs = out.err + out.out
    places = {
        "logs": logs,
        "stdlib logging": "\n".join(stdlib.lines),
        "/metrics": metrics,
        "feed reasons": feeds,
    }
    for where, text in places.items():
        for name, value in ENV.items():
            assert value not in text, f"{name} appeared in {where}"
