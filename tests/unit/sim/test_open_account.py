"""Both simulated venues open accounts through one walk over the legs (`book.open_account`): the
rules they share must refuse the same configs, and what each venue decides must stay its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import pytest

from monitor.config import SimAccountConfig, SimPositionConfig
from monitor.errors import ConfigError
from monitor.sim.book import Account, account_from_config
from monitor.sim.bybit.accounts import bybit_account_from_config

Opener = Callable[[SimAccountConfig, str, Callable[[str], float], int], Account]
Venue = Literal["binance", "bybit"]
VENUES: dict[Venue, Opener] = {"binance": account_from_config, "bybit": bybit_account_from_config}


def _cfg(*legs: SimPositionConfig, venue: Venue) -> SimAccountConfig:
    return SimAccountConfig(
        name="a", api_key_env="K", api_secret_env="S", wallet_usdt=1_000.0, positions=legs, venue=venue
    )


def _open(venue: Venue, *legs: SimPositionConfig) -> Account:
    return VENUES[venue](_cfg(*legs, venue=venue), "simulator.accounts[0]", lambda _s: 10_000.0, 7)


@pytest.mark.parametrize("venue", VENUES)
@pytest.mark.parametrize(
    ("legs", "where", "what"),
    [
        (
            (SimPositionConfig(symbol="BTCUSDT", qty=-1.0, side="LONG"),),
            "positions[0].qty",
            "a LONG leg needs a positive qty",
        ),
        (
            (
                SimPositionConfig(symbol="BTCUSDT", qty=1.0, side="LONG"),
                SimPositionConfig(symbol="BTCUSDT", qty=2.0, side="LONG"),
            ),
            "positions[1]",
            "a second LONG position on BTCUSDT",
        ),
        (
            (
                SimPositionConfig(symbol="BTCUSDT", qty=1.0, side="LONG"),
                SimPositionConfig(symbol="ETHUSDT", qty=1.0),
            ),
            "positions",
            "mix of one-way",
        ),
    ],
)
def test_shared_leg_rules_refuse_alike_on_both_venues(
    venue: Venue, legs: tuple[SimPositionConfig, ...], where: str, what: str
) -> None:
    with pytest.raises(ConfigError) as err:
        _open(venue, *legs)
    assert where in str(err.value) and what in str(err.value)


def test_what_each_venue_decides_stays_its_own() -> None:
    iso = SimPositionConfig(
        symbol="BTCUSDT",
        qty=0.5,
        entry_price=10_000.0,
        leverage=10.0,
        margin_mode="isolated",
        isolated_wallet=20.0,
    )
    # Binance: the isolated wallet as configured; Bybit: positionBalance = IM at entry + the margin added
    assert _open("binance", iso).positions[0].isolated_wallet == 20.0
    assert _open("bybit", iso).positions[0].isolated_wallet == 0.5 * 10_000.0 / 10.0 + 20.0
    cross = SimPositionConfig(symbol="ETHUSDT", qty=1.0, leverage=5.0)
    assert _open("binance", iso, cross).dual_side is False  # Binance allows mixed modes
    with pytest.raises(ConfigError, match="all cross or all isolated"):
        _open("bybit", iso, cross)
    opened = _open("bybit", cross)
    assert (opened.cross_wallet, opened.created_ms, opened.leverage) == (1_000.0, 7, {"ETHUSDT": 5.0})
