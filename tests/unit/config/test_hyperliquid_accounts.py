"""A Hyperliquid account is a wallet address (public, no key); a keyed venue's account needs its keys."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import parse_config
from monitor.errors import ConfigError

ADDRESS = "0x" + "ab" * 20


def _cfg(account: dict[str, Any], kind: str = "hyperliquid") -> dict[str, Any]:
    return {
        "venues": [{"name": "v", "kind": kind, "symbols": ["BTC"]}],
        "accounts": [{"name": "a", "venue": "v", **account}],
    }


def test_an_address_and_no_key_is_a_hyperliquid_account() -> None:
    cfg, secrets = parse_config(_cfg({"address": ADDRESS}), {})
    assert (cfg.venues[0].kind, cfg.accounts[0].address) == ("hyperliquid", ADDRESS)
    assert secrets.api_keys == {}  # nothing secret is read for it


@pytest.mark.parametrize(
    ("account", "path", "why"),
    [
        ({}, "accounts[0].address", "read by wallet address"),
        ({"address": ADDRESS, "api_key_env": "K"}, "accounts[0].api_key_env", "need no key"),
        ({"address": "0x1234"}, "accounts[0].address", ""),  # the schema: 0x and 40 hex digits
    ],
)
def test_check_config_names_the_key_and_the_reason(account: dict[str, Any], path: str, why: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_cfg(account), {"K": "k"})
    assert err.value.path.endswith(path.rpartition(".")[2]) and why in str(err.value)


def test_a_keyed_venue_refuses_an_address_and_needs_its_keys() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_cfg({"address": ADDRESS, "api_key_env": "K", "api_secret_env": "S"}, "bybit"), {})
    assert err.value.path == "accounts[0].address"
    with pytest.raises(ConfigError) as err:
        parse_config(_cfg({"api_key_env": "K"}, "bybit"), {"K": "k"})
    assert err.value.path == "accounts[0].api_secret_env" and "API key" in str(err.value)


def test_the_generic_collector_cannot_read_a_hyperliquid_account() -> None:
    data = _cfg({"address": ADDRESS}, "ccxt")
    data["venues"][0]["exchange"] = "hyperliquid"
    with pytest.raises(ConfigError) as err:
        parse_config(data, {})
    assert err.value.path == "accounts[0].venue" and "reads by address" in str(err.value)


def test_simulated_accounts_name_keys_on_keyed_venues_only() -> None:
    def sim(account: dict[str, Any]) -> dict[str, Any]:
        return {"simulator": {"enabled": True, "accounts": [{"name": "s", "wallet_usdt": 1.0, **account}]}}

    parse_config(sim({"venue": "hyperliquid"}), {})  # read by address: no variables at all
    with pytest.raises(ConfigError) as err:
        parse_config(sim({"venue": "bybit"}), {})
    assert err.value.path == "simulator.accounts[0].api_key_env"
    with pytest.raises(ConfigError) as err:
        parse_config(sim({"venue": "hyperliquid", "api_key_env": "K"}), {"K": "k"})
    assert err.value.path == "simulator.accounts[0].api_key_env" and "no key" in str(err.value)
