"""`promtool check metrics` on what a running daemon exposes, not on a hand-built sample.

tests/unit/test_metrics.py lints a synthetic exposition; the real one carries every figure family
the evaluator produces on the simulator, the collectors' counters, the delivery counters of each
receiver, the reload and shard gauges. Each is checked here as Prometheus will scrape it.
"""

from __future__ import annotations

import asyncio
import subprocess
import urllib.request
from pathlib import Path

import pytest

from monitor.app import Daemon
from monitor.config import parse_config
from tests.support.perpmon import sim_config
from tests.support.servers import require

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ACCOUNTS = {"hedge": (400_000.0, -50.0, "cross", 0.0), "degen": (6_000.0, 2.0, "cross", 0.0)}


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return str(r.read().decode())


async def test_a_running_daemons_metrics_pass_promtool(tmp_path: Path) -> None:
    """Figures, self-health and delivery counters from a live run: promtool finds nothing to fix."""
    promtool = require("promtool", "prometheus")
    hook = {"name": "desk", "type": "webhook", "url_env": "HOOK_URL", "timeout_s": 1.0}
    data, env = sim_config(tmp_path, ACCOUNTS, holdings={"custody": 50.0}, receivers=[hook])
    env["HOOK_URL"] = "http://127.0.0.1:9/hook/s3cr3t-path"  # nothing listens: failures get counted
    d = Daemon(*parse_config(data, env))
    await d.start()
    try:
        for _ in range(200):
            text = await asyncio.to_thread(scrape, d.http.bound_port)
            if (
                "perpmon_margin_ratio{" in text
                and 'perpmon_notifications_failed_total{reason="connection_error"' in text
            ):
                break
            await asyncio.sleep(0.1)
    finally:
        await d.stop()
    assert "perpmon_liquidation_price_usd{" in text and "perpmon_outbox_pending{" in text
    assert 'perpmon_notifications_failed_total{reason="connection_error",receiver="desk"}' in text
    assert "s3cr3t" not in text
    proc = await asyncio.to_thread(
        subprocess.run, [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "" and proc.stderr.strip() == "", (
        proc.stdout + proc.stderr
    )
