"""Open interest for `/fapi/v1/openInterest` and `/futures/data/openInterestHist`.

The replayed bars carry no open interest, so the figure is synthetic and says so: a fixed USD
open interest per symbol divided by the current mark (contracts rise as the price falls). The
history is what the simulator itself published, one point per 5 minutes of wall time since start.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from monitor.sim.numfmt import q8

__all__ = ["PERIODS_MS", "OpenInterest", "OpenInterestPoint"]

_BASE_USD = {"BTCUSDT": 5.0e9, "ETHUSDT": 3.0e9, "SOLUSDT": 1.0e9, "XRPUSDT": 0.8e9}
_STEP_MS = 300_000
PERIODS_MS = {
    "5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1h": 3_600_000, "2h": 7_200_000,
    "4h": 14_400_000, "6h": 21_600_000, "12h": 43_200_000, "1d": 86_400_000,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class OpenInterestPoint:
    symbol: str
    time_ms: int
    contracts: float
    value: float  # contracts × mark, USDT


class OpenInterest:
    def __init__(self) -> None:
        self._history: list[OpenInterestPoint] = []
        self._bucket = -1

    @staticmethod
    def current(symbol: str, mark: float, now_ms: int) -> OpenInterestPoint:
        contracts = round(_BASE_USD.get(symbol, 1.0e8) / mark, 3)
        return OpenInterestPoint(symbol, now_ms, contracts, q8(contracts * mark))

    def record(self, marks: Mapping[str, float], now_ms: int) -> None:
        """Keep one point per symbol at each 5-minute boundary the clock has reached."""
        bucket = now_ms // _STEP_MS
        if bucket != self._bucket:
            self._bucket = bucket
            self._history += [self.current(s, m, bucket * _STEP_MS) for s, m in marks.items()]

    def history(
        self, symbol: str, period_ms: int, start_ms: int | None, end_ms: int | None, limit: int
    ) -> list[OpenInterestPoint]:
        rows = [
            p
            for p in self._history
            if p.symbol == symbol
            and p.time_ms % period_ms == 0
            and (start_ms is None or p.time_ms >= start_ms)
            and (end_ms is None or p.time_ms <= end_ms)
        ]
        return rows[:limit] if start_ms is not None else rows[-limit:]
