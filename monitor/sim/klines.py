"""Candles of the simulated venues: the history a restarted monitor asks for before it can fit anything.

A simulator started a second ago has a past all the same, and it is the path it already holds: wall
time before start-up maps back onto replay time at the market's speed (looping like the replay
does), so a bar of the past is the open, extremes and close of the replayed (or synthetic) path over
that span, scaled to the symbol as the live marks are. The path handed in is the market's *mark*
path (market.py `Market.path`: the median rule over the simulated index, mid basis and last, played
forward and back for a bouncing replay), so mark-price candles are marks, not last trades. Spot is
that mark seen through a basis walked backwards from its value at start-up with the calm premium's
sd and persistence (`premium.py`; a stationary Gaussian OU is time-reversible, so the backward walk
has the forward process's law), one draw per wall minute, seeded. From start-up on,
bars are what the venue really published: every tick's mark and spot mid, aggregated per minute.
Bybit's past is Binance's scaled by the venue spread held at start-up (its spot: Binance's spot).
"""

from __future__ import annotations

import math

import numpy as np

from monitor.sim.basis import spot_from_perp
from monitor.sim.premium import CALM_HALF_LIFE_S, CALM_SD, FAST_SD
from monitor.sim.replay import Bar

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
_WALK_THETA = math.log(2) / CALM_HALF_LIFE_S
_WALK_SD_BPS = math.hypot(CALM_SD, FAST_SD) * 1e4  # stationary sd of the calm basis, bps


# a served candle has a replayed bar's fields (open time, OHLC, volume): one record for both
Candle = Bar


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
        loop: bool | str,
        basis_bps: float,
        seed: int,
    ) -> None:
        self._t, self._p, self._v = times, prices, cum_volume
        self._d = float(times[-1] - times[0])
        self._pmax, self._pmin = float(prices.max()), float(prices.min())
        # the mark path of a bouncing replay already holds the way back: both loops wrap it
        self.start_ms, self._r0, self._speed = start_ms, replay_s, speed
        self._loop = loop not in (False, "stop")
        self._rng = np.random.default_rng(seed + 9_001)
        self._basis = [basis_bps]  # minute k before start-up: index k

    def basis_bps(self, t_ms: int) -> float:
        """The basis of the wall minute holding `t_ms` (before start-up), walked back from start-up's."""
        k = max(0, (self.start_ms - t_ms) // MINUTE_MS)  # 0: the minute that ends at start-up
        dt = 60.0 * self._speed
        decay = math.exp(-_WALK_THETA * dt)
        sd = _WALK_SD_BPS * math.sqrt(1 - decay * decay)
        mu = self._basis[0]  # the calm level it wanders around: where it stands at start-up
        while len(self._basis) <= min(k, _KEEP_MINUTES):
            b = self._basis[-1]
            self._basis.append(mu + (b - mu) * decay + sd * float(self._rng.standard_normal()))
        return self._basis[min(k, _KEEP_MINUTES)]

    def span(self, t0_ms: int, t1_ms: int) -> tuple[float, float, float, float, float]:
        """(open, high, low, close, volume) of the raw path over wall time [t0, t1)."""
        o, h, lo, c, vol = self.spans(np.array([t0_ms], dtype=np.int64), np.array([t1_ms], dtype=np.int64))
        return float(o[0]), float(h[0]), float(lo[0]), float(c[0]), float(vol[0])

    def spans(self, t0_ms: np.ndarray, t1_ms: np.ndarray) -> tuple[np.ndarray, ...]:
        """`span` for many bars at once (a page of 1,500 in a few ms, so the venue's loop never stalls)."""
        a = self._r0 - (self.start_ms - t0_ms) / 1000.0 * self._speed
        b = self._r0 - (self.start_ms - t1_ms) / 1000.0 * self._speed
        t, p, v, d = self._t, self._p, self._v, self._d
        if self._loop:
            o, c = np.interp(np.mod(a, d), t, p), np.interp(np.mod(b, d), t, p)
            shift = np.floor(a / d) * d
            a, b = a - shift, b - shift  # a in [0, d): the range runs on the path laid twice end to end
            whole = b - a >= d  # a bar that spans a whole loop saw every price of it
            b = np.where(whole, a, b)
            t2, p2 = np.concatenate([t, t[1:] + d]), np.concatenate([p, p[1:]])
            v2 = np.concatenate([v, v[1:] + v[-1]])
        else:
            a, b = np.clip(a, 0.0, d), np.clip(b, 0.0, d)
            o, c = np.interp(a, t, p), np.interp(b, t, p)
            whole = np.zeros(a.shape, dtype=bool)
            t2, p2, v2 = t, p, v
        i = np.searchsorted(t2, a, side="right")
        j = np.searchsorted(t2, b, side="left")
        padded = np.append(p2, p2[-1])
        idx = np.empty(2 * a.size, dtype=np.intp)
        idx[0::2], idx[1::2] = i, np.maximum(j, i)
        inner = j > i
        hi = np.where(inner, np.maximum.reduceat(padded, idx)[0::2], -np.inf)
        lo = np.where(inner, np.minimum.reduceat(padded, idx)[0::2], np.inf)
        high = np.where(whole, self._pmax, np.maximum(np.maximum(o, c), hi))
        low = np.where(whole, self._pmin, np.minimum(np.minimum(o, c), lo))
        span = (t1_ms - t0_ms) / 1000.0 * self._speed
        vol = np.where(whole, float(v[-1]) * span / d, np.interp(b, t2, v2) - np.interp(a, t2, v2))
        return o, high, low, c, vol

    def basis_many(self, t_ms: np.ndarray) -> np.ndarray:
        k = np.clip((self.start_ms - t_ms) // MINUTE_MS, 0, _KEEP_MINUTES)
        if k.size:
            self.basis_bps(self.start_ms - int(k.max()) * MINUTE_MS)  # extend the walk far enough
        out: np.ndarray = np.asarray(self._basis)[k]
        return out


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
        past = [t0 for t0 in opens if t0 + interval_ms <= self.start_ms]
        out = self._past_many(kind, symbol, np.array(past, dtype=np.int64), interval_ms) if past else []
        prev: Candle | None = out[-1] if out else None
        for t0 in opens[len(past) :]:
            prev = self.candle(kind, symbol, t0, t0 + interval_ms, prev)
            out.append(prev)
        return out

    def _past_many(self, kind: str, symbol: str, t0: np.ndarray, interval_ms: int) -> list[Candle]:
        o, h, lo, c, vol = self.past.spans(t0, t0 + interval_ms)
        k = self.scale[symbol]
        cols = [[round(float(x) * k, 8) for x in col] for col in (o, h, lo, c)]
        if kind == "spot":
            bps = self.past.basis_many(t0 + interval_ms - 1)
            cols = [
                [self._spot_mid(symbol, x, float(b)) for x, b in zip(col, bps, strict=True)] for col in cols
            ]
        vols = [round(float(x) / k, 8) for x in vol]
        return [
            Candle(int(t), *vals)
            for t, *vals in zip(t0, cols[0], cols[1], cols[2], cols[3], vols, strict=True)
        ]
