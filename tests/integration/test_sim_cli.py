"""`perpmon sim` as a user runs it: a separate process that prints where it is and the keys to use."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
import ccxt.async_support as ccxta
import pytest

from monitor.sim.ccxt_urls import point_ccxt_at

pytestmark = pytest.mark.integration
PERPMON = [sys.executable, "-c", "import sys; from monitor.cli import main; sys.exit(main())"]
ROOT = Path(__file__).parents[2]


async def _start(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    proc = await asyncio.create_subprocess_exec(
        *PERPMON, "sim", *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    assert proc.stdout is not None
    first = await asyncio.wait_for(proc.stdout.readline(), 30)
    return proc, first.decode()


async def _stop(proc: asyncio.subprocess.Process) -> int:
    proc.send_signal(signal.SIGINT)
    return await asyncio.wait_for(proc.wait(), 15)


async def test_json_object_is_enough_to_drive_ccxt_and_the_admin_api() -> None:
    proc, line = await _start("--json", "--scenario", "shock", "--speed", "120")
    try:
        info: dict[str, Any] = json.loads(line)
        assert info["scenario"] == "shock" and info["speed"] == 120.0
        assert info["admin_url"].startswith("http://127.0.0.1:")
        assert (
            len({info[k] for k in ("futures_rest_url", "spot_rest_url", "bybit_rest_url", "admin_url")}) == 4
        )
        alice = next(a for a in info["accounts"] if a["name"] == "alice")
        ex = ccxta.binanceusdm({"apiKey": alice["api_key"], "secret": alice["api_secret"]})
        point_ccxt_at(ex, info)  # the printed keys are the ones point_ccxt_at takes
        try:
            positions = {p["symbol"]: p for p in await ex.fetch_positions()}
        finally:
            await ex.close()
        async with aiohttp.ClientSession() as anonymous, anonymous.get(f"{info['admin_url']}/state") as r:
            assert r.status == 401, "the printed token is required"
        token = {"Authorization": f"Bearer {info['admin_token']}"}
        async with aiohttp.ClientSession(headers=token) as http:
            async with http.get(f"{info['admin_url']}/accounts/alice") as r:
                engine = await r.json()
            async with http.get(f"{info['admin_url']}/state") as r:
                state = await r.json()
        assert {p["symbol"]: p["qty"] for p in engine["positions"]} == {
            "BTCUSDT": 12.5,
            "ETHUSDT": -40.0,
        }
        assert (
            positions["BTC/USDT:USDT"]["contracts"] == 12.5 and positions["ETH/USDT:USDT"]["side"] == "short"
        )
        assert state["shocks"] == [{"at_s": 600.0, "move": -0.2, "over_s": 60.0}]
    finally:
        assert await _stop(proc) == 0


async def test_text_form_names_urls_and_keys_and_bad_arguments_exit_2() -> None:
    proc, first = await _start("--speed", "30")
    try:
        assert proc.stdout is not None
        lines = [first] + [(await asyncio.wait_for(proc.stdout.readline(), 10)).decode() for _ in range(9)]
        text = "".join(lines)
        assert "crash-2021-05-19" in first and "30x" in first
        for needle in ("futures REST  http://127.0.0.1:", "/stream/ws", "admin", "alice-api-key-0123456789"):
            assert needle in text
        taken = re.search(r"futures REST  http://127\.0\.0\.1:(\d+)", text)
        assert taken is not None
        busy = await asyncio.create_subprocess_exec(  # that port is in use: a message and exit 1
            *PERPMON, "sim", "--port", taken.group(1), cwd=ROOT, stderr=asyncio.subprocess.PIPE
        )
        _, err = await busy.communicate()
        assert busy.returncode == 1 and b"cannot listen" in err
    finally:
        assert await _stop(proc) == 0
    bad = await asyncio.create_subprocess_exec(
        *PERPMON, "sim", "--scenario", "nope", cwd=ROOT, stderr=asyncio.subprocess.PIPE
    )
    _, err = await bad.communicate()
    assert bad.returncode == 2 and b"synthetic" in err
