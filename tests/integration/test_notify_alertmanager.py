"""A real Alertmanager (Debian's package) takes perpmon's alerts, keeps them alive, then resolves them."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from monitor.clock import LiveClock
from monitor.config import ReceiverConfig
from monitor.notify import Dispatcher, Outbox, build_notifiers
from monitor.records import Figure, Figures
from monitor.rules import RuleEngine
from monitor.secret import Secret
from tests.acceptance.alert_timeline import KEY
from tests.acceptance.test_alert_timeline import margin_rule
from tests.support.servers import alertmanager
from tests.unit.notify.notify_helpers import Receiver

pytestmark = pytest.mark.integration

AM = ReceiverConfig(name="am", type="alertmanager", url_env="AM_URL", resend_s=1.0, timeout_s=2.0)


def active(url: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=2) as r:
        alerts: list[dict[str, Any]] = json.load(r)
    return [a for a in alerts if a["labels"].get("alertname") == "MarginRatioHigh"]


def value_at(t: float) -> float:
    return 0.5 if t < 0.3 else 0.83 if t < 2.0 else 0.92 if t < 3.5 else 0.6


async def test_alertmanager_shows_alert_keeps_it_alive_escalates_and_resolves(tmp_path: Path) -> None:
    """Its API lists the alert with endsAt moving ahead, only the new severity after escalation, then none."""
    hook = Receiver()
    await hook.start()
    with alertmanager(tmp_path, webhook_url=hook.url()) as am_url:
        clock = LiveClock()
        d = Dispatcher(
            (AM,),
            build_notifiers((AM,), {"am": Secret(am_url)}, clock=clock),
            Outbox(tmp_path / "o.db"),
            clock,
            backoff_initial_s=0.1,
        )
        engine = RuleEngine((margin_rule(for_s=0),))
        worker = asyncio.create_task(d.run())
        seen: dict[str, list[dict[str, Any]]] = {}
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        try:
            while (t := loop.time() - t0) < 5.5:
                now = clock.now_ns()
                figs = Figures(
                    taken_at_ns=now, items={KEY: Figure(value=value_at(t), unit="ratio", ts_ns=now)}
                )
                await d.submit(engine.step(figs, now), now, firing=engine.announced)
                for mark in (1.0, 1.9, 3.2, 5.3):
                    if t >= mark and str(mark) not in seen:
                        seen[str(mark)] = await asyncio.to_thread(active, am_url)
                await asyncio.sleep(0.1)
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            await d.close()
            await hook.stop()

    [first] = seen["1.0"]
    assert first["labels"] == {
        "alertname": "MarginRatioHigh",
        "severity": "warning",
        "venue": "binance",
        "account": "desk1",
        "symbol": "BTCUSDT",
    }
    assert first["annotations"]["value"] == "0.83" and first["status"]["state"] == "active"
    [later] = seen["1.9"]
    assert later["endsAt"] > first["endsAt"], "re-sent every resend_s with endsAt 4 intervals ahead"
    assert [a["labels"]["severity"] for a in seen["3.2"]] == ["critical"], "the warning was resolved"
    assert seen["5.3"] == [], "resolved: no longer listed"
    resolved = [
        a["labels"]["severity"]
        for r in hook.requests
        for a in r["json"]["alerts"]
        if a["status"] == "resolved" and a["labels"]["alertname"] == "MarginRatioHigh"
    ]
    assert sorted(set(resolved)) == ["critical", "warning"], "Alertmanager itself notified both resolutions"
    assert d.failed_total == {} and d.pending() == 0
