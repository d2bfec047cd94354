"""The Kubernetes manifests parse, and a pod's shard from its ordinal is what the daemon's --shard reads."""

from __future__ import annotations

import re
import tomllib
from typing import Any

import yaml

from monitor.cli import _parser
from monitor.config import parse_config
from monitor.shard import parse_shard, select_shard
from tests.unit.deploy._paths import DEPLOY

K8S = DEPLOY / "k8s"


def docs(name: str) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in yaml.safe_load_all((K8S / name).read_text()) if d}


def kubelet_expand(arg: str, env: dict[str, str]) -> str:
    """Kubernetes expands $(VAR) in container args from the container's env."""
    return re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m.group(1), m.group(0)), arg)


def test_manifests_parse_with_the_expected_kinds() -> None:
    """perpmon.yaml holds a StatefulSet, a scrape Service, a Secret for keys and a ConfigMap."""
    kinds = docs("perpmon.yaml")
    assert {"StatefulSet", "Service", "Secret", "ConfigMap", "NetworkPolicy"} <= set(kinds)
    assert set(docs("alertmanager-ha.yaml")) == {"Service", "StatefulSet"}


def test_each_pod_gets_its_ordinal_as_shard() -> None:
    """perpmon-<i> runs `--shard $(POD_NAME)/N` which the daemon reads as shard i of N = replicas."""
    sts = docs("perpmon.yaml")["StatefulSet"]
    replicas = sts["spec"]["replicas"]
    container = sts["spec"]["template"]["spec"]["containers"][0]
    assert {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}} in container["env"]
    for ordinal in range(replicas):
        env = {"POD_NAME": f"{sts['metadata']['name']}-{ordinal}"}
        args = _parser().parse_args([kubelet_expand(a, env) for a in container["args"]])
        shard = parse_shard(args.shard)
        assert (shard.index, shard.count) == (ordinal, replicas)


def test_configmap_config_is_valid_with_the_secret_keys_and_every_account_has_one_shard() -> None:
    """The ConfigMap's config.toml loads with the Secret's variables; the shards partition the accounts."""
    kinds = docs("perpmon.yaml")
    env = dict(kinds["Secret"]["stringData"])
    data = tomllib.loads(kinds["ConfigMap"]["data"]["config.toml"])
    cfg, _ = parse_config(data, env)
    n = kinds["StatefulSet"]["spec"]["replicas"]
    parts = [
        select_shard(parse_config({**data, "shard": {"index": i, "count": n}}, env)[0]) for i in range(n)
    ]
    assert sorted(a.name for p in parts for a in p.accounts) == sorted(a.name for a in cfg.accounts)
    assert all(p.accounts for p in parts), "every shard has accounts to watch"


def test_the_pods_are_locked_down() -> None:
    """Non-root, read-only root file system, no capabilities or escalation; keys from the Secret."""
    kinds = docs("perpmon.yaml")
    pod = kinds["StatefulSet"]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    assert c["envFrom"] == [{"secretRef": {"name": kinds["Secret"]["metadata"]["name"]}}]
    assert kinds["Service"]["spec"]["ports"][0]["port"] == c["ports"][0]["containerPort"] == 9108


def test_alertmanager_peers_name_every_replica() -> None:
    """Each Alertmanager peers with every replica of its StatefulSet."""
    sts = docs("alertmanager-ha.yaml")["StatefulSet"]
    args = sts["spec"]["template"]["spec"]["containers"][0]["args"]
    peers = [a for a in args if a.startswith("--cluster.peer=")]
    assert len(peers) == sts["spec"]["replicas"]
