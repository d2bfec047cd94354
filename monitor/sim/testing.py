"""Helpers for tests that run the simulator: a fast config, known keys, a running context, signing.

Shipped beside the code (like websockets' and structlog's `testing` modules) so every test suite
that needs a venue, the daemon's included, builds it the same way.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from urllib.parse import urlencode

from monitor.clock import Clock, LiveClock
from monitor.config import SimAccountConfig, SimPositionConfig, SimulatorConfig
from monitor.secret import Secret
from monitor.sim.binance.auth import sign
from monitor.sim.server import Simulator

__all__ = [
    "BYBIT_TEST_KEYS",
    "OKX_TEST_KEYS",
    "OKX_TEST_PASSWORDS",
    "TEST_KEYS",
    "bybit_config",
    "fast_config",
    "okx_config",
    "running_simulator",
    "signed_query",
]

TEST_KEYS: dict[str, tuple[Secret, Secret]] = {
    "alice": (Secret("alice-api-key-0123456789"), Secret("alice-api-secret-9876543210")),
    "bob": (Secret("bob-api-key-0123456789"), Secret("bob-api-secret-9876543210")),
}

_ALICE = SimAccountConfig(
    name="alice",
    api_key_env="SIM_ALICE_KEY",
    api_secret_env="SIM_ALICE_SECRET",
    wallet_usdt=250_000.0,
    positions=(
        SimPositionConfig(symbol="BTCUSDT", qty=12.5, leverage=20.0),
        SimPositionConfig(symbol="ETHUSDT", qty=-40.0, entry_price=3500.0, leverage=10.0),
    ),
)
_BOB = SimAccountConfig(
    name="bob",
    api_key_env="SIM_BOB_KEY",
    api_secret_env="SIM_BOB_SECRET",
    wallet_usdt=5_000.0,
    positions=(
        SimPositionConfig(
            symbol="BTCUSDT",
            qty=0.5,
            leverage=25.0,
            side="LONG",
            margin_mode="isolated",
            isolated_wallet=1_500.0,
        ),
        SimPositionConfig(
            symbol="BTCUSDT",
            qty=-0.2,
            leverage=25.0,
            side="SHORT",
            margin_mode="isolated",
            isolated_wallet=900.0,
        ),
    ),
)


# Bybit unified accounts: carol cross (one-way, BTC short + hourly SOL long), dave isolated (the
# documented 1 BTC @ 10,000 at 50x, whose liqPrice is 9,850, beside an ETH short with extra margin)
BYBIT_TEST_KEYS: dict[str, tuple[Secret, Secret]] = {
    "carol": (Secret("carol-bybit-key-0123456789"), Secret("carol-bybit-secret-9876543210")),
    "dave": (Secret("dave-bybit-key-0123456789"), Secret("dave-bybit-secret-9876543210")),
}
_CAROL = SimAccountConfig(
    name="carol",
    api_key_env="SIM_CAROL_KEY",
    api_secret_env="SIM_CAROL_SECRET",
    wallet_usdt=150_000.0,
    venue="bybit",
    positions=(
        SimPositionConfig(symbol="BTCUSDT", qty=-3.0, leverage=10.0),
        SimPositionConfig(symbol="SOLUSDT", qty=800.0, leverage=5.0),
    ),
)
_DAVE = SimAccountConfig(
    name="dave",
    api_key_env="SIM_DAVE_KEY",
    api_secret_env="SIM_DAVE_SECRET",
    wallet_usdt=2_000.0,
    venue="bybit",
    positions=(
        SimPositionConfig(
            symbol="BTCUSDT", qty=1.0, entry_price=10_000.0, leverage=50.0, margin_mode="isolated"
        ),
        SimPositionConfig(
            symbol="ETHUSDT", qty=-4.0, leverage=20.0, margin_mode="isolated", isolated_wallet=300.0
        ),
    ),
)


# OKX accounts: erin single-currency margin (a cross BTC long, a cross ETH short, an isolated SOL
# long), frank multi-currency margin (acctLv 3: served, not modelled by perpmon)
OKX_TEST_KEYS: dict[str, tuple[Secret, Secret]] = {
    "erin": (Secret("erin-okx-key-0123456789"), Secret("erin-okx-secret-9876543210")),
    "frank": (Secret("frank-okx-key-0123456789"), Secret("frank-okx-secret-9876543210")),
}
OKX_TEST_PASSWORDS: dict[str, Secret] = {
    "erin": Secret("erin-Pass-phrase1"),
    "frank": Secret("frank-Pass-phrase1"),
}
_ERIN = SimAccountConfig(
    name="erin",
    api_key_env="SIM_ERIN_KEY",
    api_secret_env="SIM_ERIN_SECRET",
    api_password_env="SIM_ERIN_PASSPHRASE",
    wallet_usdt=60_000.0,
    venue="okx",
    positions=(
        SimPositionConfig(symbol="BTCUSDT", qty=2.0, leverage=20.0),
        SimPositionConfig(symbol="ETHUSDT", qty=-30.0, entry_price=3500.0, leverage=10.0),
        SimPositionConfig(symbol="SOLUSDT", qty=500.0, leverage=10.0, margin_mode="isolated"),
    ),
)
_FRANK = SimAccountConfig(
    name="frank",
    api_key_env="SIM_FRANK_KEY",
    api_secret_env="SIM_FRANK_SECRET",
    api_password_env="SIM_FRANK_PASSPHRASE",
    wallet_usdt=20_000.0,
    venue="okx",
    okx_acct_lv=3,
    positions=(SimPositionConfig(symbol="BTCUSDT", qty=0.5, leverage=10.0),),
)


def okx_config(**overrides: object) -> SimulatorConfig:
    """`fast_config` plus the two OKX accounts (keys `OKX_TEST_KEYS`, passphrases `OKX_TEST_PASSWORDS`)."""
    overrides.setdefault("accounts", (_ALICE, _BOB, _ERIN, _FRANK))
    return fast_config(**overrides)


def bybit_config(**overrides: object) -> SimulatorConfig:
    """`fast_config` plus the two Bybit accounts (keys: `TEST_KEYS | BYBIT_TEST_KEYS`)."""
    overrides.setdefault("accounts", (_ALICE, _BOB, _CAROL, _DAVE))
    return fast_config(**overrides)


def fast_config(**overrides: object) -> SimulatorConfig:
    """A fast simulator (50 ms ticks) with two accounts: alice one-way cross, bob hedge isolated."""
    base: dict[str, object] = {
        "enabled": True,
        "tick_s": 0.05,
        "speed": 60.0,
        "accounts": (_ALICE, _BOB),
    }
    base.update(overrides)
    return SimulatorConfig(**base)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def running_simulator(
    cfg: SimulatorConfig | None = None,
    keys: Mapping[str, tuple[Secret, Secret]] | None = None,
    clock: Clock | None = None,
) -> AsyncIterator[Simulator]:
    all_keys = dict(keys or (TEST_KEYS | BYBIT_TEST_KEYS | OKX_TEST_KEYS))
    sim = Simulator(cfg or fast_config(), all_keys, clock or LiveClock(), OKX_TEST_PASSWORDS)
    await sim.start()
    try:
        yield sim
    finally:
        await sim.stop()


def signed_query(
    secret: Secret, params: Mapping[str, str | int], timestamp_ms: int, recv_window_ms: int = 10_000
) -> str:
    """`timestamp=…&<params>&recvWindow=…&signature=…`, the order ccxt uses."""
    payload = urlencode({"timestamp": timestamp_ms, **params, "recvWindow": recv_window_ms})
    return f"{payload}&signature={sign(secret.reveal(), payload)}"
