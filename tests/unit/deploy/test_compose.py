"""The compose stack validates, and its pieces point at files that exist and agree with each other."""

from __future__ import annotations

import os
import shutil
import subprocess
from typing import Any

import pytest
import yaml

from monitor.config import load_config
from monitor.dashboards import DATASOURCE_UID
from monitor.validate import validate
from tests.unit.deploy._paths import DEPLOY, ROOT, SIM_ENV

COMPOSE = DEPLOY / "compose.yaml"


def compose_command() -> list[str]:
    """`docker compose` (the v2 plugin) when present, else Debian's docker-compose; both need no engine."""
    if shutil.which("docker"):
        r = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if r.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail("no compose client: `make system-deps` installs Debian's docker-compose")


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    r = subprocess.run([*compose_command(), "-f", str(COMPOSE), "config"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    out: dict[str, Any] = yaml.safe_load(r.stdout)
    return out


def test_compose_config_validates_with_every_service(resolved: dict[str, Any]) -> None:
    """`compose config` accepts the file; it wires perpmon, Prometheus, Alertmanager, Grafana, Mosquitto."""
    assert set(resolved["services"]) == {"perpmon", "prometheus", "alertmanager", "grafana", "mosquitto"}


def _ports(service: dict[str, Any]) -> list[str]:
    out = []
    for p in service.get("ports", []):
        out.append(p if isinstance(p, str) else f"{p.get('host_ip', '')}:{p['published']}:{p['target']}")
    return out


def test_published_ports_are_loopback_only(resolved: dict[str, Any]) -> None:
    """Nothing is published beyond the host's loopback."""
    ports = [p for s in resolved["services"].values() for p in _ports(s)]
    assert ports and all(p.startswith("127.0.0.1:") for p in ports), ports


def test_bind_mounts_exist(resolved: dict[str, Any]) -> None:
    """Every host path the stack mounts is in the repository."""
    for name, svc in resolved["services"].items():
        for v in svc.get("volumes", []):
            source = v.split(":", 1)[0] if isinstance(v, str) else v.get("source", "")
            if source.startswith("/"):
                assert os.path.exists(source), (name, source)


def test_perpmon_container_config_is_valid(resolved: dict[str, Any]) -> None:
    """The config baked into the image and mounted by compose passes check-config with the demo keys
    and the environment compose gives the container; its alerts reach the stack's Alertmanager."""
    env = {**SIM_ENV, **resolved["services"]["perpmon"]["environment"]}
    cfg, secrets = load_config(DEPLOY / "compose" / "perpmon.toml", env=env)
    validate(cfg, secrets)
    [am] = [r for r in cfg.receivers if r.type == "alertmanager"]
    assert secrets.receiver_urls[am.name].reveal() == "http://alertmanager:9093"
    assert "alertmanager" in resolved["services"]
    assert cfg.http.host == "0.0.0.0" and cfg.http.port == 9108
    assert cfg.state_dir == "/var/lib/perpmon"
    assert cfg.mqtt.enabled and cfg.mqtt.host == "mosquitto"


def test_dockerfile_agrees_with_the_stack() -> None:
    """COPY sources exist, the final user is not root, the exposed port and config path match."""
    lines = [ln.strip() for ln in (ROOT / "Dockerfile").read_text().splitlines()]
    for ln in lines:
        if ln.startswith("COPY") and "--from" not in ln:
            for src in ln.split()[1:-1]:
                assert (ROOT / src).exists(), src
    users = [ln.split()[1] for ln in lines if ln.startswith("USER ")]
    assert users and not users[-1].startswith(("root", "0"))
    assert "EXPOSE 9108" in lines
    assert 'CMD ["run", "--config", "/etc/perpmon/config.toml"]' in lines
    compose = yaml.safe_load(COMPOSE.read_text())
    assert "./compose/perpmon.toml:/etc/perpmon/config.toml:ro" in compose["services"]["perpmon"]["volumes"]


def test_grafana_provisioning_matches_the_dashboards() -> None:
    """The provisioned datasource has the dashboards' uid; the provider reads where compose mounts them."""
    ds = yaml.safe_load((ROOT / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    assert ds["datasources"][0]["uid"] == DATASOURCE_UID
    prov = yaml.safe_load((ROOT / "grafana" / "provisioning" / "dashboards" / "perpmon.yml").read_text())
    path = prov["providers"][0]["options"]["path"]
    compose = yaml.safe_load(COMPOSE.read_text())
    assert f"../grafana/dashboards:{path}:ro" in compose["services"]["grafana"]["volumes"]
    assert list((ROOT / "grafana" / "dashboards").glob("*.json"))
