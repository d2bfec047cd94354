"""The daemon watching a Binance COIN-M account on the simulator: /metrics shows the account's
coin margin ratio and each inverse leg's LP and distance, and perpmon's LP agrees with the venue's."""

from __future__ import annotations

import asyncio
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Daemon
from monitor.config import parse_config
from tests.support.perpmon import sim_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        return str(r.read().decode())


def value(text: str, name: str, **labels: str) -> float | None:
    for line in text.splitlines():
        if line.startswith(f"perpmon_{name}{{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def coinm_config(tmp: Path) -> tuple[dict[str, Any], dict[str, str]]:
    data, env = sim_config(tmp, {"hedge": (400_000.0, -5.0, "cross", 0.0)})
    env |= {"ERIN_KEY": "erin-key", "ERIN_SECRET": "erin-secret"}
    keys = {"api_key_env": "ERIN_KEY", "api_secret_env": "ERIN_SECRET"}
    data["simulator"]["accounts"].append(
        {
            "name": "erin", "wallet_usdt": 0.0, "venue": "binance_coinm", "other_assets": {"BTC": 2.0},
            "positions": [{"symbol": "BTCUSD_PERP", "qty": -3000.0, "leverage": 20.0}], **keys,
        }
    )  # fmt: skip
    data["venues"].append(
        {"name": "coinm", "kind": "binancecoinm", "simulator": True, "symbols": ["BTCUSD_PERP"],
         "poll_s": 0.25, "stale_after_s": 5.0}
    )  # fmt: skip
    data["accounts"].append({"name": "erin", "venue": "coinm", **keys})
    return data, env


async def test_metrics_show_a_coin_margined_accounts_margin_ratio_and_distance(tmp_path: Path) -> None:
    d = Daemon(*parse_config(*coinm_config(tmp_path)))
    await d.start()
    leg = {"venue": "coinm", "account": "erin", "symbol": "BTCUSD_PERP", "side": "BOTH"}
    try:
        for _ in range(300):
            text = await asyncio.to_thread(scrape, d.http.bound_port)
            if value(text, "liquidation_price_divergence_ratio", **leg) is not None:
                break
            await asyncio.sleep(0.1)
    finally:
        await d.stop()
    ratio = value(text, "margin_ratio", venue="coinm", account="erin")
    mark = value(text, "mark_price_usd", venue="coinm", symbol="BTCUSD_PERP")
    lp = value(text, "liquidation_price_usd", **leg)
    dist = value(text, "liquidation_distance_ratio", **leg)
    assert ratio is not None and mark is not None and lp is not None and dist is not None, text[:2000]
    # 3,000 contracts × 100 USD short on 2 BTC: MM is the coin value × 0.5 % − 0.005 BTC (bracket 2)
    coin_value = 300_000.0 / mark
    assert 5.0 <= coin_value < 10.0
    assert ratio == pytest.approx((coin_value * 0.005 - 0.005) / 2.0, rel=0.2)  # UPnL small, mark moves
    assert lp > mark and dist == pytest.approx(lp / mark - 1.0, rel=0.05)
    assert value(text, "liquidation_price_divergence_ratio", **leg) < 1e-6
    assert re.search(r'perpmon_margin_ratio\{account="hedge"', text)  # the linear account as before
    # the book: the leg in BTC's bucket, its coin wallet with it (issue 17), not a "BTCUSD_PERP" asset
    assert 'asset="BTCUSD_PERP"' not in text
    coin = value(text, "venue_perp_quantity", venue="coinm", asset="BTC")
    assert coin == pytest.approx(2.0 - coin_value, rel=0.05)
