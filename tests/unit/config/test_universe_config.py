"""`[simulator] universe_*` and the generated accounts the daemon then watches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.config import parse_config
from monitor.errors import ConfigError
from monitor.sim.universe import universe_keys

VENUE = {"name": "binance", "simulator": True, "symbols": ["*"]}


def _parse(sim: dict[str, Any], venues: list[dict[str, Any]] | None = None) -> Any:
    return parse_config({"simulator": {"enabled": True, **sim}, "venues": venues or [VENUE]}, {})


def test_generated_accounts_are_watched_on_the_simulated_binance_with_derived_keys() -> None:
    cfg, secrets = _parse(
        {"universe_symbols": 10, "universe_positions": 20, "universe_accounts": 3, "seed": 5}
    )
    assert [(a.name, a.venue) for a in cfg.accounts] == [(f"u00{k}", "binance") for k in (1, 2, 3)]
    key, secret = secrets.api_keys["u002"]
    assert (key.reveal(), secret.reveal()) == universe_keys(5, "u002")
    assert secrets.sim_keys["u002"][0].reveal() == key.reveal()


def test_off_by_default_and_nothing_added() -> None:
    cfg, secrets = _parse({})
    assert cfg.simulator.universe_symbols == 0 and cfg.accounts == () and secrets.api_keys == {}


@pytest.mark.parametrize(
    ("sim", "path"),
    [
        ({"universe_symbols": 10, "universe_positions": 5}, "simulator.universe_accounts"),
        ({"universe_accounts": 2, "universe_positions": 5}, "simulator.universe_symbols"),
        (
            {"universe_symbols": 3, "universe_accounts": 2, "universe_positions": 7},
            "simulator.universe_positions",
        ),
        ({"universe_symbols": -1}, "simulator.universe_symbols"),
        ({"universe_symbols": 10, "universe_accounts": 1000}, "simulator.universe_accounts"),
    ],
)
def test_impossible_worlds_are_refused_naming_the_key(sim: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as err:
        _parse(sim)
    assert err.value.path == path


def test_a_configured_account_named_like_a_generated_one_is_refused() -> None:
    sim = {
        "universe_symbols": 5,
        "universe_accounts": 2,
        "accounts": [{"name": "u002", "api_key_env": "K", "api_secret_env": "S", "wallet_usdt": 1.0}],
    }
    with pytest.raises(ConfigError) as err:
        parse_config({"simulator": {"enabled": True, **sim}, "venues": [VENUE]}, {"K": "k", "S": "s"})
    assert err.value.path == "simulator.universe_accounts" and "u002" in err.value.reason


def test_check_config_accepts_the_universe_and_refuses_a_bad_symbol_pattern(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = tmp_path / "good.toml"
    good.write_text(
        "[simulator]\nenabled = true\nuniverse_symbols = 600\nuniverse_positions = 1000\n"
        'universe_accounts = 20\n[[venues]]\nname = "binance"\nsimulator = true\nsymbols = ["*"]\n'
    )
    assert main(["check-config", "--config", str(good)]) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text('[[venues]]\nname = "binance"\nsymbols = ["BTC*"]\n')
    assert main(["check-config", "--config", str(bad)]) == 2
    assert "venues[0].symbols" in capsys.readouterr().err
