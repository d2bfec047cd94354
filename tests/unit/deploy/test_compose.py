"""The compose stack validates, and its pieces point at files that exist and agree with each other."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from monitor import devtls
from monitor.config import load_config, parse_config
from monitor.errors import ConfigError
from monitor.validate import validate
from tests.unit.deploy._paths import DEPLOY, ROOT, SIM_ENV
from tools.dashboards.model import DATASOURCE_UID

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
    assert set(resolved["services"]) == {
        "perpmon-tls",
        "perpmon",
        "prometheus",
        "alertmanager",
        "grafana",
        "mosquitto",
    }


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


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """target → source (a volume name or a host path) of a resolved service's mounts (either syntax)."""
    out = {}
    for v in service.get("volumes", []):
        if isinstance(v, str):
            source, target = v.split(":")[:2]
            out[target] = source
        else:
            out[v["target"]] = v["source"]
    return out


def demo_tls(resolved: dict[str, Any], into: Path) -> None:
    """Run the perpmon-tls service's command (monitor/devtls.py) as compose would, into `into`."""
    command = resolved["services"]["perpmon-tls"]["entrypoint"]
    assert command[:3] == ["python", "-m", "monitor.devtls"]
    args = command[3:]
    args[0] = str(into)
    assert devtls.main(args) == 0


def test_perpmon_container_config_is_valid(resolved: dict[str, Any], tmp_path: Path) -> None:
    """The config baked into the image and mounted by compose passes check-config with the demo keys,
    the environment compose gives the container and the TLS files its perpmon-tls service writes;
    its alerts reach the stack's Alertmanager."""
    env = {**SIM_ENV, **resolved["services"]["perpmon"]["environment"]}
    text = (DEPLOY / "compose" / "perpmon.toml").read_text()
    web = Path(tomllib.loads(text)["http"]["web_config_file"])
    tls = resolved["services"]["perpmon-tls"]
    perpmon = resolved["services"]["perpmon"]
    assert tls["entrypoint"][3] in _mounts(tls), "devtls writes into its volume"
    assert _mounts(perpmon)[str(web.parent)] == _mounts(tls)[tls["entrypoint"][3]], "perpmon reads it"
    assert perpmon["depends_on"]["perpmon-tls"]["condition"] == "service_completed_successfully"
    demo_tls(resolved, tmp_path)
    (tmp_path / "perpmon.toml").write_text(text.replace(str(web), str(tmp_path / web.name)))
    cfg, secrets = load_config(tmp_path / "perpmon.toml", env=env)
    validate(cfg, secrets)
    [am] = [r for r in cfg.receivers if r.type == "alertmanager"]
    assert secrets.receiver_urls[am.name].reveal() == "http://alertmanager:9093"
    assert "alertmanager" in resolved["services"]
    assert cfg.http.host == "0.0.0.0" and cfg.http.port == 9108
    assert cfg.state_dir == "/var/lib/perpmon"
    assert cfg.mqtt.enabled and cfg.mqtt.host == "mosquitto"
    bare = tomllib.loads(text)
    del bare["http"]["web_config_file"]
    with pytest.raises(ConfigError, match="no TLS"):  # the bind beyond loopback needs that web config
        parse_config(bare, env)


def test_prometheus_scrapes_perpmon_with_the_generated_ca_and_password(resolved: dict[str, Any]) -> None:
    """The compose Prometheus job uses https and basic auth with files from the perpmon-tls volume."""
    prom = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    [job] = [j for j in prom["scrape_configs"] if j["job_name"] == "perpmon"]
    assert job["scheme"] == "https" and job["basic_auth"]["username"] == "prometheus"
    mounts = _mounts(resolved["services"]["prometheus"])
    tls = resolved["services"]["perpmon-tls"]
    for f in (job["tls_config"]["ca_file"], job["basic_auth"]["password_file"]):
        assert mounts[str(Path(f).parent)] == _mounts(tls)[tls["entrypoint"][3]], f
        assert Path(f).name in devtls.FILES
    hosts = tls["entrypoint"][tls["entrypoint"].index("--host") + 1 :: 2]
    target = job["static_configs"][0]["targets"][0].split(":")[0]
    assert target in hosts, "the pair is valid for the name Prometheus dials"


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
