"""SIGTERM during start-up stops the daemon at once: a venue slow to answer (a key check that
retries, a listing read) must not make `systemctl stop` wait for its timeout and a SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import pytest

from monitor import app
from monitor.config import Config, Secrets, parse_config


def _config(tmp_path: Path) -> tuple[Config, Secrets]:
    data = {
        "state_dir": str(tmp_path),
        "http": {"port": 0},
        "venues": [{"name": "binance", "symbols": ["BTCUSDT"]}],
        "accounts": [{"name": "faq", "venue": "binance", "api_key_env": "K", "api_secret_env": "S"}],
        "receivers": [{"name": "desk", "type": "console"}],
    }
    return parse_config(data, {"K": "k", "S": "s"})


def _forget_signals(loop: asyncio.AbstractEventLoop) -> None:
    """run_daemon's handlers would outlive the test on the shared loop."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.remove_signal_handler(sig)


async def test_sigterm_during_start_up_stops_without_waiting_for_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cfg, secrets = _config(tmp_path)
    entered, calls = asyncio.Event(), []

    async def start_forever(self: app.Daemon) -> None:  # a key check the venue never answers
        entered.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            calls.append("start cancelled")
            raise

    async def stop(self: app.Daemon) -> None:
        calls.append("stop")

    monkeypatch.setattr(app.Daemon, "start", start_forever)
    monkeypatch.setattr(app.Daemon, "stop", stop)
    loop = asyncio.get_running_loop()
    try:
        run = asyncio.create_task(app.run_daemon(cfg, secrets))
        await asyncio.wait_for(entered.wait(), 5)
        os.kill(os.getpid(), signal.SIGTERM)
        assert await asyncio.wait_for(run, 5) == 0
    finally:
        _forget_signals(loop)
    assert calls == ["start cancelled", "stop"]


async def test_a_failed_start_up_still_raises_and_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused key (start-up's own failure) keeps surfacing as before: exit 2 comes from it."""
    cfg, secrets = _config(tmp_path)
    calls = []

    async def start_fails(self: app.Daemon) -> None:
        raise RuntimeError("refused")

    async def stop(self: app.Daemon) -> None:
        calls.append("stop")

    monkeypatch.setattr(app.Daemon, "start", start_fails)
    monkeypatch.setattr(app.Daemon, "stop", stop)
    loop = asyncio.get_running_loop()
    try:
        with pytest.raises(RuntimeError, match="refused"):
            await asyncio.wait_for(app.run_daemon(cfg, secrets), 5)
    finally:
        _forget_signals(loop)
    assert calls == ["stop"]
