"""The Alertmanager HA example forms a cluster: two real peers on loopback gossip silences.

The peers run with the flags of deploy/k8s/alertmanager-ha.yaml (addresses moved to loopback) and
the routing tree of deploy/alertmanager/alertmanager.yml with its integrations removed, so nothing
is sent off this machine.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.servers import free_port, require

pytestmark = [pytest.mark.integration]

ROOT = Path(__file__).resolve().parents[2]


def api(url: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(f"{url}{path}", data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=3) as r:
        return json.loads(r.read() or b"null")


@contextmanager
def peer(tmp: Path, config: Path, web: int, cluster: int, peers: list[int]) -> Iterator[str]:
    """One Alertmanager with the StatefulSet's cluster flags, listening on loopback."""
    sts = next(
        d
        for d in yaml.safe_load_all((ROOT / "deploy" / "k8s" / "alertmanager-ha.yaml").read_text())
        if d["kind"] == "StatefulSet"
    )
    flags = {a.split("=", 1)[0] for a in sts["spec"]["template"]["spec"]["containers"][0]["args"]}
    assert {"--cluster.listen-address", "--cluster.peer"} <= flags
    args = [
        require("prometheus-alertmanager", "prometheus-alertmanager"),
        f"--config.file={config}",
        f"--storage.path={tmp / f'am-{web}'}",
        f"--web.listen-address=127.0.0.1:{web}",
        f"--cluster.listen-address=127.0.0.1:{cluster}",
        *(f"--cluster.peer=127.0.0.1:{p}" for p in peers),
        "--cluster.pushpull-interval=1s",
        "--cluster.gossip-interval=100ms",
        "--log.level=warn",
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield f"http://127.0.0.1:{web}"
    finally:
        proc.terminate()
        proc.wait(5)


def wait(cond: Any, limit_s: float, what: str) -> Any:
    end = time.monotonic() + limit_s
    while True:
        try:
            got = cond()
            if got:
                return got
        except OSError:
            pass
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_two_peers_cluster_and_share_silences(tmp_path: Path) -> None:
    """Both peers see each other, and a silence made on one is served by the other."""
    cfg = yaml.safe_load((ROOT / "deploy" / "alertmanager" / "alertmanager.yml").read_text())
    cfg["receivers"] = [{"name": r["name"]} for r in cfg["receivers"]]  # no integrations: nothing leaves
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump(cfg))
    web, cluster = [free_port(), free_port()], [free_port(), free_port()]
    with ExitStack() as stack:
        urls = [stack.enter_context(peer(tmp_path, config, web[i], cluster[i], cluster)) for i in range(2)]
        for url in urls:
            wait(lambda url=url: len(api(url, "/api/v2/status")["cluster"]["peers"]) == 2, 15, "two peers")
        silence = {
            "matchers": [{"name": "alertname", "value": "PerpmonFeedStale", "isRegex": False}],
            "startsAt": "2020-01-01T00:00:00Z",
            "endsAt": "2099-01-01T00:00:00Z",
            "createdBy": "test",
            "comment": "maintenance",
        }
        made = api(urls[0], "/api/v2/silences", silence)["silenceID"]
        seen = wait(lambda: [s for s in api(urls[1], "/api/v2/silences") if s["id"] == made], 10, "gossip")
        assert seen[0]["status"]["state"] == "active"
        peers = api(urls[1], "/api/v2/status")["cluster"]["peers"]
        assert sorted(p["address"] for p in peers) == sorted(f"127.0.0.1:{c}" for c in cluster)
