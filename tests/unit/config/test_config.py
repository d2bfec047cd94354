"""A bad config fails at start with the key path and the reason; a good one loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import load_config, parse_config
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
BAD = ROOT / "tests" / "testdata" / "config"
SIM_ENV = {
    k: v
    for k, v in (
        line.split("=", 1)
        for line in (ROOT / "deploy" / "simulator.env").read_text().splitlines()
        if line and not line.startswith("#")
    )
}


def test_shipped_config_is_valid() -> None:
    """The documented example loads with the simulator's demo keys."""
    cfg, secrets = load_config(ROOT / "config.toml", env=SIM_ENV)
    assert cfg.simulator.enabled
    assert [a.name for a in cfg.accounts] == ["hedge", "degen", "hedge-bybit"]
    assert {v.name: v.kind for v in cfg.venues} == {"binance": "binanceusdm", "bybit": "bybit"}
    assert secrets.api_keys["hedge"][0].reveal() == SIM_ENV["PERPMON_HEDGE_API_KEY"]


@pytest.mark.parametrize(
    ("name", "path", "reason"),
    [
        ("bad-unknown-key.toml", "venues[0].pol_s", "unknown key"),
        ("bad-wrong-type.toml", "venues[0].poll_s", "Expected `float`"),
        ("bad-negative-quantity.toml", "holdings[0].quantity", "> 0"),
        ("bad-unknown-venue.toml", "accounts[0].venue", "no venue named"),
        ("bad-rule-figure.toml", "rules[0].figure", "unknown figure"),
        ("bad-hysteresis.toml", "rules[0].levels[0].clear", "hysteresis"),
        ("bad-not-toml.toml", "", "not valid TOML"),
    ],
)
def test_bad_config_names_key_and_reason(name: str, path: str, reason: str) -> None:
    """Each bad file is refused with the offending key's path and why."""
    with pytest.raises(ConfigError) as err:
        load_config(BAD / name, env=SIM_ENV)
    assert err.value.path == path
    assert reason in err.value.reason


def test_missing_secret_variable_is_named() -> None:
    """An API key variable that is not set stops start-up, naming the variable, not its value."""
    env = dict(SIM_ENV)
    del env["PERPMON_DEGEN_API_SECRET"]
    with pytest.raises(ConfigError) as err:
        load_config(ROOT / "config.toml", env=env)
    assert err.value.path == "accounts[1].api_secret_env"
    assert "PERPMON_DEGEN_API_SECRET is not set" in err.value.reason


def test_secret_in_file_is_not_a_key() -> None:
    """An API key written into the file is refused: the schema has no such key."""
    data = {
        "venues": [{"name": "b", "symbols": ["BTCUSDT"]}],
        "accounts": [
            {"name": "a", "venue": "b", "api_key": "abc", "api_key_env": "K", "api_secret_env": "S"}
        ],
    }
    with pytest.raises(ConfigError) as err:
        parse_config(data, env={"K": "k", "S": "s"})
    assert err.value.path == "accounts[0].api_key"


def test_cli_exits_2_before_connecting(tmp_path: Path) -> None:
    """`perpmon run` on a bad config exits 2 with the key path on stderr, opening nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PERPMON_")}
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "run", "--config", str(BAD / "bad-negative-quantity.toml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert "holdings[0].quantity" in proc.stderr
    assert not (tmp_path / "var").exists()  # nothing started, not even the outbox


def test_cli_check_config_ok() -> None:
    """`perpmon check-config` on the shipped file exits 0."""
    env = {**os.environ, **SIM_ENV}
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "check-config", "--config", str(ROOT / "config.toml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
