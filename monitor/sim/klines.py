"""Candles of the simulated venues: the history a restarted monitor asks for before it can fit anything.

A simulator started a second ago has a past all the same, and it is the path it already holds: wall
time before start-up maps back onto replay time at the market's speed (looping like the replay
does), so a bar of the past is the open, extremes and close of the replayed (or synthetic) path over
that span, scaled to the symbol as the live marks are. Spot is that mark seen through the OU basis,
simulated backwards from its value at start-up (a stationary Gaussian OU is time-reversible, so the
backward walk has the forward process's law), one draw per wall minute, seeded. From start-up on,
bars are what the venue really published: every tick's mark and spot mid, aggregated per minute.
Bybit's past is Binance's scaled by the venue spread held at start-up (its spot: Binance's spot).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from monitor.sim.basis import OU_MU_BPS, OU_SIGMA_BPS, OU_THETA_PER_S, spot_from_perp

__all__ = ["INTERVALS_MS", "Candle", "KlineBook", "PastPath"]

MINUTE_MS = 60_000
INTERVALS_MS = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": 1_440 * MINUTE_MS,
}
_KEEP_MINUTES = 20_160  # 14 days of recorded minutes per symbol


@dataclass(frozen=True, slots=True)
class Candle:
    open_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: float


def _floor_to(price: float, step: float, decimals: int) -> float:
    return round(math.floor(price / step + 1e-9) * step, decimals)


class PastPath:
    """The path before start-up: replay time r(t) = r0 − (start − t)·speed, wrapped like the replay."""

    def __init__(
        self,
        times: np.ndarray,
        prices: np.ndarray,
        cum_volume: np.ndarray,
        *,
        start_ms: int,
        replay_s: float,
        speed: float,
        loop: bool,
        basis_bps: float,
        seed: int,
    ) -> None:
        self._t, self._p, self._v = times, prices, cum_volume
        self._d = float(times[-1] - times[0])
        self._pmax, self._pmin = float(prices.max()), float(prices.min())
        self.start_ms, self._r0, self._speed, self._loop = start_ms, replay_s, speed, loop
        self._rng = np.random.default_rng(seed + 9_001)
        self._basis = [basis_bps]  # minute k before start-up: index k

    def _r(self, t_ms: int) -> float:
        return self._r0 - (self.start_ms - t_ms) / 1000.0 * self._speed

    def _wrap(self, r: float) -> float:
        if not self._loop:
            return min(max(r, 0.0), self._d)
        return math.fmod(r, self._d) + (self._d if r < 0 else 0.0)

    def _price(self, r: float) -> float:
        return float(np.interp(self._wrap(r), self._t, self._p))

    def _volume(self, a: float, b: float) -> float:
        if b - a >= self._d:
            return float(self._v[-1]) * (b - a) / self._d
        va, vb = (float(np.interp(self._wrap(x), self._t, self._v)) for x in (a, b))
        return vb - va if vb >= va else float(self._v[-1]) - va + vb

    def basis_bps(self, t_ms: int) -> float:
        """The basis of the wall minute holding `t_ms` (before start-up), walked back from start-up's."""
        k = max(0, (self.start_ms - t_ms) // MINUTE_MS)  # 0: the minute that ends at start-up
        dt = 60.0 * self._speed
        decay = math.exp(-OU_THETA_PER_S * dt)
        sd = OU_SIGMA_BPS * math.sqrt((1 - decay * decay) / (2 * OU_THETA_PER_S))
        while len(self._basis) <= min(k, _KEEP_MINUTES):
            b = self._basis[-1]
            self._basis.append(OU_MU_BPS + (b - OU_MU_BPS) * decay + sd * float(self._rng.standard_normal()))
        return self._basis[min(k, _KEEP_MINUTES)]

    def span(self, t0_ms: int, t1_ms: int) -> tuple[float, float, float, float, float]:
        """(open, high, low, close, volume) of the raw path over wall time [t0, t1)."""
        a, b = self._r(t0_ms), self._r(t1_ms)
        o, c = self._price(a), self._price(b)
        if b - a >= self._d and self._loop:
            return o, self._pmax, self._pmin, c, self._volume(a, b)
        pts = [o, c]
        lo_lap, hi_lap = (math.floor(a / self._d), math.floor(b / self._d)) if self._loop else (0, 0)
        for lap in range(lo_lap, hi_lap + 1):
            off = lap * self._d
            lo = max(a, off) - off if self._loop else self._wrap(a)
            hi = min(b, off + self._d) - off if self._loop else self._wrap(b)
            i, j = np.searchsorted(self._t, lo, side="right"), np.searchsorted(self._t, hi, side="left")
            if j > i:
                pts += [float(self._p[i:j].max()), float(self._p[i:j].min())]
        return o, max(pts), min(pts), c, self._volume(a, b)


class _Minute:
    __slots__ = ("c", "h", "l", "o", "v0", "v1")

    def __init__(self, price: float, volume: float) -> None:
        self.o = self.h = self.l = self.c = price
        self.v0 = self.v1 = volume

    def add(self, price: float, volume: float) -> None:
        self.h, self.l, self.c, self.v1 = max(self.h, price), min(self.l, price), price, volume


class KlineBook:
    """One venue's candles for its symbols: the past from `PastPath`, the present from its own ticks.

    `scale[symbol]` turns a raw path price into the symbol's mark (the replay's ratio, and on Bybit
    the spread held at start-up); `tick[symbol]` is the (step, decimals) of its spot book, whose mid
    the spot candles close on, as the live spot book tops do.
    """

    def __init__(
        self, past: PastPath, scale: dict[str, float], spot_tick: dict[str, tuple[float, int]]
    ) -> None:
        self.past = past
        self.scale = scale
        self.spot_tick = spot_tick
        self._minutes: dict[tuple[str, str], dict[int, _Minute]] = {}

    @property
    def start_ms(self) -> int:
        return self.past.start_ms

    def record(self, now_ms: int, kind: str, symbol: str, price: float, volume: float = 0.0) -> None:
        """A published price (`kind` "mark" or "spot"); the venue's own minute bars build from these."""
        price = round(price, 8)  # what the wire carries
        book = self._minutes.setdefault((kind, symbol), {})
        minute = now_ms // MINUTE_MS * MINUTE_MS
        bar = book.get(minute)
        if bar is None:
            book[minute] = _Minute(price, volume)
            if len(book) > _KEEP_MINUTES:
                del book[min(book)]
        else:
            bar.add(price, volume)

    def _spot_mid(self, symbol: str, mark: float, bps: float) -> float:
        step, decimals = self.spot_tick[symbol]
        index = round(spot_from_perp(mark, bps), 8)  # as the market quantizes it
        return round(_floor_to(index, step, decimals) + step / 2, decimals + 1)

    def _past(self, kind: str, symbol: str, t0: int, t1: int) -> Candle:
        o, h, lo, c, vol = self.past.span(t0, t1)
        k = self.scale[symbol]
        o, h, lo, c = (round(x * k, 8) for x in (o, h, lo, c))
        if kind == "spot":
            bps = self.past.basis_bps(t1 - 1)
            o, h, lo, c = (self._spot_mid(symbol, x, bps) for x in (o, h, lo, c))
        return Candle(t0, o, h, lo, c, round(vol / k, 8))

    def _recorded(self, kind: str, symbol: str, t0: int, t1: int, before: Candle | None) -> Candle | None:
        book = self._minutes.get((kind, symbol), {})
        bars = [book[m] for m in range(t0 // MINUTE_MS * MINUTE_MS, t1, MINUTE_MS) if m in book]
        if not bars:
            return before
        o = before.open if before is not None else bars[0].o
        h = max([b.h for b in bars] + ([before.high] if before else []))
        lo = min([b.l for b in bars] + ([before.low] if before else []))
        vol = sum(b.v1 - b.v0 for b in bars) + (before.volume if before else 0.0)
        return Candle(t0, o, h, lo, bars[-1].c, round(vol, 8))

    def candle(self, kind: str, symbol: str, t0: int, t1: int, prev: Candle | None) -> Candle:
        start = self.start_ms
        head = self._past(kind, symbol, t0, min(t1, start)) if t0 < start else None
        if t1 <= start:
            return head if head is not None else self._past(kind, symbol, t0, t1)
        tail = self._recorded(kind, symbol, max(t0, start), t1, head)
        if tail is not None:
            return Candle(t0, tail.open, tail.high, tail.low, tail.close, tail.volume)
        carry = head or prev or self._past(kind, symbol, start - MINUTE_MS, start)
        return Candle(t0, carry.close, carry.close, carry.close, carry.close, 0.0)

    def query(
        self,
        kind: str,
        symbol: str,
        interval_ms: int,
        start_ms: int | None,
        end_ms: int | None,
        limit: int,
        now_ms: int,
    ) -> list[Candle]:
        """Binance's rule: from `start` forwards when given, else the latest `limit` up to `end` (or now).

        The bar in progress is included (its close is the latest price), as on the venue.
        """
        last_open = (min(end_ms, now_ms) if end_ms is not None else now_ms) // interval_ms * interval_ms
        if start_ms is not None:
            first = -(-start_ms // interval_ms) * interval_ms
            opens = range(first, min(last_open, first + (limit - 1) * interval_ms) + 1, interval_ms)
        else:
            opens = range(last_open - (limit - 1) * interval_ms, last_open + 1, interval_ms)
        out: list[Candle] = []
        prev: Candle | None = None
        for t0 in opens:
            prev = self.candle(kind, symbol, t0, t0 + interval_ms, prev)
            out.append(prev)
        return out
