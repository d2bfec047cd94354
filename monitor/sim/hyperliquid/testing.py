"""Simulated Hyperliquid accounts for tests: erin cross, frank isolated; read by address, no keys.

erin (cross, 100,000 USDC): BTC long 2 at 20×, ETH short 30 at 10× (two tiers of cross MM).
frank (isolated, 5,000 USDC cross wallet): ETH long 10 at 20× (margin = notional/20) and SOL short
200 at 10× with 2,500 USDC of isolated margin.
"""

from __future__ import annotations

from monitor.config import SimAccountConfig, SimPositionConfig, SimulatorConfig
from monitor.sim.hyperliquid.accounts import hl_address
from monitor.sim.testing import bybit_config

__all__ = ["ERIN", "FRANK", "hyperliquid_config"]

_ERIN = SimAccountConfig(
    name="erin",
    wallet_usdt=100_000.0,
    venue="hyperliquid",
    positions=(
        SimPositionConfig(symbol="BTCUSDT", qty=2.0, leverage=20.0),
        SimPositionConfig(symbol="ETHUSDT", qty=-30.0, leverage=10.0),
    ),
)
_FRANK = SimAccountConfig(
    name="frank",
    wallet_usdt=5_000.0,
    venue="hyperliquid",
    positions=(
        SimPositionConfig(symbol="ETHUSDT", qty=10.0, leverage=20.0, margin_mode="isolated"),
        SimPositionConfig(
            symbol="SOLUSDT", qty=-200.0, leverage=10.0, margin_mode="isolated", isolated_wallet=2_500.0
        ),
    ),
)
ERIN = hl_address("erin")
FRANK = hl_address("frank")


def hyperliquid_config(**overrides: object) -> SimulatorConfig:
    """`bybit_config` (Binance and Bybit accounts) plus erin and frank on the simulated Hyperliquid."""
    overrides.setdefault("accounts", (*bybit_config().accounts, _ERIN, _FRANK))
    return bybit_config(**overrides)
