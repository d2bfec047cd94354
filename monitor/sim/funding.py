"""Funding: the venue's rate formula, wall-time settlement grid, and the published history.

Binance's rate for an interval is `F = P + clamp(I − P, ±0.05 %)`, capped per symbol, where P is the
premium index averaged over the interval and I the interest rate (0.03 %/day pro rata). Settlement
happens at multiples of the symbol's interval in wall time (funding is a wall-clock fact even when
prices replay fast). History before the simulator started is real: the shipped 8-hour settlements
that preceded the replayed crash, re-stamped onto the wall-time grid that ends at start-up.

Sign (checked in tests/unit/sim/test_bybit_market.py): P = (mark − index)/index, so spot above the
perp (positive basis) gives P < 0 and a negative rate. The published estimate is the average since
the interval began, so it lags the instant basis, and at replay speed s one wall interval averages
s times as much replayed market: in the first minutes after start-up the default replay's basis
dips below zero and the estimate sits at +cap, while over whole intervals it sits near the fitted
mean of +87 bps and settles at −cap. Neither is a sign error.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib.resources import files

from monitor.sim.numfmt import q8

__all__ = [
    "FundingHistory",
    "FundingRecord",
    "PremiumAverage",
    "funding_rate",
    "historical_rates",
    "last_funding_ms",
    "next_funding_ms",
]

_CLAMP = 0.0005
_MS_PER_H = 3_600_000


@dataclass(frozen=True, slots=True)
class FundingRecord:
    symbol: str
    time_ms: int
    rate: float
    mark: float | None  # None for re-stamped history (the venue sends "" for old rows)


def funding_rate(premium: float, interest: float, cap: float) -> float:
    """Binance's formula, quantized to the 8 decimals the venue publishes."""
    rate = premium + min(max(interest - premium, -_CLAMP), _CLAMP)
    return q8(min(max(rate, -cap), cap))


def next_funding_ms(now_ms: int, hours: int) -> int:
    """The next settlement strictly after `now_ms`."""
    step = hours * _MS_PER_H
    return (now_ms // step + 1) * step


def last_funding_ms(now_ms: int, hours: int) -> int:
    step = hours * _MS_PER_H
    return (now_ms // step) * step


class PremiumAverage:
    """Time-weighted mean of the premium index since the interval began."""

    def __init__(self) -> None:
        self._sum = 0.0
        self._weight = 0.0
        self._last = 0.0

    def add(self, premium: float, dt_s: float) -> None:
        self._last = premium
        if dt_s > 0:
            self._sum += premium * dt_s
            self._weight += dt_s

    @property
    def value(self) -> float:
        return self._sum / self._weight if self._weight > 0 else self._last

    def reset(self) -> None:
        self._sum = 0.0
        self._weight = 0.0


def historical_rates(symbol: str, event: str, hours: int, end_ms: int) -> list[FundingRecord]:
    """Real settlements that preceded the replayed event, re-stamped to end at `end_ms`."""
    name = f"binance_um_{symbol}_funding_8h_before_crash_windows.csv"
    resource = files("monitor.sim.data").joinpath(name)
    if not resource.is_file():
        return []
    rows = [
        float(r["last_funding_rate"])
        for r in csv.DictReader(io.StringIO(resource.read_text(encoding="utf-8")))
        if r["event"].startswith(event + "_")
    ]
    step = hours * _MS_PER_H
    n = len(rows)
    return [FundingRecord(symbol, end_ms - (n - 1 - i) * step, q8(rate), None) for i, rate in enumerate(rows)]


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
