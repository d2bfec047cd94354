"""COIN-M contracts and their prices, read off the replayed USDⓈ-M market.

Why derived, not replayed: the archive holds one BTC (and ETH) price path, and a coin-margined
perpetual tracks the same index; so `BTCUSD_PERP`'s mark, index and funding are `BTCUSDT`'s at
every sample, and the engine sees every real low on both venues at once. Contract sizes are the
venue's (100 USD for BTCUSD, 10 USD for the others, venues-next §a.1). The brackets are the
reference's *illustrative* BTCUSD table (floors 0/5/…/1500 BTC, cum by the recursion, §a.2;
it reproduces the FAQ's 300 BTC → 11.605 BTC) and the same shape for ETH at 20× the floors:
a simulator's tables, never to be shipped as the venue's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from monitor.risk.margin import Brackets, brackets
from monitor.sim.market import Market
from monitor.sim.numfmt import q8

__all__ = ["COINM_SPECS", "CoinmMarket", "CoinmSpec", "coinm_brackets_for"]

_BTC_FLOORS = (0.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 400.0, 1000.0, 1500.0)
_MMRS = (0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15, 0.25, 0.50)
_LEVERAGE = (125.0, 100.0, 50.0, 20.0, 10.0, 5.0, 4.0, 3.0, 2.0, 1.0)


@dataclass(frozen=True, slots=True)
class CoinmSpec:
    symbol: str  # BTCUSD_PERP
    pair: str  # BTCUSD
    base: str  # BTC: the margin coin
    linear: str  # the USDⓈ-M symbol whose prices it follows
    contract_size: float  # USD per contract
    tick: str  # PRICE_FILTER tickSize
    floor_scale: float  # bracket floors × this, in coin

    @property
    def price_precision(self) -> int:
        return len(self.tick.partition(".")[2])


COINM_SPECS: Mapping[str, CoinmSpec] = {
    s.symbol: s
    for s in (
        CoinmSpec("BTCUSD_PERP", "BTCUSD", "BTC", "BTCUSDT", 100.0, "0.1", 1.0),
        CoinmSpec("ETHUSD_PERP", "ETHUSD", "ETH", "ETHUSDT", 10.0, "0.01", 20.0),
    )
}


def coinm_brackets_for(spec: CoinmSpec) -> Brackets:
    """The symbol's coin brackets (floors, caps, mmr, cum in coin)."""
    floors = np.array(_BTC_FLOORS) * spec.floor_scale
    return brackets(floors, np.array(_MMRS), max_leverage=np.array(_LEVERAGE))


@dataclass(frozen=True, slots=True)
class CoinmQuote:
    symbol: str
    time_ms: int
    mark: float
    index: float
    funding_rate: float
    interest_rate: float
    next_funding_ms: int


class CoinmMarket:
    """The COIN-M view of the replayed market: specs listed there, their quotes and mark samples."""

    def __init__(self, base: Market) -> None:
        self._base = base
        self.specs = {s: spec for s, spec in COINM_SPECS.items() if spec.linear in base.specs}
        self.brackets = {s: coinm_brackets_for(spec) for s, spec in self.specs.items()}

    def marks_of(self, linear_marks: Mapping[str, float]) -> dict[str, float]:
        """A sample of linear marks as COIN-M marks (8 dp, as the venue publishes them)."""
        return {
            s: q8(linear_marks[spec.linear]) for s, spec in self.specs.items() if spec.linear in linear_marks
        }

    def marks(self) -> dict[str, float]:
        return self.marks_of(self._base.marks())

    def first_mark(self, symbol: str) -> float:
        return q8(self._base.first_mark(self.specs[symbol].linear))

    def quote(self, symbol: str) -> CoinmQuote:
        q = self._base.quotes[self.specs[symbol].linear]
        return CoinmQuote(
            symbol, q.time_ms, q8(q.mark), q8(q.index), q.funding_rate, q.interest_rate, q.next_funding_ms
        )

    @property
    def event(self) -> str:
        return self._base.event
