"""The Kubernetes manifests parse, and a pod's shard from its ordinal is what the daemon's --shard reads."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor.cli import _parser
from monitor.config import parse_config
from monitor.errors import ConfigError
from monitor.shard import parse_shard, select_shard
from monitor.webauth import OPEN_PATHS
from monitor.webconfig import load_web_config
from tests.support.tls import make_pki
from tests.support.webconfig import hash_password
from tests.unit.deploy._paths import DEPLOY

K8S = DEPLOY / "k8s"


def docs(name: str) -> dict[str, dict[str, Any]]:
    return {d["kind"]: d for d in yaml.safe_load_all((K8S / name).read_text()) if d}


def named(name: str, kind: str, metadata_name: str) -> dict[str, Any]:
    """The one `kind` called `metadata_name` (a file holds several Secrets, Issuers, Certificates)."""
    [doc] = [
        d
        for d in yaml.safe_load_all((K8S / name).read_text())
        if d and d["kind"] == kind and d["metadata"]["name"] == metadata_name
    ]
    return doc


def pod_files(tmp: Path) -> Path:
    """/etc/perpmon as the pod sees it, under `tmp`: the projected volume's ConfigMap and Secret items,
    with a pair from a throwaway CA standing in for cert-manager's and a real hash for the placeholder."""
    sts = docs("perpmon.yaml")["StatefulSet"]
    pod = sts["spec"]["template"]["spec"]
    [mount] = [m for m in pod["containers"][0]["volumeMounts"] if m["name"] == "config"]
    [volume] = [v for v in pod["volumes"] if v["name"] == "config"]
    root = tmp / mount["mountPath"].strip("/")
    pki = make_pki(tmp)
    issued = {"tls.crt": pki.server_cert, "tls.key": pki.server_key, "ca.crt": pki.ca}
    for source in volume["projected"]["sources"]:
        if "configMap" in source:
            data = named("perpmon.yaml", "ConfigMap", source["configMap"]["name"])["data"]
            items = [{"key": k, "path": k} for k in data]
        else:
            secret_name = source["secret"]["name"]
            data = (
                {}
                if secret_name == "perpmon-tls"
                else named("perpmon.yaml", "Secret", secret_name)["stringData"]
            )
            items = source["secret"]["items"]
        for item in items:
            out = root / item["path"]
            out.parent.mkdir(parents=True, exist_ok=True)
            if item["key"] in issued and item["key"] not in data:
                out.write_bytes(issued[item["key"]].read_bytes())
            else:
                text = data[item["key"]].replace(mount["mountPath"], str(root))
                out.write_text(re.sub(r'"\$2y\$10\$replace[^"]*"', f"'{hash_password('pw')}'", text))
    return root


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


def test_configmap_config_is_valid_with_the_secret_keys_and_every_account_has_one_shard(
    tmp_path: Path,
) -> None:
    """The ConfigMap's config.toml loads with the Secret's variables and the web config and TLS files
    where the pod's projected volume puts them; the shards partition the accounts."""
    kinds = docs("perpmon.yaml")
    env = dict(named("perpmon.yaml", "Secret", "perpmon-keys")["stringData"])
    data = tomllib.loads((pod_files(tmp_path) / "config.toml").read_text())
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


def test_metrics_are_served_over_tls_with_the_certificate_prometheus_verifies(tmp_path: Path) -> None:
    """The web config Secret needs TLS and a login; cert-manager's Certificate fills the projected
    Secret and carries the name Prometheus checks; the probes speak HTTPS to the open /healthz."""
    web = load_web_config(str(pod_files(tmp_path) / "web" / "web-config.yml"))
    assert web.tls is not None and web.users and web.authenticates
    cert = named("perpmon.yaml", "Certificate", "perpmon-tls")
    sts = docs("perpmon.yaml")["StatefulSet"]
    [volume] = [v for v in sts["spec"]["template"]["spec"]["volumes"] if v["name"] == "config"]
    assert cert["spec"]["secretName"] in {
        src["secret"]["name"] for src in volume["projected"]["sources"] if "secret" in src
    }
    job = yaml.safe_load((K8S / "prometheus-scrape.yaml").read_text())["scrape_configs"][0]
    assert job["scheme"] == "https" and job["basic_auth"]["username"] in web.users
    assert job["tls_config"]["server_name"] in cert["spec"]["dnsNames"]
    c = sts["spec"]["template"]["spec"]["containers"][0]
    for probe in ("readinessProbe", "livenessProbe"):
        assert c[probe]["httpGet"]["scheme"] == "HTTPS" and c[probe]["httpGet"]["path"] in OPEN_PATHS


def test_the_placeholder_hash_fails_check_config(tmp_path: Path) -> None:
    """An unedited perpmon-web Secret is refused at start, not served with a login nobody has."""
    (tmp_path / "web.yml").write_text(
        named("perpmon.yaml", "Secret", "perpmon-web")["stringData"]["web-config.yml"]
    )
    with pytest.raises(ConfigError, match="not a bcrypt hash"):
        load_web_config(str(tmp_path / "web.yml"))
