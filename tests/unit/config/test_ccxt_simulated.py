"""The generic collector on the simulator: ccxt's binanceusdm, bybit and okx are simulated, others not."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.config import parse_config
from monitor.errors import ConfigError

ENV = {"K": "k", "S": "s"}


def _cfg(exchange: str, account_venue: str = "bybit") -> dict[str, Any]:
    return {
        "simulator": {
            "enabled": True,
            "accounts": [
                {
                    "name": "a",
                    "venue": account_venue,
                    "api_key_env": "K",
                    "api_secret_env": "S",
                    "wallet_usdt": 1.0,
                }
            ],
        },
        "venues": [
            {"name": "v", "kind": "ccxt", "exchange": exchange, "simulator": True, "symbols": ["BTCUSDT"]}
        ],
        "accounts": [{"name": "a", "venue": "v", "api_key_env": "K", "api_secret_env": "S"}],
    }


def test_ccxt_bybit_on_the_simulator_is_accepted() -> None:
    cfg, _ = parse_config(_cfg("bybit"), ENV)
    assert (cfg.venues[0].kind, cfg.venues[0].exchange) == ("ccxt", "bybit")


def test_ccxt_account_must_live_on_the_simulated_venue_it_talks_to() -> None:
    """ccxt's bybit reaches the simulated Bybit: a Binance simulator account cannot be watched there."""
    with pytest.raises(ConfigError) as err:
        parse_config(_cfg("bybit", account_venue="binance"), ENV)
    assert err.value.path == "accounts[0].venue" and "not on bybit" in str(err.value)


def test_unsimulated_exchange_is_refused_with_what_is_simulated() -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(_cfg("kraken"), ENV)
    assert err.value.path == "venues[0].exchange"
    assert "Binance USDⓈ-M, Binance COIN-M, Bybit v5, OKX and Hyperliquid only" in str(err.value)
