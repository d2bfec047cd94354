"""The daemon's embedded simulator serves its admin API when `simulator.admin_port` is set.

So a user running `make run` can push a shock or pin a price into the very simulator the daemon is
watching, and see perpmon's figures and alerts react; off (no listener) when the key is absent or 0.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Daemon
from monitor.config import parse_config
from tests.support.perpmon import sim_config
from tests.support.servers import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ACCOUNTS = {"hedge": (400_000.0, -50.0, "cross", 0.0)}


def call(url: str, body: dict[str, Any] | None = None, token: str = "") -> dict[str, Any]:
    data = None if body is None else json.dumps(body).encode()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    req = urllib.request.Request(url, data=data, method="GET" if body is None else "POST", headers=headers)
    with urllib.request.urlopen(req, timeout=5) as r:
        out: dict[str, Any] = json.loads(r.read())
        return out


async def test_admin_port_pins_a_price_the_daemon_then_sees(tmp_path: Path) -> None:
    """POST /admin/price on the daemon's own simulator: the collected mark becomes that price."""
    port = free_port()
    data, env = sim_config(tmp_path, ACCOUNTS)
    data["simulator"]["admin_port"] = port
    d = Daemon(*parse_config(data, env))
    await d.start()
    try:
        assert d.sim_admin is not None and d.sim_admin.url == f"http://127.0.0.1:{port}/admin"
        token_file = Path(data["state_dir"]) / "sim-admin.token"  # what `make shock` reads
        token = token_file.read_text().strip()
        assert token == d.sim_admin.token and token_file.stat().st_mode & 0o777 == 0o600
        with pytest.raises(urllib.error.HTTPError) as refused:
            await asyncio.to_thread(call, f"{d.sim_admin.url}/state")
        assert refused.value.code == 401
        state = await asyncio.to_thread(call, f"{d.sim_admin.url}/state", None, token)
        assert state["ticks"] >= 0 and state["paused"] is False
        pinned = await asyncio.to_thread(
            call, f"{d.sim_admin.url}/price", {"symbol": "BTCUSDT", "price": 12_345.6}, token
        )
        assert pinned["mark"] == pytest.approx(12_345.6)
        for _ in range(100):  # the daemon's collector hears the pinned mark from the venue
            mark = d.store.snapshot(d.clock.now_ns()).marks.get(("binance", "BTCUSDT"))
            if mark is not None and mark.mark == pytest.approx(12_345.6):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"the daemon never saw the pinned mark (last {mark})")
        shock = await asyncio.to_thread(call, f"{d.sim_admin.url}/shock", {"move": -0.2, "over_s": 60}, token)
        assert shock["move"] == -0.2
    finally:
        await d.stop()
    with pytest.raises(urllib.error.URLError):  # stopped with the daemon
        await asyncio.to_thread(call, f"http://127.0.0.1:{port}/admin/state")


async def test_no_admin_port_no_admin_api(tmp_path: Path) -> None:
    """Absent (or 0): the daemon's simulator runs without an admin listener."""
    data, env = sim_config(tmp_path, ACCOUNTS)
    cfg, secrets = parse_config(data, env)
    assert cfg.simulator.admin_port == 0
    d = Daemon(cfg, secrets)
    await d.start()
    try:
        assert d.simulator is not None and d.sim_admin is None
    finally:
        await d.stop()
