"""`perpmon run` SIGKILLed while a delivery is in flight, then started again on the same state dir.

tests/integration/test_notify_crash.py kills a process that owns only a Dispatcher; this kills the
daemon itself (collectors, evaluation loop, simulator and all) with alerts in its outbox, as the
OOM killer or a power cut would, and checks what the issue asks: the restarted daemon delivers
every pending alert first, in order, and the only duplicate is the request that was in flight,
carrying the same idempotency key.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.integration.test_reload import ACCOUNTS, MARGIN
from tests.support.perpmon import sim_config, to_toml
from tests.support.servers import http_receiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


def identity(body: dict[str, Any]) -> tuple[tuple[str, str, str], ...]:
    """What a notification says: each alert's fingerprint, status and start (its content, not its key)."""
    return tuple(sorted((a["fingerprint"], a["status"], a["startsAt"]) for a in body["alerts"]))


def unsent(db: Path) -> list[tuple[str, str]]:
    """(idempotency key, status) of every row not yet delivered, in queue order."""
    with sqlite3.connect(db) as c:
        return list(
            c.execute("SELECT idempotency_key, status FROM outbox WHERE status != 'sent' ORDER BY id")
        )


def start(tmp: Path, env: dict[str, str], run: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(tmp / "config.toml")],
        env={**os.environ, **env},
        stdout=(tmp / f"run{run}.log").open("wb"),
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )


async def until(cond: Any, limit_s: float, what: str) -> None:
    for _ in range(int(limit_s / 0.05)):
        if cond():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def test_daemon_killed_mid_delivery_delivers_everything_after_restart(tmp_path: Path) -> None:
    """kill -9 with one request held open and alerts queued: the next run sends them all, first."""
    got: list[tuple[str, tuple[tuple[str, str, str], ...]]] = []  # (key, identity) per request
    held, release = asyncio.Event(), asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        got.append((request.headers["Idempotency-Key"], identity(await request.json())))
        if len(got) == 1:  # the first request hangs until its sender is dead
            held.set()
            await release.wait()
        return web.Response(status=200)

    desk = {
        "name": "desk",
        "type": "webhook",
        "url_env": "HOOK_URL",
        "timeout_s": 60.0,
        "group_by": ["account"],
    }
    data, env = sim_config(tmp_path, ACCOUNTS, rules=[MARGIN], receivers=[desk])
    (tmp_path / "config.toml").write_text(to_toml(data))
    db = tmp_path / "state" / "outbox.sqlite3"
    procs: list[subprocess.Popen[bytes]] = []
    async with http_receiver("/hook/{token}", handle) as base:
        env["HOOK_URL"] = f"{base}/hook/s3cr3t"
        try:
            procs.append(start(tmp_path, env, 1))
            await asyncio.wait_for(held.wait(), 30)
            await until(lambda: len(unsent(db)) >= 3, 30, "both accounts' alerts queued behind the held one")
            os.kill(procs[0].pid, signal.SIGKILL)
            assert await asyncio.to_thread(procs[0].wait, 10) == -signal.SIGKILL
            before = unsent(db)
            assert [s for _, s in before] == ["leased"] + ["pending"] * (len(before) - 1)
            held_key = before[0][0]
            assert held_key == got[0][0]

            sent_before = len(got)
            procs.append(start(tmp_path, env, 2))
            await until(
                lambda: not unsent(db) and len(got) >= sent_before + len(before), 30, "the backlog delivered"
            )
            procs[1].send_signal(signal.SIGTERM)
            assert await asyncio.to_thread(procs[1].wait, 20) == 0, (tmp_path / "run2.log").read_text()
        finally:
            release.set()
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    after = [k for k, _ in got[sent_before:]]
    assert after[: len(before)] == [k for k, _ in before], "the old backlog first, in its order"
    twice = [k for k, n in Counter(k for k, _ in got).items() if n > 1]
    assert twice == [held_key], "only the request in flight at the kill went out twice"
    keys_per_content: dict[tuple[tuple[str, str, str], ...], set[str]] = {}
    for key, ident in got:
        keys_per_content.setdefault(ident, set()).add(key)
    assert all(len(keys) == 1 for keys in keys_per_content.values()), "a duplicate always has the same key"
    logs = (tmp_path / "run1.log").read_text() + (tmp_path / "run2.log").read_text()
    assert "s3cr3t" not in logs
