"""Every dashboard query returns data from a real Prometheus that scraped a real perpmon run.

Grafana itself is not installable here, so this is the proof a panel works: the generated
dashboards' PromQL (variables filled in as Grafana would) goes through Prometheus' HTTP API
against series Prometheus scraped from a perpmon daemon trading against the simulator. The
Prometheus config is the shipped deploy/prometheus/prometheus.yml with the target and intervals
changed, so its rule file is loaded against real series too.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor import devtls
from monitor.app import Daemon
from monitor.config import parse_config
from tests.support.perpmon import sim_config
from tests.support.servers import prom_query, prometheus
from tools.dashboards.boards import boards
from tools.dashboards.model import proof_queries

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
ACCOUNTS = {
    "hedge": (400_000.0, -50.0, "cross", 0.0),
    "degen": (6_000.0, 2.0, "cross", 0.0),
    "iso": (50_000.0, 1.0, "isolated", 10_000.0),  # proves the isolated-margin panel
}


def shipped_prometheus_config(tmp: Path, targets: list[dict[str, Any]], tls_dir: Path) -> str:
    """deploy/prometheus/prometheus.yml, scraping `targets` every 0.5 s, without Alertmanager, its
    CA and password files read from `tls_dir` (where compose mounts the perpmon-tls volume)."""
    cfg = yaml.safe_load((ROOT / "deploy" / "prometheus" / "prometheus.yml").read_text())
    shutil.copytree(ROOT / "deploy" / "prometheus" / "rules", tmp / "rules", dirs_exist_ok=True)
    cfg["global"].update(scrape_interval="500ms", evaluation_interval="500ms")
    cfg.pop("alerting")
    job = cfg["scrape_configs"][0]
    job.update(scrape_interval="500ms", scrape_timeout="400ms", static_configs=targets)
    for section, key in (("tls_config", "ca_file"), ("basic_auth", "password_file")):
        job[section][key] = str(tls_dir / Path(job[section][key]).name)
    return str(yaml.safe_dump(cfg))


async def missing_series(url: str, queries: list[tuple[str, str]]) -> list[tuple[str, str]]:
    def run() -> list[tuple[str, str]]:
        return [(where, q) for where, q in queries if not prom_query(url, q)]

    return await asyncio.to_thread(run)


async def until_all_answer(url: str, queries: list[tuple[str, str]], limit_s: float) -> list[tuple[str, str]]:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while True:
        missing = await missing_series(url, queries)
        if not missing or loop.time() > end:
            return missing
        await asyncio.sleep(0.5)


def with_bybit(data: dict[str, Any], env: dict[str, str]) -> None:
    """A simulated Bybit venue with one account short 1 BTC beside the Binance ones."""
    keys = {"api_key_env": "HEDGE_BYBIT_KEY", "api_secret_env": "HEDGE_BYBIT_SECRET"}
    env |= {"HEDGE_BYBIT_KEY": "hedge-bybit-key", "HEDGE_BYBIT_SECRET": "hedge-bybit-secret"}
    pos = {"symbol": "BTCUSDT", "qty": -1.0, "leverage": 5.0}
    data["simulator"]["accounts"].append({"name": "hedge-bybit", "venue": "bybit", "wallet_usdt": 50_000.0,
                                          "positions": [pos], **keys})  # fmt: skip
    data["venues"].append({"name": "bybit", "kind": "bybit", "simulator": True, "symbols": ["BTCUSDT"],
                           "poll_s": 0.25, "stale_after_s": 5.0})  # fmt: skip
    data["accounts"].append({"name": "hedge-bybit", "venue": "bybit", **keys})


async def test_every_panel_query_returns_series(tmp_path: Path) -> None:
    """Every target and variable of every board returns a series, for All and for a picked account."""
    data, env = sim_config(tmp_path, ACCOUNTS, holdings={"custody": 50.0})
    with_bybit(data, env)  # the cross-venue panels (funding spread, quantity by venue) need two venues
    tls_dir = tmp_path / "perpmon-tls"  # what compose's perpmon-tls service writes, for this host
    assert devtls.main([str(tls_dir), "--host", "127.0.0.1"]) == 0
    data["http"]["web_config_file"] = str(tls_dir / "web-config.yml")
    cfg, secrets = parse_config(data, env)
    daemon = Daemon(cfg, secrets)
    await daemon.start()
    try:
        assert daemon.http.scheme == "https"
        target = [{"targets": [f"127.0.0.1:{daemon.http.bound_port}"], "labels": {"shard": "0"}}]
        with prometheus(tmp_path, shipped_prometheus_config(tmp_path, target, tls_dir)) as url:
            every = [(f"{b.uid} / {where}", q) for b in boards() for where, q in proof_queries(b, {}, "5s")]
            assert len(every) > 60
            missing = await until_all_answer(url, every, limit_s=25)
            assert missing == [], f"panels with no data: {missing}"
            picked = {"venue": "binance", "account": "degen|iso", "symbol": "BTCUSDT"}
            some = [(f"{b.uid} / {w}", q) for b in boards() for w, q in proof_queries(b, picked, "5s")]
            assert await missing_series(url, some) == [], "panels with no data for a picked account"

            net = prom_query(url, "sum by (asset) (perpmon_net_delta)")
            assert [(r["metric"], float(r["value"][1])) for r in net] == [({"asset": "BTC"}, 2.0)]  # type: ignore[index]
            alerts = await asyncio.to_thread(prom_query, url, "ALERTS")
            names = {r["metric"]["alertname"] for r in alerts}  # type: ignore[index]
            assert "PerpmonMonitoringHeartbeat" in names
            assert not names & {"PerpmonDown", "PerpmonEvaluationStalled", "PerpmonAbsent"}
    finally:
        await daemon.stop()
