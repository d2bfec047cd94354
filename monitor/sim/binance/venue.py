"""The USDⓈ-M and spot hosts' state as every handler sees it (what COIN-M shares: `keyed.py`)."""

from __future__ import annotations

from dataclasses import dataclass

from monitor.clock import Clock
from monitor.config import SimulatorConfig
from monitor.sim.binance.accounts import AccountEngine
from monitor.sim.binance.auth import KeyRing
from monitor.sim.binance.keyed import KeyedHost
from monitor.sim.binance.open_interest import OpenInterest
from monitor.sim.binance.userstream import ListenKeys
from monitor.sim.faults import Faults
from monitor.sim.funding import FundingHistory
from monitor.sim.market import Market

__all__ = ["Venue"]


@dataclass
class Venue(KeyedHost):
    cfg: SimulatorConfig
    clock: Clock
    market: Market
    engine: AccountEngine
    keys: KeyRing
    faults: Faults
    listen_keys: ListenKeys
    funding: FundingHistory
    open_interest: OpenInterest
