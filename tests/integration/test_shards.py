"""Two shards, one Prometheus: the book adds up across shards, and a pod's shard label is its ordinal.

Both daemons load the same config (as every pod of the StatefulSet does) and take their shard from
the StatefulSet's own args with the pod name filled in. Prometheus runs the shipped Kubernetes
scrape job with its relabelling, fed by a file instead of the Kubernetes API (Debian's Prometheus
has no Kubernetes discovery): the file carries the same `__meta_kubernetes_*` labels, so the
`shard` label is derived exactly as in the cluster. A second Prometheus federates the first with
the shipped federation config.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.app import Daemon
from monitor.cli import _parser
from monitor.config import parse_config
from monitor.shard import parse_shard, shard_of
from tests.support.perpmon import sim_config
from tests.support.servers import prom_query, prometheus
from tests.support.tls import Pki, make_pki, reissue_server
from tests.support.webconfig import write_web_config
from tools.dashboards.boards import book
from tools.dashboards.model import proof_queries

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
ACCOUNTS = {"hedge": (400_000.0, -50.0, "cross", 0.0), "carry": (20_000.0, 2.0, "cross", 0.0)}
SCRAPE_PASSWORD = "k8s-scrape-pw-2b9e"


def statefulset_shard(ordinal: int) -> Any:
    """The shard pod perpmon-<ordinal> runs with: its args from perpmon.yaml, $(POD_NAME) expanded."""
    docs = {d["kind"]: d for d in yaml.safe_load_all((K8S / "perpmon.yaml").read_text()) if d}
    sts = docs["StatefulSet"]
    env = {"POD_NAME": f"{sts['metadata']['name']}-{ordinal}"}
    args = [
        re.sub(r"\$\((\w+)\)", lambda m: env[m.group(1)], a)
        for a in sts["spec"]["template"]["spec"]["containers"][0]["args"]
    ]
    return parse_shard(_parser().parse_args(args).shard)


def scrape_config(tmp: Path, ports: list[int], pki: Pki) -> str:
    """The shipped Kubernetes scrape job, discovery swapped for a file with the same meta labels, its
    CA and password files (the Secret perpmon-scrape) written under `tmp`."""
    job = yaml.safe_load((K8S / "prometheus-scrape.yaml").read_text())["scrape_configs"][0]
    job["tls_config"]["ca_file"] = str(pki.ca)
    (tmp / "scrape-password").write_text(SCRAPE_PASSWORD)
    job["basic_auth"]["password_file"] = str(tmp / "scrape-password")
    targets = [
        {
            "targets": [f"127.0.0.1:{port}"],
            "labels": {
                "__meta_kubernetes_pod_name": f"perpmon-{i}",
                "__meta_kubernetes_pod_label_app_kubernetes_io_name": "perpmon",
                "__meta_kubernetes_pod_container_port_name": "metrics",
            },
        }
        for i, port in enumerate(ports)
    ]
    (tmp / "targets.json").write_text(json.dumps(targets))
    del job["kubernetes_sd_configs"]
    job.update(
        scrape_interval="500ms",
        scrape_timeout="400ms",
        file_sd_configs=[{"files": [str(tmp / "targets.json")]}],
    )
    return str(yaml.safe_dump({"global": {"scrape_interval": "500ms"}, "scrape_configs": [job]}))


def federation_config(source: str) -> str:
    cfg = yaml.safe_load((ROOT / "deploy" / "prometheus" / "federation.yml").read_text())
    job = cfg["scrape_configs"][0]
    job.update(scrape_interval="500ms", scrape_timeout="400ms", static_configs=[{"targets": [source]}])
    cfg["global"]["scrape_interval"] = "500ms"
    return str(yaml.safe_dump(cfg))


async def query(url: str, expr: str) -> list[dict[str, Any]]:
    return await asyncio.to_thread(prom_query, url, expr)  # type: ignore[return-value]


async def eventually(url: str, expr: str, want: Any, limit_s: float = 20.0) -> Any:
    """Poll `expr` until its (labels → value) result equals `want`; return the last result."""
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while True:
        got = {
            tuple(sorted(r["metric"].items())): round(float(r["value"][1]), 9) for r in await query(url, expr)
        }
        if got == want or loop.time() > end:
            return got
        await asyncio.sleep(0.5)


async def test_two_shards_aggregate_in_one_prometheus_and_through_federation(tmp_path: Path) -> None:
    """sum by (asset) sees both shards' accounts; shards are pod ordinals; federation keeps them."""
    assert (shard_of("hedge", 2), shard_of("custody", 2), shard_of("carry", 2)) == (0, 0, 1)
    daemons = []
    pki = make_pki(tmp_path)  # cert-manager's part: one pair valid for the name the scrape job checks
    job = yaml.safe_load((K8S / "prometheus-scrape.yaml").read_text())["scrape_configs"][0]
    reissue_server(pki, (job["tls_config"]["server_name"],))
    web = write_web_config(tmp_path / "web-config.yml", pki, {job["basic_auth"]["username"]: SCRAPE_PASSWORD})
    for ordinal in range(2):
        data, env = sim_config(tmp_path / f"pod-{ordinal}", ACCOUNTS, holdings={"custody": 50.0})
        data["http"]["web_config_file"] = str(web)
        cfg, secrets = parse_config(data, env)
        daemons.append(Daemon(cfg, secrets, shard_override=statefulset_shard(ordinal)))
    assert [[a.name for a in d.cfg.accounts] for d in daemons] == [["hedge"], ["carry"]]
    try:
        for d in daemons:
            await d.start()
        ports = [d.http.bound_port for d in daemons]
        with prometheus(tmp_path, scrape_config(tmp_path, ports, pki)) as url:
            # custody 50 and hedge -50 on shard 0, carry +2 on shard 1: the whole book is +2 BTC
            net = await eventually(url, "sum by (asset) (perpmon_net_delta)", {(("asset", "BTC"),): 2.0})
            assert net == {(("asset", "BTC"),): 2.0}
            owners = await eventually(
                url,
                "count by (shard, account) (perpmon_margin_ratio)",
                {(("account", "hedge"), ("shard", "0")): 1.0, (("account", "carry"), ("shard", "1")): 1.0},
            )
            assert owners == {
                (("account", "hedge"), ("shard", "0")): 1.0,
                (("account", "carry"), ("shard", "1")): 1.0,
            }
            info = await query(url, "perpmon_shard_info")
            assert sorted(
                (r["metric"]["shard"], r["metric"]["shard_index"], r["metric"]["shard_count"]) for r in info
            ) == [("0", "0", "2"), ("1", "1", "2")]
            hedge_ratio = next(q for w, q in proof_queries(book(), {}, "5s") if w == "Hedge ratio")
            assert float((await query(url, hedge_ratio))[0]["value"][1]) == pytest.approx(0.96)
            marks = await query(url, "max by (venue, symbol) (perpmon_mark_price_usd)")
            assert len(marks) == 1, "both shards' copies of a market fold into one series"
            for where, q in proof_queries(book(), {}, "5s"):
                assert await query(url, q), f"book / {where} has no data across shards"

            port = url.rsplit(":", 1)[1]
            with prometheus(tmp_path, federation_config(f"127.0.0.1:{port}")) as global_url:
                fed = await eventually(
                    global_url, "sum by (asset) (perpmon_net_delta)", {(("asset", "BTC"),): 2.0}
                )
                assert fed == {(("asset", "BTC"),): 2.0}
                shards = await query(global_url, "count by (shard) (perpmon_build_info)")
                assert sorted(r["metric"]["shard"] for r in shards) == ["0", "1"]
    finally:
        for d in daemons:
            if hasattr(d, "http"):
                await d.stop()
