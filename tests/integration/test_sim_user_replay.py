"""A user's own files end to end: archive-format klines and funding → simulator → daemon → alert.

The test writes an hour of BTCUSDT perpetual and spot 1-minute klines and a funding CSV in
Binance's public-data-archive formats, points a `make run`-style config's `[simulator] replay` at
the folder, and runs the daemon against the simulator over loopback. The user's prices fall from
40,000 to 34,000; the 20× long's liquidation price is about 37,150, so the liquidation-distance
alert must fire (critical), and the position must be liquidated at the venue below its LP.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Daemon
from monitor.config import parse_config
from tests.integration.test_end_to_end import Receiver, receiver, wait_for  # noqa: F401  (fixture)
from tests.support.held_start import play_once_seen, start_held
from tests.unit.sim.archive_files import funding_file, perp_file, spot_file

pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEYS = {"DEGEN_KEY": "user-replay-degen-key", "DEGEN_SECRET": "user-replay-degen-secret"}
PERP = [40_000.0] * 10 + [40_000.0 - 200.0 * i for i in range(1, 31)] + [34_000.0] * 20
SPOT = [p * 1.002 for p in PERP]


def _config(tmp_path: Path, folder: Path, webhook_url: str) -> Any:
    data = {
        "state_dir": str(tmp_path / "state"),
        "log": {"format": "json", "level": "warning"},
        "http": {"host": "127.0.0.1", "port": 0},
        "simulator": {
            "enabled": True,
            "replay": str(folder),
            "speed": 600.0,  # the hour in six seconds
            "tick_s": 0.1,
            "loop": "stop",
            "accounts": [
                {
                    "name": "degen",
                    "api_key_env": "DEGEN_KEY",
                    "api_secret_env": "DEGEN_SECRET",
                    "wallet_usdt": 6_000.0,
                    "positions": [{"symbol": "BTCUSDT", "qty": 2.0, "leverage": 20.0}],
                }
            ],
        },
        "venues": [
            {
                "name": "binance",
                "simulator": True,
                "symbols": ["BTCUSDT"],
                "spot_symbols": ["BTCUSDT"],
                "poll_s": 0.25,
                "stale_after_s": 5.0,
            }
        ],
        "accounts": [
            {
                "name": "degen",
                "venue": "binance",
                "api_key_env": "DEGEN_KEY",
                "api_secret_env": "DEGEN_SECRET",
            }
        ],
        "evaluation": {"interval_s": 0.1, "volatility_sample_s": 1.0, "horizon_s": 144.0},
        "rules": [
            {
                "name": "LiquidationDistance",
                "figure": "liquidation_distance_ratio",
                "op": "<",
                "for_s": 0.5,
                "levels": [
                    {"severity": "warning", "threshold": 0.10, "clear": 0.12},
                    {"severity": "critical", "threshold": 0.05, "clear": 0.06, "for_s": 0.0},
                ],
            },
            {
                "name": "PositionDisappeared",
                "figure": "position_disappeared",
                "op": ">",
                "levels": [{"severity": "critical", "threshold": 0.5}],
            },
        ],
        "receivers": [{"name": "desk", "type": "webhook", "url_env": "HOOK_URL", "timeout_s": 5.0}],
    }
    return parse_config(data, {**KEYS, "HOOK_URL": webhook_url})


async def test_the_users_prices_crossing_the_lp_raise_the_liquidation_alert(
    tmp_path: Path,
    receiver: tuple[Receiver, str],  # noqa: F811
) -> None:
    folder = tmp_path / "my-history"
    perp_file(folder, "BTCUSDT", PERP)
    spot_file(folder, "BTCUSDT", SPOT)
    funding_file(folder, "BTCUSDT", [0.0001, 0.0001, -0.00005])
    rec, url = receiver
    cfg, secrets = _config(tmp_path, folder, url)
    daemon = Daemon(cfg, secrets)
    sim = await start_held(daemon)  # at 600x the replay liquidates degen before a slow start-up ends
    try:
        pos = sim.engine.position("degen", "BTCUSDT")
        assert pos is not None
        lp = pos.liquidation_price
        assert 36_000 < lp < 38_000 and pos.entry == pytest.approx(40_000, rel=3e-3)
        q = sim.market.quotes["BTCUSDT"]
        assert q.index == pytest.approx(q.last * 1.002, rel=2e-3)  # the user's spot is the index
        degen = {"account": "degen", "symbol": "BTCUSDT"}
        await play_once_seen(daemon, ["degen"])
        await wait_for(
            lambda: any(
                a["labels"]["severity"] == "critical"
                for a in rec.find("LiquidationDistance", "firing", **degen)
            ),
            60,
            "the critical liquidation-distance alert",
        )
        await wait_for(lambda: rec.find("PositionDisappeared", "firing", **degen), 60, "the liquidation")
        (liq,) = sim.engine.liquidations
        assert liq.account == "degen" and liq.price <= lp
        assert [r.rate for r in sim.funding.query("BTCUSDT", None, None, 10)] == [0.0001, 0.0001, -0.00005]
    finally:
        await daemon.stop()
        await asyncio.sleep(0)
