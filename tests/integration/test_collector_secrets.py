"""The daemon through the user stream's bad days: no key, secret or listenKey in logs, errors or /metrics.

ccxt puts listenKeys in URLs and error texts and the user stream's URL carries one, so the faults
that make perpmon log (key expiry, dropped sockets, 5xx, 429/418, garbage) are all injected while
the log output is captured exactly as `perpmon run` writes it (JSON on stderr, debug level), along
with anything the libraries send to the standard logging module.
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
from monitor.sim.binance.userstream import ListenKeys

pytestmark = pytest.mark.integration

ENV = {
    "LEAK_KEY": "Lk7vQ2mZp9XwR4tY8uJ3nB6cV1sD5fG0hK2lM4nP6qR8sT0uW2xY4zA6bC8dE0fG",
    "LEAK_SECRET": "Sx9aB7cD5eF3gH1iJ9kL7mN5oP3qR1sT9uV7wX5yZ3aB1cD9eF7gH5iJ3kL1mN9o",
}


def config(tmp_path: Path) -> Any:
    account = {"name": "desk", "api_key_env": "LEAK_KEY", "api_secret_env": "LEAK_SECRET"}
    data = {
        "state_dir": str(tmp_path / "state"),
        "log": {"format": "json", "level": "debug"},
        "http": {"host": "127.0.0.1", "port": 0},
        "simulator": {
            "enabled": True,
            "tick_s": 0.05,
            "speed": 60.0,
            "accounts": [
                {**account, "wallet_usdt": 10_000.0, "positions": [{"symbol": "BTCUSDT", "qty": 0.2}]}
            ],
        },
        "venues": [
            {
                "name": "binance",
                "simulator": True,
                "symbols": ["BTCUSDT"],
                "spot_symbols": ["BTCUSDT"],
                "poll_s": 0.2,
                "reconcile_s": 0.3,
                "listen_key_keepalive_s": 0.3,
                "stale_after_s": 1.0,
            }
        ],
        "accounts": [{**account, "venue": "binance"}],
        "evaluation": {"interval_s": 0.2, "volatility_sample_s": 1.0},
        "receivers": [{"name": "log", "type": "console"}],
    }
    return parse_config(data, ENV)


async def until(cond: Callable[[], bool], what: str, limit_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


class _Keep(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_no_key_secret_or_listen_key_leaks_through_the_user_stream_faults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Expiry, dropped sockets, 5xx, 429 then 418, bad frames: every path logs, none shows a secret."""
    issued: list[str] = []
    create = ListenKeys.create

    def recording_create(self: ListenKeys, account: str) -> str:
        key = create(self, account)
        issued.append(key)
        return key

    monkeypatch.setattr(ListenKeys, "create", recording_create)
    stdlib = _Keep()
    root = logging.getLogger()
    root.addHandler(stdlib)
    cfg, secrets = config(tmp_path)
    configure_logging(cfg.log.level, cfg.log.format, secrets.all())
    daemon = Daemon(cfg, secrets)
    try:
        await daemon.start()
        sim, (collector,) = daemon.simulator, daemon.collectors
        assert sim is not None
        stats = collector.stats
        synced = lambda: ("binance", "desk") in daemon.store.snapshot(0).accounts  # noqa: E731
        await until(synced, "the account")
        sim.faults.expire_listen_key()
        user = "binance.user.desk"
        await until(lambda: stats.events["listen_key_expired"] >= 1, "the expiry")
        await until(lambda: stats.connected.get(user) is True, "a session on the new key")
        sim.faults.disconnect_all()
        await until(lambda: stats.reconnects[user] >= 2 and stats.connected[user], "the user stream back")
        sim.faults.fail_rest(4, status=503)
        await until(lambda: stats.events["rest_failure"] >= 2, "REST failures")
        sim.faults.rate_limit(calls_429=1, calls_418=1, retry_after_s=1)
        await until(lambda: stats.events["rate_limited"] >= 1, "the rate limit")
        sim.faults.send_malformed(3)
        await until(lambda: stats.dropped["malformed_json"] >= 3, "the bad frames")
        t0 = daemon.clock.now_ns()
        await until(
            lambda: daemon.store.snapshot(0).accounts[("binance", "desk")].ts_recv_ns > t0, "recovery"
        )
        async with aiohttp.ClientSession() as s:
            base = f"http://127.0.0.1:{daemon.http.bound_port}"
            async with s.get(f"{base}/metrics") as r:
                metrics = await r.text()
            async with s.get(f"{base}/healthz") as r:
                health = await r.text()
        feeds = repr(daemon.store.snapshot(daemon.clock.now_ns()).feeds)
    finally:
        await daemon.stop()
        root.removeHandler(stdlib)
        structlog.reset_defaults()
    out = capsys.readouterr()
    logs = out.err + out.out
    assert len(set(issued)) >= 2, "the expiry made the venue issue a second listenKey"
    for event in ("listenKey expired", "account snapshot failed", "venue rate limit"):
        assert event in logs, f"the fault path {event!r} was not exercised"
    assert "perpmon_collector_dropped_messages_total" in metrics
    places = {"logs": logs, "stdlib logging": "\n".join(stdlib.lines), "/metrics": metrics,
              "/healthz": health, "feed reasons": feeds}  # fmt: skip
    for where, text in places.items():
        for name, value in [*ENV.items(), *((f"listenKey #{i}", k) for i, k in enumerate(issued))]:
            assert value not in text, f"{name} appeared in {where}"
