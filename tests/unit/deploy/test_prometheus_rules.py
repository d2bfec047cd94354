"""Prometheus configs and the alert rules on perpmon itself pass promtool, and their unit tests pass."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml

from tests.unit.deploy._paths import DEPLOY, ROOT, SIM_ENV, tool

PROM = DEPLOY / "prometheus"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([tool("promtool", "prometheus"), *args], capture_output=True, text=True, cwd=PROM)


def test_rules_check() -> None:
    """`promtool check rules` accepts the rule file."""
    r = promtool("check", "rules", "rules/perpmon.rules.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS: 12 rules found" in r.stdout


def test_rules_unit_tests() -> None:
    """`promtool test rules`: down, absent, stalled, stale, blind, undeliverable, reload, restarts."""
    r = promtool("test", "rules", "rules/perpmon.rules.test.yml")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "SUCCESS" in r.stdout


def test_every_alert_has_a_unit_test() -> None:
    """No alert rule ships without a promtool test that names it."""
    rules = (PROM / "rules" / "perpmon.rules.yml").read_text()
    tests = (PROM / "rules" / "perpmon.rules.test.yml").read_text()
    names = [
        line.split(":", 1)[1].strip() for line in rules.splitlines() if line.strip().startswith("- alert:")
    ]
    untested = [n for n in names if f"alertname: {n}\n" not in tests]
    # PerpmonCollectorDown and PerpmonEvaluationErrors are plain thresholds on one series
    assert set(untested) <= {"PerpmonCollectorDown", "PerpmonEvaluationErrors"}, untested


def test_the_compose_prometheus_config_is_valid() -> None:
    """The compose stack's prometheus.yml passes a full check, rule files included."""
    r = promtool("check", "config", "prometheus.yml")
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize("name", ["prometheus-shards.yml", "federation.yml", "remote-write.yml"])
def test_scale_out_examples_are_valid(name: str) -> None:
    """The sharded, federation and remote-write examples parse as Prometheus configs."""
    r = promtool("check", "config", "--syntax-only", name)
    assert r.returncode == 0, r.stdout + r.stderr


def test_k8s_scrape_config_is_yaml_with_the_ordinal_relabel() -> None:
    """Debian's promtool is built without Kubernetes SD; the relabel itself is proven in test_shards.py."""
    cfg = yaml.safe_load((ROOT / "deploy" / "k8s" / "prometheus-scrape.yaml").read_text())
    relabels = cfg["scrape_configs"][0]["relabel_configs"]
    assert {
        "source_labels": ["__meta_kubernetes_pod_name"],
        "regex": ".*-([0-9]+)",
        "target_label": "shard",
        "replacement": "$1",
    } in relabels


def test_the_figure_unavailable_rule_follows_perpmons_own_guard() -> None:
    """PerpmonFigureUnavailable excludes exactly the reasons perpmon's guard exempts and watches the
    figures of the shipped rules that can be NaN (position_disappeared and feed_stale never are)."""
    from monitor.config import load_config
    from monitor.rules.unavailable import STATE_OF_THE_BOOK, WARMING_UP

    rules = yaml.safe_load((PROM / "rules" / "perpmon.rules.yml").read_text())["groups"][0]["rules"]
    [rule] = [r for r in rules if r.get("alert") == "PerpmonFigureUnavailable"]
    figures = re.search(r'figure=~"([^"]+)"', rule["expr"])
    reasons = re.search(r'reason!~"\(garch_\)\?\(([^"]+)\)"', rule["expr"])
    assert figures is not None and reasons is not None, rule["expr"]
    assert set(reasons.group(1).split("|")) == STATE_OF_THE_BOOK | WARMING_UP
    cfg, _ = load_config(ROOT / "config.toml", env=SIM_ENV)
    shipped = {r.figure for r in cfg.rules} - {"position_disappeared", "feed_stale"}
    assert set(figures.group(1).split("|")) == shipped
