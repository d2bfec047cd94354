"""`perpmon stress --config` from live state: the embedded simulator and the daemon's collectors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.risk.stress import standard_scenarios

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONFIG = """
[log]
level = "warning"
format = "json"
[simulator]
enabled = true
tick_s = 0.05
speed = 60.0
[[simulator.accounts]]
name = "hedge"
api_key_env = "T_HEDGE_KEY"
api_secret_env = "T_HEDGE_SECRET"
wallet_usdt = 400000.0
[[simulator.accounts.positions]]
symbol = "BTCUSDT"
qty = -50.0
leverage = 5.0
[[simulator.accounts]]
name = "degen"
api_key_env = "T_DEGEN_KEY"
api_secret_env = "T_DEGEN_SECRET"
wallet_usdt = 6000.0
[[simulator.accounts.positions]]
symbol = "BTCUSDT"
qty = 2.0
leverage = 20.0
[[venues]]
name = "binance"
simulator = true
symbols = ["BTCUSDT"]
spot_symbols = ["BTCUSDT"]
poll_s = 0.25
[[accounts]]
name = "hedge"
venue = "binance"
api_key_env = "T_HEDGE_KEY"
api_secret_env = "T_HEDGE_SECRET"
[[accounts]]
name = "degen"
venue = "binance"
api_key_env = "T_DEGEN_KEY"
api_secret_env = "T_DEGEN_SECRET"
[[holdings]]
name = "custody"
asset = "BTC"
quantity = 50.0
price_venue = "binance"
price_symbol = "BTCUSDT"
"""


def test_stress_from_live_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The collectors deliver a complete book; the table covers every scenario and account."""
    for name in ("T_HEDGE_KEY", "T_HEDGE_SECRET", "T_DEGEN_KEY", "T_DEGEN_SECRET"):
        monkeypatch.setenv(name, f"live-stress-{name.lower()}")
    cfg = tmp_path / "config.toml"
    cfg.write_text(CONFIG)
    assert main(["stress", "--config", str(cfg), "--json", "--timeout", "60"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["source"], doc["incomplete"]) == ("live state", [])
    names = [s["name"] for s in doc["scenarios"]]
    assert [n for n in names if not n.startswith("outage_")] == [s.name for s in standard_scenarios(0)]
    by = {s["name"]: {(r["venue"], r["account"]): r for r in s["rows"]} for s in doc["scenarios"]}
    down = by["price_-10%"]
    assert set(down) == {("binance", "degen"), ("binance", "hedge"), ("custody", ""), ("total", "")}
    # short 50 BTC perp against 50 BTC custody: the legs offset (mark and spot differ by the basis only)
    assert down[("binance", "hedge")]["perp_pnl_usd"] == pytest.approx(
        -down[("custody", "")]["spot_pnl_usd"], rel=0.01
    )
    assert down[("binance", "degen")]["liquidated_positions"] == 1  # 2 BTC long on 6,000 USDT
