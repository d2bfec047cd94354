"""The Alertmanager example passes amtool and routes critical alerts to the phone, the rest to chat."""

from __future__ import annotations

import subprocess

import pytest

from tests.unit.deploy._paths import DEPLOY, tool

CONFIG = DEPLOY / "alertmanager" / "alertmanager.yml"


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("amtool", "prometheus-alertmanager"), *args], capture_output=True, text=True)


def test_check_config() -> None:
    """`amtool check-config` accepts the example."""
    r = amtool("check-config", str(CONFIG))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


@pytest.mark.parametrize(
    ("labels", "receivers"),
    [
        (["severity=critical", "alertname=PerpmonDown"], "phone,desk-chat"),
        (["severity=page", "alertname=LiquidationDistance"], "phone,desk-chat"),
        (["severity=warning", "alertname=PerpmonFeedStale"], "desk-chat"),
        (["severity=info"], "desk-chat"),
        (["severity=none", "alertname=PerpmonMonitoringHeartbeat"], "heartbeat"),
        (["severity=info", "alertname=PerpmonWatchdog"], "heartbeat"),  # perpmon's own, posted directly
        (["severity=info", "alertname=PerpmonStarted"], "desk-chat"),
    ],
)
def test_routes(labels: list[str], receivers: str) -> None:
    """Critical and page go to the phone (and the desk); warnings to chat; the heartbeat to its own."""
    r = amtool("config", "routes", "test", f"--config.file={CONFIG}", *labels)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == receivers
