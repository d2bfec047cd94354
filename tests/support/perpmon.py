"""Configs for throwaway perpmon daemons on the embedded simulator, for the deploy tests.

The replay runs fast (10 replayed minutes a wall second) and the loop ticks every 0.1 s, like the
end-to-end test, so a Prometheus scraping every 0.5 s sees every figure within a few seconds.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["Account", "sim_config", "to_toml"]

Account = tuple[float, float, str, float]  # wallet USDT, BTCUSDT quantity, margin mode, isolated wallet


def sim_config(
    tmp: Path,
    accounts: Mapping[str, Account],
    *,
    holdings: Mapping[str, float] | None = None,
    rules: list[dict[str, Any]] | None = None,
    receivers: list[dict[str, Any]] | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """(decoded config, environment) for one venue on the simulator with `accounts` on it."""
    env: dict[str, str] = {}
    sim_accounts, watched = [], []
    for name, (wallet, qty, mode, iso) in accounts.items():
        var = name.upper().replace("-", "_")
        env[f"{var}_KEY"], env[f"{var}_SECRET"] = f"{name}-key", f"{name}-secret"
        keys = {"api_key_env": f"{var}_KEY", "api_secret_env": f"{var}_SECRET"}
        pos = {"symbol": "BTCUSDT", "qty": qty, "leverage": 20.0, "margin_mode": mode, "isolated_wallet": iso}
        sim_accounts.append({"name": name, "wallet_usdt": wallet, "positions": [pos], **keys})
        watched.append({"name": name, "venue": "binance", **keys})
    data: dict[str, Any] = {
        "state_dir": str(tmp / "state"),
        "log": {"format": "json", "level": "warning"},
        "http": {"host": "127.0.0.1", "port": 0},
        "simulator": {"enabled": True, "speed": 600.0, "tick_s": 0.1, "loop": True, "accounts": sim_accounts},
        "venues": [
            {
                "name": "binance",
                "simulator": True,
                "symbols": ["BTCUSDT"],
                "spot_symbols": ["BTCUSDT"],
                "poll_s": 0.25,
                "stale_after_s": 5.0,
            }
        ],
        "accounts": watched,
        "holdings": [
            {"name": n, "asset": "BTC", "quantity": q, "price_venue": "binance", "price_symbol": "BTCUSDT"}
            for n, q in (holdings or {}).items()
        ],
        "evaluation": {
            "interval_s": 0.1,
            "volatility_sample_s": 1.0,
            "horizon_s": 144.0,
        },
        "rules": rules
        if rules is not None
        else [
            {
                "name": "MarginRatio",
                "figure": "margin_ratio",
                "op": ">",
                "levels": [{"severity": "warning", "threshold": 0.01}],
            }
        ],
        "receivers": receivers if receivers is not None else [{"name": "console", "type": "console"}],
    }
    return data, env


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)  # a TOML basic string for everything these configs hold
    if isinstance(v, list):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"no TOML for {type(v).__name__}")


def to_toml(data: Mapping[str, Any]) -> str:
    """TOML with one `key = value` line per top-level key (inline tables below), enough for configs."""
    return "".join(f"{k} = {_value(v)}\n" for k, v in data.items())
