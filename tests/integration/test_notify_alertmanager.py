"""A real Alertmanager (Debian's package) takes perpmon's alerts, keeps them alive, then resolves them."""

from __future__ import annotations

import asyncio
import json
import urllib.request
from collections.abc import Awaitable, Callable
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


async def until(check: Callable[[], Awaitable[bool]], what: str, limit_s: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not await check():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_alertmanager_shows_alert_keeps_it_alive_escalates_and_resolves(tmp_path: Path) -> None:
    """Its API lists the alert with endsAt moving ahead, only the new severity after escalation, then none."""
    hook = Receiver()
    await hook.start()
    value = 0.83

    async def ticker(d: Dispatcher, engine: RuleEngine, clock: LiveClock) -> None:
        while True:  # the daemon's evaluation loop, 10 ticks a second
            now = clock.now_ns()
            figs = Figures(taken_at_ns=now, items={KEY: Figure(value=value, unit="ratio", ts_ns=now)})
            await d.submit(engine.step(figs, now), now, firing=engine.announced)
            await asyncio.sleep(0.1)

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
        tasks = [asyncio.create_task(d.run()), asyncio.create_task(ticker(d, engine, clock))]

        async def severities() -> list[str]:
            return sorted(a["labels"]["severity"] for a in await asyncio.to_thread(active, am_url))

        try:
            await until(lambda: _is(severities(), ["warning"]), "the warning in Alertmanager")
            [first] = await asyncio.to_thread(active, am_url)

            async def re_sent() -> bool:  # not a fixed 1.5 s: a loaded box re-sends later than resend_s
                [later] = await asyncio.to_thread(active, am_url)
                return bool(later["endsAt"] > first["endsAt"])

            await until(re_sent, "a re-send moving endsAt on (every resend_s, endsAt 4 intervals ahead)")
            value = 0.92
            await until(lambda: _is(severities(), ["critical"]), "only the critical one")
            value = 0.6
            await until(lambda: _is(severities(), []), "the resolution")
            await until(lambda: _done(hook), "Alertmanager's own resolved notifications")
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await d.close()
            await hook.stop()

    assert first["labels"] == {
        "alertname": "MarginRatioHigh",
        "severity": "warning",
        "venue": "binance",
        "account": "desk1",
        "symbol": "BTCUSDT",
    }
    assert first["annotations"]["value"] == "0.83" and first["status"]["state"] == "active"
    assert d.failed_total == {} and d.pending() == 0
    assert engine.firing() == []


async def _is(got: Awaitable[list[str]], want: list[str]) -> bool:
    return await got == want


async def _done(hook: Receiver) -> bool:
    resolved = {
        a["labels"]["severity"]
        for r in hook.requests
        for a in r["json"]["alerts"]
        if a["status"] == "resolved" and a["labels"]["alertname"] == "MarginRatioHigh"
    }
    return resolved == {"warning", "critical"}
