"""kill -9 in the middle of a delivery: the next process delivers what was pending, duplicates share a key."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from aiohttp import web

from tests.support.servers import http_receiver
from tests.unit.notify.crash_driver import symbol

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
COUNT = 6
HELD = 2  # the third request hangs until the process holding it is killed


def driver(tmp_path: Path, url: str, *args: str) -> subprocess.Popen[bytes]:
    log = (tmp_path / "driver.log").open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "tests.unit.notify.crash_driver", str(tmp_path / "outbox.db"), url, *args],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


async def test_sigkill_mid_delivery_then_restart_delivers_everything(tmp_path: Path) -> None:
    """Killed while a slow receiver holds a request: the restart delivers all, re-sending only that one."""
    got: list[tuple[str, str]] = []  # (idempotency key, symbol) per request received
    held, release = asyncio.Event(), asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        body = await request.json()
        got.append((request.headers["Idempotency-Key"], body["alerts"][0]["labels"]["symbol"]))
        if len(got) - 1 == HELD:
            held.set()
            await release.wait()
        return web.Response(status=200)

    async with http_receiver("/hook/{token}", handle) as base:
        url = f"{base}/hook/t0ken"
        try:
            first = driver(tmp_path, url, "submit", str(COUNT))
            await asyncio.wait_for(held.wait(), 20)
            for _ in range(500):
                if (tmp_path / "outbox.db.submitted").exists():
                    break
                await asyncio.sleep(0.02)
            os.kill(first.pid, signal.SIGKILL)
            assert await asyncio.to_thread(first.wait, 10) == -signal.SIGKILL
            with sqlite3.connect(tmp_path / "outbox.db") as db:
                states = [s for (s,) in db.execute("SELECT status FROM outbox ORDER BY id")]
            assert states == ["sent"] * HELD + ["leased"] + ["pending"] * (COUNT - HELD - 1)

            second = driver(tmp_path, url, "resume")
            assert await asyncio.to_thread(second.wait, 30) == 0, (tmp_path / "driver.log").read_text()
        finally:
            release.set()
    assert {s for _, s in got} == {symbol(i) for i in range(COUNT)}, "nothing lost"
    sent_twice = [key for key, n in Counter(k for k, _ in got).items() if n > 1]
    assert sent_twice == [got[HELD][0]], "only the request in flight at the kill went twice, with its key"
    assert len({s for k, s in got if k == got[HELD][0]}) == 1 and len(got) == COUNT + 1
