"""Funding: the venue's rate formula, wall-time settlement grid, and the published history.

Binance's rate for an N-hour interval is `F = [P̄ + clamp(I − P̄, ±0.05 %)] × N/8`, capped per symbol:
P̄ is the premium index averaged over the interval, I = 0.01 % per 8 h (the formula Binance
publishes; `interest` here is already the per-interval 0.01 % × N/8). A premium is a price ratio,
not a rate per unit time, so without the N/8 an hourly contract would pay eight times the 8-hour
one's funding for the same premium. Bybit's is the same with its own caps and a premium average
whose minute weights grow through the interval (`PremiumAverage(linear=True)`).

Settlement happens at multiples of the symbol's interval in wall time (funding is a wall-clock
fact even when prices replay fast); what settles is the market's running rate (market.py). History
before start-up is each venue's own, seeded: settlements drawn from the calm premium process of
`premium.py` (the level of the month before the replayed event, its sd and persistence) through
the formula, so every symbol on each venue has a past, and Bybit's (its own draw, plus its venue
spread) is not Binance's.

Sign: P = (mark − index)/index, so spot above the perp (positive basis) gives P < 0 and a negative rate.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from monitor.sim.numfmt import q8
from monitor.sim.premium import CALM_HALF_LIFE_S, CALM_LEVEL, CALM_SD, POOLED_LEVEL

__all__ = [
    "FundingHistory",
    "FundingRecord",
    "PremiumAverage",
    "funding_rate",
    "historical_rates",
    "last_funding_ms",
    "next_funding_ms",
    "settle_due",
]

_CLAMP = 0.0005
_MS_PER_H = 3_600_000


@dataclass(frozen=True, slots=True)
class FundingRecord:
    symbol: str
    time_ms: int
    rate: float
    mark: float | None  # None for re-stamped history (the venue sends "" for old rows)


def funding_rate(premium: float, interest: float, cap: float, hours: int = 8) -> float:
    """Binance's formula for an `hours` interval (`interest` per interval), quantized to 8 decimals."""
    scaled = premium * hours / 8
    clamp = _CLAMP * hours / 8
    rate = scaled + min(max(interest - scaled, -clamp), clamp)
    return q8(min(max(rate, -cap), cap))


def next_funding_ms(now_ms: int, hours: int) -> int:
    """The next settlement strictly after `now_ms`."""
    step = hours * _MS_PER_H
    return (now_ms // step + 1) * step


def settle_due(
    next_ms: dict[str, int],
    quotes: dict[str, Any],
    hours: Callable[[str], int],
    now_ms: int,
    restamp: Callable[[Any, int], Any],
) -> list[tuple[str, int, float, float]]:
    """(symbol, funding time, rate, mark) for each interval of a venue's market that has ended,
    each symbol's next settlement started and its quote restamped with it (`restamp(quote, next)`):
    one settlement walk for every simulated venue that keeps its own quotes (Bybit, OKX)."""
    out: list[tuple[str, int, float, float]] = []
    for symbol, due in next_ms.items():
        if now_ms >= due:
            q = quotes[symbol]
            out.append((symbol, due, q.funding_rate, q.mark))
            next_ms[symbol] = next_funding_ms(now_ms, hours(symbol))
            quotes[symbol] = restamp(q, next_ms[symbol])
    return out


def last_funding_ms(now_ms: int, hours: int) -> int:
    step = hours * _MS_PER_H
    return (now_ms // step) * step


class PremiumAverage:
    """Mean of the premium index since the interval began: flat in time (Binance), or with weights
    that grow linearly with the time since the interval began (Bybit: minute i weighs i)."""

    def __init__(self, linear: bool = False) -> None:
        self._linear = linear
        self._sum = 0.0
        self._weight = 0.0
        self._last = 0.0
        self._elapsed = 0.0

    def add(self, premium: float, dt_s: float) -> None:
        self._last = premium
        if dt_s > 0:
            w = dt_s * (self._elapsed + dt_s / 2) if self._linear else dt_s
            self._elapsed += dt_s
            self._sum += premium * w
            self._weight += w

    @property
    def value(self) -> float:
        return self._sum / self._weight if self._weight > 0 else self._last

    def reset(self) -> None:
        self._sum = 0.0
        self._weight = 0.0
        self._elapsed = 0.0


def historical_rates(
    symbol: str,
    event: str,
    hours: int,
    end_ms: int,
    *,
    venue: str = "binance",
    cap: float = 0.003,
    offset: float = 0.0,
    days: float = 90.0,
) -> list[FundingRecord]:
    """`days` of settlements ending at `end_ms`: the calm premium process through the formula.

    The interval averages P̄ follow the calm regime of `premium.py` (the month-before level plus
    `offset`, a venue's own premium; sd `CALM_SD`; the persistence of `CALM_HALF_LIFE_S`), seeded
    by venue, symbol and event, so a history is reproducible and differs between venues.
    """
    step = hours * _MS_PER_H
    n = max(1, int(days * 24 / hours))
    rng = np.random.default_rng(zlib.crc32(f"{venue}:{symbol}:{event}".encode()))
    rho = math.exp(-math.log(2) / CALM_HALF_LIFE_S * hours * 3600)
    level = CALM_LEVEL.get(symbol, {}).get(event, POOLED_LEVEL) + offset  # the month before the event
    x = CALM_SD * float(rng.standard_normal())
    out: list[FundingRecord] = []
    for i, z in enumerate(rng.standard_normal(n)):
        x = rho * x + CALM_SD * math.sqrt(1 - rho * rho) * float(z)
        rate = funding_rate(level + x, 0.0001 * hours / 8, cap, hours)
        out.append(FundingRecord(symbol, end_ms - (n - 1 - i) * step, rate, None))
    return out


class FundingHistory:
    """Settled rates per symbol, oldest first: what `GET /fapi/v1/fundingRate` serves."""

    def __init__(self, records: list[FundingRecord]) -> None:
        self._records = sorted(records, key=lambda r: r.time_ms)

    def add(self, record: FundingRecord) -> None:
        self._records.append(record)

    def query(
        self, symbol: str | None, start_ms: int | None, end_ms: int | None, limit: int
    ) -> list[FundingRecord]:
        """The venue's rule: from `startTime` forwards when given, else the latest `limit` rows."""
        rows = [
            r
            for r in self._records
            if (symbol is None or r.symbol == symbol)
            and (start_ms is None or r.time_ms >= start_ms)
            and (end_ms is None or r.time_ms <= end_ms)
        ]
        return rows[:limit] if start_ms is not None else rows[-limit:]
