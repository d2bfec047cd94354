"""The `bybit` venue kind: accepted where it fits, refused with the key path where it does not."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import parse_config
from monitor.errors import ConfigError

ENV = {"K": "k", "S": "s"}


def book(venue: dict[str, Any], sim_venue: str = "bybit") -> dict[str, Any]:
    return {
        "simulator": {
            "enabled": True,
            "accounts": [
                {
                    "name": "h",
                    "venue": sim_venue,
                    "api_key_env": "K",
                    "api_secret_env": "S",
                    "wallet_usdt": 1.0,
                }
            ],
        },
        "venues": [{"name": "bybit", "kind": "bybit", "simulator": True, "symbols": ["BTCUSDT"], **venue}],
        "accounts": [{"name": "h", "venue": "bybit", "api_key_env": "K", "api_secret_env": "S"}],
    }


def test_a_simulated_bybit_venue_loads() -> None:
    cfg, secrets = parse_config(book({}), env=ENV)
    assert cfg.venues[0].kind == "bybit" and secrets.api_keys["h"][0].reveal() == "k"


@pytest.mark.parametrize(
    ("venue", "sim_venue", "path", "words"),
    [
        ({}, "binance", "accounts[0].venue", "on the simulated binance, not on bybit"),
        ({"spot_rest_url": "http://x"}, "bybit", "venues[0].spot_rest_url", "one host"),
        ({"exchange": "bybit"}, "bybit", "venues[0].exchange", 'only for kind = "ccxt"'),
        ({"kind": "bybitt"}, "bybit", "venues[0].kind", "Invalid enum value 'bybitt'"),
    ],
)
def test_misfits_are_refused_with_the_key_path(
    venue: dict[str, Any], sim_venue: str, path: str, words: str
) -> None:
    with pytest.raises(ConfigError) as exc:
        parse_config(book(venue, sim_venue), env=ENV)
    assert exc.value.path == path and words in exc.value.reason
