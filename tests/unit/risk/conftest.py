"""Shared bracket tables for the risk tests (Binance USDⓈ-M tables as of the FAQ example)."""

from __future__ import annotations

import pytest

from monitor.risk.margin import Brackets, brackets

# BTCUSDT: floors 0/50k/250k/1M/5M/20M…, mmr 0.4/0.5/1/2.5/5/10 % → cum 0/50/1,300/16,300/141,300/…
BTC_FLOORS = [0, 50_000, 250_000, 1_000_000, 5_000_000, 20_000_000, 50_000_000, 100_000_000, 200_000_000]
BTC_MMRS = [0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15, 0.25]
BTC_CAPS = [*BTC_FLOORS[1:], 300_000_000]
# ETHUSDT: the 2M–5M tier is 10 % with cum 135,365 (the FAQ example's ETH numbers).
ETH_FLOORS = [0, 10_000, 100_000, 500_000, 1_000_000, 2_000_000, 5_000_000, 10_000_000, 20_000_000]
ETH_MMRS = [0.005, 0.0065, 0.01, 0.02, 0.05, 0.10, 0.125, 0.15, 0.25]
ETH_CAPS = [*ETH_FLOORS[1:], 50_000_000]


def btc_brackets() -> Brackets:
    return brackets(BTC_FLOORS, BTC_MMRS, caps=BTC_CAPS)


def eth_brackets() -> Brackets:
    return brackets(ETH_FLOORS, ETH_MMRS, caps=ETH_CAPS)


@pytest.fixture
def btc() -> Brackets:
    return btc_brackets()


@pytest.fixture
def eth() -> Brackets:
    return eth_brackets()
