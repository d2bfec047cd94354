"""End to end: a leg in a symbol the venue entry does not list is watched, priced, and alerted on.

The daemon runs on its embedded simulator, watching `binance` for BTCUSDT only; the account also
holds ETHUSDT. Before perpmon watched held symbols, that ETH leg had no mark, the whole cross
account's figures were NaN and no alert could fire. Here the collector subscribes ETHUSDT when the
account snapshot shows it, and an ETH price pinned near liquidation through the simulator's admin
API raises LiquidationDistance on the ETH leg, on the console and at a webhook receiver.
"""

from __future__ import annotations

import asyncio
import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiohttp import web

from monitor.app import Daemon
from monitor.config import parse_config
from tests.support.perpmon import sim_config
from tests.support.servers import free_port, http_receiver

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ETH_QTY = 30.0
WALLET = 12_000.0


def post(url: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers=headers)
    with urllib.request.urlopen(req, timeout=5) as r:
        out: dict[str, Any] = json.loads(r.read())
        return out


def config(tmp: Path, hook: str, admin_port: int) -> Any:
    data, env = sim_config(
        tmp,
        {"trader": (WALLET, 0.01, "cross", 0.0)},
        rules=[
            {
                "name": "LiquidationDistance",
                "figure": "liquidation_distance_ratio",
                "op": "<",
                "for_s": 0.3,
                "levels": [{"severity": "critical", "threshold": 0.05, "clear": 0.06}],
            }
        ],
        receivers=[
            {"name": "console", "type": "console"},
            {"name": "desk", "type": "webhook", "url_env": "HOOK_URL", "timeout_s": 5.0},
        ],
    )
    eth = {
        "symbol": "ETHUSDT",
        "qty": ETH_QTY,
        "leverage": 20.0,
        "margin_mode": "cross",
        "isolated_wallet": 0.0,
    }
    data["simulator"]["accounts"][0]["positions"].append(eth)
    data["simulator"] |= {"admin_port": admin_port, "speed": 60.0}
    assert data["venues"][0]["symbols"] == ["BTCUSDT"]  # ETHUSDT is held, not listed
    return parse_config(data, {**env, "HOOK_URL": hook})


async def wait_for(cond: Any, limit_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_an_unlisted_held_leg_driven_toward_liquidation_alerts_console_and_webhook(
    tmp_path: Path,
) -> None:
    posts: list[dict[str, Any]] = []

    async def hook(request: web.Request) -> web.Response:
        posts.append(await request.json())
        return web.Response(status=200)

    def webhook_alerts() -> list[dict[str, Any]]:
        return [
            a
            for p in posts
            for a in p["alerts"]
            if a["status"] == "firing"
            and a["labels"].get("alertname") == "LiquidationDistance"
            and a["labels"].get("symbol") == "ETHUSDT"
        ]

    port = free_port()
    with structlog.testing.capture_logs() as logs:
        async with http_receiver("/hook", hook) as base:
            d = Daemon(*config(tmp_path, f"{base}/hook", port))
            await d.start()
            try:

                def eth_distance() -> float | None:
                    figs = d.latest
                    if figs is None:
                        return None
                    for k, f in figs.items.items():
                        if k.name == "liquidation_distance_ratio" and k.labels().get("symbol") == "ETHUSDT":
                            return f.value if f.fresh and f.available else None
                    return None

                await wait_for(lambda: eth_distance() is not None, 20, "a fresh ETH liquidation distance")
                start = eth_distance()
                assert start is not None and start > 0.06, "the leg starts away from the alert"
                assert webhook_alerts() == []

                sim = d.simulator
                assert sim is not None and d.sim_admin is not None
                lp = sim.engine.liquidation_price("trader", "ETHUSDT")
                mark = sim.engine.marks["ETHUSDT"]
                assert 0 < lp < mark
                target = lp * 1.03  # 3 % above its liquidation price: critical, not liquidated
                pin = {"symbol": "ETHUSDT", "price": target}
                await asyncio.to_thread(post, f"{d.sim_admin.url}/price", pin, d.sim_admin.token)
                await wait_for(lambda: webhook_alerts() != [], 20, "the ETH alert at the webhook")
                assert sim.engine.position("trader", "ETHUSDT") is not None, (
                    "driven near, not past, liquidation"
                )
            finally:
                await d.stop()
    (alert,) = webhook_alerts()[:1]
    assert alert["labels"]["account"] == "trader" and float(alert["annotations"]["value"]) < 0.05
    console = [
        e
        for e in logs
        if e["event"] == "alert firing"
        and e.get("alertname") == "LiquidationDistance"
        and e.get("receiver") == "console"
    ]
    assert [e["symbol"] for e in console] == ["ETHUSDT"]
