"""The daemon on a simulated Hyperliquid: a position's margin ratio, LP, distance and divergence on /metrics.

`perpmon run`'s Daemon with one `kind = "hyperliquid"` venue on the simulator and two accounts read
by address (no key variables): erin (cross) and frank (isolated). The account stage prices them
on Hyperliquid's tiers; its LP must match the venue's own `liquidationPx` (the divergence figure).
"""

from __future__ import annotations

import asyncio
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Daemon
from monitor.config import parse_config
from monitor.sim.hyperliquid.testing import ERIN, FRANK, hyperliquid_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return str(r.read().decode())


def _config(tmp: Path) -> tuple[dict[str, Any], dict[str, str]]:
    sim_accounts = [
        {"name": a.name, "wallet_usdt": a.wallet_usdt, "venue": a.venue,
         "positions": [{"symbol": p.symbol, "qty": p.qty, "leverage": p.leverage,
                        "margin_mode": p.margin_mode, "isolated_wallet": p.isolated_wallet}
                       for p in a.positions]}
        for a in hyperliquid_config().accounts
        if a.venue == "hyperliquid"
    ]  # fmt: skip
    env: dict[str, str] = {}  # no key anywhere: Hyperliquid accounts are read by address
    data: dict[str, Any] = {
        "state_dir": str(tmp / "state"),
        "log": {"format": "json", "level": "warning"},
        "http": {"host": "127.0.0.1", "port": 0},
        "simulator": {"enabled": True, "speed": 60.0, "tick_s": 0.1, "loop": True, "accounts": sim_accounts},
        "venues": [
            {"name": "hl", "kind": "hyperliquid", "simulator": True, "symbols": ["BTC", "ETH", "SOL"],
             "poll_s": 1.0, "stale_after_s": 5.0, "backfill": False, "depth_levels": 0, "perp_books": False}
        ],
        # read by address: no key variables (a Hyperliquid address is public)
        "accounts": [{"name": "erin", "venue": "hl", "address": ERIN},
                     {"name": "frank", "venue": "hl", "address": FRANK}],
        "evaluation": {"interval_s": 0.1, "volatility_sample_s": 1.0, "horizon_s": 144.0},
        "rules": [],
        "receivers": [{"name": "console", "type": "console"}],
    }  # fmt: skip
    return data, env


def _value(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rpartition(" ")[2])
    return None


async def test_a_hyperliquid_position_shows_margin_ratio_and_liquidation_distance(tmp_path: Path) -> None:
    d = Daemon(*parse_config(*_config(tmp_path)))
    await d.start()
    text = ""
    try:
        for _ in range(300):
            text = await asyncio.to_thread(scrape, d.http.bound_port)
            if all(
                _value(text, n, venue="hl", account=a) is not None
                for n in ("perpmon_margin_ratio", "perpmon_liquidation_distance_ratio")
                for a in ("erin", "frank")
            ):
                break
            await asyncio.sleep(0.1)
    finally:
        await d.stop()
    frank_eth = {"venue": "hl", "account": "frank", "symbol": "ETH"}
    assert _value(text, "perpmon_margin_ratio", venue="hl", account="erin") is not None, text[-3000:]
    distance = _value(text, "perpmon_liquidation_distance_ratio", **frank_eth)
    assert distance is not None and 0 < distance < 0.1  # 20× isolated long: a few % from its LP
    # our LP on the venue's own marks against its liquidationPx: the same model, so equal to rounding
    for account, symbol in (("erin", "ETH"), ("frank", "ETH"), ("frank", "SOL")):
        labels = {"venue": "hl", "account": account, "symbol": symbol}
        divergence = _value(text, "perpmon_liquidation_price_divergence_ratio", **labels)
        assert divergence is not None and divergence < 1e-6, re.findall(r"perpmon_liquidation.*hl.*", text)
    # erin's BTC long is not liquidatable while her ETH short stands: the venue sends null, we agree
    assert _value(text, "perpmon_figure_unavailable", account="erin", symbol="BTC", reason="venue_shows_none")
