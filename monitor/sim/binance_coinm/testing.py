"""COIN-M accounts and keys for tests that run the simulator (beside `monitor.sim.testing`).

erin: cross, one-way, BTC and ETH wallets: a BTCUSD_PERP short backed by 2 BTC (the coin-margined
hedge) and an ETHUSD_PERP long. frank: an isolated 10× BTCUSD_PERP long that the 2021-05-19 crash
liquidates. gina: cross hedge mode, LONG and SHORT legs of BTCUSD_PERP sharing one LP (Example A3's
shape).
"""

from __future__ import annotations

from monitor.config import SimAccountConfig, SimPositionConfig, SimulatorConfig
from monitor.secret import Secret
from monitor.sim.testing import fast_config

__all__ = ["COINM_ACCOUNTS", "COINM_TEST_KEYS", "coinm_config"]

COINM_TEST_KEYS: dict[str, tuple[Secret, Secret]] = {
    n: (Secret(f"{n}-coinm-key-0123456789"), Secret(f"{n}-coinm-secret-9876543210"))
    for n in ("erin", "frank", "gina")
}


def _account(name: str, wallets: dict[str, float], *positions: SimPositionConfig) -> SimAccountConfig:
    return SimAccountConfig(
        name=name,
        api_key_env=f"SIM_{name.upper()}_KEY",
        api_secret_env=f"SIM_{name.upper()}_SECRET",
        wallet_usdt=0.0,
        other_assets=wallets,
        positions=positions,
        venue="binance_coinm",
    )


COINM_ACCOUNTS = (
    _account(
        "erin",
        {"BTC": 2.0, "ETH": 5.0},
        SimPositionConfig(symbol="BTCUSD_PERP", qty=-3000.0, leverage=20.0),
        SimPositionConfig(symbol="ETHUSD_PERP", qty=2000.0, leverage=10.0),
    ),
    _account(
        "frank",
        {"BTC": 0.1},
        SimPositionConfig(
            symbol="BTCUSD_PERP", qty=1000.0, leverage=10.0, margin_mode="isolated", isolated_wallet=0.3
        ),
    ),
    _account(
        "gina",
        {"BTC": 0.5},
        SimPositionConfig(symbol="BTCUSD_PERP", qty=500.0, leverage=20.0, side="LONG"),
        SimPositionConfig(symbol="BTCUSD_PERP", qty=-1500.0, leverage=20.0, side="SHORT"),
    ),
)


def coinm_config(**overrides: object) -> SimulatorConfig:
    """`fast_config` plus the three COIN-M accounts (keys: `COINM_TEST_KEYS`)."""
    base = fast_config()
    overrides.setdefault("accounts", (*base.accounts, *COINM_ACCOUNTS))
    return fast_config(**overrides)
