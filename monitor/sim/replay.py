"""The replayed price path: real BTCUSDT perpetual 1-minute bars walked piecewise-linearly.

Inside each bar the path goes open → the extreme nearer the open → the other extreme → close, so a
replay visits every real high and low (a liquidation at the 2021-05-19 low really happens). Time
here is *replay* seconds from the first bar; the market compresses it with `speed`.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
import numpy.typing as npt

__all__ = ["EVENTS", "Bar", "PricePath", "event_code", "load_bars"]

EVENTS: dict[str, str] = {
    "crash-2020-03-12": "E1_2020-03-12_black_thursday",
    "crash-2021-05-19": "E2_2021-05-19_china_ban_crash",
    "crash-2024-08-05": "E4_2024-08-05_yen_carry_unwind",
}
_BAR_S = 60.0
# offsets of the four vertices inside a bar; the last 5 s drift from close to the next open
_OFFSETS = (0.0, 20.0, 40.0, 55.0)


@dataclass(frozen=True, slots=True)
class Bar:
    open_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def event_code(replay: str) -> str:
    """ "crash-2021-05-19" → "E2" (the key the per-event tables use); a user's files → "user"."""
    return EVENTS[replay].split("_", 1)[0] if replay in EVENTS else "user"


def load_bars(replay: str) -> list[Bar]:
    """The perpetual bars a replay plays, oldest first: a built-in window's (shipped as archive
    files under data/<window>/) or, for a folder of the user's archive files, its first symbol's.
    Both go through the one reader and its checks (archive.py)."""
    from monitor.sim.archive import load_user_replay  # archive.py builds on this module

    folder = Path(str(files("monitor.sim.data").joinpath(replay))) if replay in EVENTS else Path(replay)
    user = load_user_replay(folder)
    return user.perp[user.symbols[0]]


class PricePath:
    """A piecewise-linear price over replay seconds, with the vertices exposed for sub-stepping."""

    def __init__(self, times: npt.ArrayLike, prices: npt.ArrayLike, volumes: npt.ArrayLike | None = None):
        self.times = np.asarray(times, dtype=np.float64)
        self.prices = np.asarray(prices, dtype=np.float64)
        if self.times.ndim != 1 or self.times.shape != self.prices.shape or len(self.times) < 2:
            raise ValueError("a path needs at least two (time, price) vertices")
        if np.any(np.diff(self.times) <= 0) or np.any(self.prices <= 0):
            raise ValueError("vertex times must increase and prices be positive")
        vol = np.zeros_like(self.times) if volumes is None else np.asarray(volumes, dtype=np.float64)
        self.cum_volume = np.cumsum(vol)
        self.duration_s = float(self.times[-1] - self.times[0])

    @classmethod
    def from_bars(cls, bars: list[Bar]) -> PricePath:
        times: list[float] = []
        prices: list[float] = []
        volumes: list[float] = []
        for i, b in enumerate(bars):
            first, second = (
                (b.low, b.high) if abs(b.open - b.low) <= abs(b.high - b.open) else (b.high, b.low)
            )
            for off, p in zip(_OFFSETS, (b.open, first, second, b.close), strict=True):
                times.append(i * _BAR_S + off)
                prices.append(p)
                volumes.append(b.volume / len(_OFFSETS))
        return cls(times, prices, volumes)

    def price_at(self, t: float) -> float:
        return float(np.interp(t, self.times, self.prices))

    def volume_at(self, t: float) -> float:
        """Base volume traded since the start of the path (vertex resolution is enough for tickers)."""
        i = int(np.searchsorted(self.times, t, side="right"))
        return float(self.cum_volume[i - 1]) if i > 0 else 0.0

    def vertices_between(self, a: float, b: float) -> list[tuple[float, float]]:
        """Vertices strictly inside (a, b), in time order: the points a coarse step would skip."""
        lo = int(np.searchsorted(self.times, a, side="right"))
        hi = int(np.searchsorted(self.times, b, side="left"))
        return [(float(self.times[i]), float(self.prices[i])) for i in range(lo, hi)]
