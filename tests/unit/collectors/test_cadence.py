"""Stream limits: N × cadence for periodic streams, the venue's limit for event-driven ones."""

from __future__ import annotations

from typing import Any

from monitor.collectors.cadence import stream_limits
from monitor.config import Config, parse_config

ENV = {"K": "k", "S": "s"}


def config(venue: dict[str, Any], sim: dict[str, Any] | None = None) -> Config:
    data: dict[str, Any] = {
        "venues": [{"name": "v", "symbols": ["BTCUSDT"], "spot_symbols": ["BTCUSDT"], **venue}],
        "accounts": [{"name": "a", "venue": "v", "api_key_env": "K", "api_secret_env": "S"}],
    }
    if sim is not None:
        data["simulator"] = {"enabled": True, **sim}
        data["simulator"]["accounts"] = [
            {"name": "a", "api_key_env": "K", "api_secret_env": "S", "wallet_usdt": 1.0}
        ]
    return parse_config(data, ENV)[0]


def test_live_binance_limits() -> None:
    """markPrice@1s: 3 s; books and book levels: stale_after_s; account: 3 reconciles (user stream on)."""
    cfg = config({"stale_after_s": 10.0, "reconcile_s": 15.0})
    assert stream_limits(cfg, cfg.venues[0]) == {
        "mark:BTCUSDT": 3.0,
        "book:perp:BTCUSDT": 10.0,
        "book:spot:BTCUSDT": 10.0,
        "depth:perp:BTCUSDT": 10.0,
        "account:a": 45.0,
    }
    cfg = config({"depth_levels": 0})
    assert "depth:perp:BTCUSDT" not in stream_limits(cfg, cfg.venues[0])
    cfg = config({"kind": "ccxt", "exchange": "okx"})  # the generic collector keeps no levels
    assert "depth:perp:BTCUSDT" not in stream_limits(cfg, cfg.venues[0])


def test_simulated_cadence_is_the_tick_floored_at_a_second() -> None:
    """The simulator's tick is its @1s; 3 × 0.1 s is floored to 1 s (a loop hiccup is not a stall)."""
    cfg = config({"simulator": True, "stale_cadences": 3.0}, {"tick_s": 0.1})
    assert stream_limits(cfg, cfg.venues[0])["mark:BTCUSDT"] == 1.0
    cfg = config({"simulator": True, "stale_cadences": 4.0}, {"tick_s": 0.5})
    assert stream_limits(cfg, cfg.venues[0])["mark:BTCUSDT"] == 2.0


def test_polling_without_user_stream_and_unknown_cadence() -> None:
    """No user stream: 3 polls; a ccxt venue whose marks push on change: the venue's limit."""
    cfg = config({"user_stream": False, "poll_s": 5.0, "stale_after_s": 8.0, "perp_books": False})
    limits = stream_limits(cfg, cfg.venues[0])
    assert limits["account:a"] == 15.0 and "book:perp:BTCUSDT" not in limits
    cfg = config({"kind": "ccxt", "exchange": "okx", "stale_after_s": 8.0})
    assert stream_limits(cfg, cfg.venues[0])["mark:BTCUSDT"] == 8.0
