"""The perp's premium over its spot index, by regime, and the prices the venues derive from it.

The replay is the perp's last-trade path (real minute bars); spot is not in the data, so it is the
perp seen through a premium `p = perp / index − 1` that this module simulates, seeded, on a regular
grid of replay time. Three parts:

* a **calm level** plus a slow Ornstein–Uhlenbeck wander (sd `CALM_SD`, half-life `CALM_HALF_LIFE_S`)
  and a fast one (a couple of bps, a minute: chosen, it only shakes the book);
* a **crash regime**, on while the perp's trailing 60-minute realized volatility is above
  `CRASH_RV`: the premium is pulled (half-life 1 min) to `−CRASH_K ×` the log drawdown from the
  6-hour high, with crash noise of the replayed event's own sd (`CRASH_SD_EVENT`; `CRASH_SD`
  pooled over the events for any other path; half-life 15 min). Out of the regime it relaxes
  back (half-life 1 h). So spot has its own, shallower wicks: at 2021-05-19's low the perp traded
  28,688 and the simulated index sits about 1.2 % higher (the real spot's low, 30,000, was 4.6 %
  higher: the minute-scale gap at a wick is wider than this hourly-fitted line gives);
* the level per replayed event is the one of each regime around it (`WINDOW_LEVELS`, a replay of
  history: the real settlements of the 3 days before the first bar, of the window's calm
  intervals, of the 3 days after the last bar), so 2020-03-13..15's persistent discount plays as
  one; the venues' seeded funding history (`funding.py`) keeps the month before it (`CALM_LEVEL`).

Every fitted constant is re-derived by `tests/unit/sim/test_premium_fit.py` with the recipe in
`premium_fit.py`; the chosen ones are marked so. The series is computed once per path; a bouncing
replay plays it forward and then mirrored, so it returns to its start without a jump.

Fitted 2026-12-07 (`premium_fit.py`): calm sd of the 8 h average premium 1.19 bps around its
month's level (median of monthly censored fits, BTC+ETH 2020–2026 minus ±3 days around each event),
consecutive-settlement correlation 0.788 → half-life 23.3 h; crash split at an annualised 60-minute
realized vol of 623 %, k = 0.0490 (premium per unit log drawdown), residual sd 51 bps (5 crash hours);
per event 65 bps (2020-03-13, 3 hours) and 9.1 bps (2021-05-19, 2 hours; 2024-08-05 has no crash hour).

Why the noise is the event's own: the pooled 51 bps is Black Thursday's (its 01:00 close sat 96 bps
off the line), and drawn into 2021-05-19 it put the default replay's perp 130 bps under spot at
14:33 where the real basis was 49 and 59 bps at the two crash-hour closes. Funding averages that
discount, Bybit's with the weight growing through the interval, so the estimate read −353 % a year
at 14:33: deeper than any estimate from which the real 16:00 settlement (−0.0897 %) can be reached
(`tests/unit/sim/test_bybit_funding_vs_real.py`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from monitor.sim.premium_fit import drawdown, rolling_rv
from monitor.sim.replay import PricePath

__all__ = [
    "CALM_HALF_LIFE_S",
    "CALM_LEVEL",
    "CALM_SD",
    "CRASH_K",
    "CRASH_RV",
    "CRASH_SD",
    "CRASH_SD_EVENT",
    "MARK_MA_S",
    "POOLED_LEVEL",
    "WINDOW_LEVELS",
    "WINDOW_SPAN_MS",
    "PremiumParams",
    "Series",
    "build_series",
    "impact_premium",
    "mark_price",
]

CALM_SD = 1.1868184827839373e-04
CALM_HALF_LIFE_S = 83753.06858464748
CRASH_RV = 6.227316316539879
CRASH_K = 0.04904450420187096
CRASH_SD = 0.005122290435600259
CRASH_SD_EVENT: dict[str, float] = {"E1": 0.006504143992007011, "E2": 0.0009089611206952999}
# the censored-MLE level of the 8 h average premium over the 30 days that end 3 days before each
# event's first bar (BTC, ETH); other symbols and synthetic paths take the pooled 2020–2026 level
CALM_LEVEL: dict[str, dict[str, float]] = {
    "BTCUSDT": {"E1": 9.048905263551866e-04, "E2": 7.882070143876823e-04, "E4": -4.08425222148641e-04},
    "ETHUSDT": {"E1": 1.11231763486215e-03, "E2": 8.231094382642961e-04, "E4": -3.9708620021972725e-04},
}
POOLED_LEVEL = -1.2552394043440815e-04
# the calm level by regime around each shipped window (`premium_fit.window_levels`), a replay of
# history: the 3 days before the first bar, the window's calm hours, the 3 days after the last bar
WINDOW_SPAN_MS: dict[str, tuple[int, int]] = {  # (first bar's open, last bar's close)
    "E1": (1584014400000, 1584066720000),
    "E2": (1621418580000, 1621434840000),
    "E4": (1722832080000, 1722848280000),
}
WINDOW_LEVELS: dict[str, dict[str, tuple[float, float, float]]] = {
    "BTCUSDT": {
        "E1": (5.088723213026256e-04, -6.5149e-04, -9.703037500000001e-04),
        "E2": (8.304988030827839e-04, 8.304988030827839e-04, -4.008982652893065e-04),
        "E4": (-4.182496724314975e-04, -4.4802000000000004e-04, -4.182496724314975e-04),
    },
    "ETHUSDT": {
        "E1": (7.43960892768012e-04, 1.0000000000000002e-04, -3.4417389172363154e-04),
        "E2": (8.13034359926012e-04, 8.13034359926012e-04, 4.506599198455815e-04),
        "E4": (-4.941982352941178e-04, -5.311199999999999e-04, -4.941982352941178e-04),
    },
}

# chosen, not fitted
FAST_SD, FAST_HALF_LIFE_S = 2e-4, 60.0
CRASH_IN_HALF_LIFE_S, CRASH_NOISE_HALF_LIFE_S, CRASH_OUT_HALF_LIFE_S = 60.0, 900.0, 3600.0
IMPACT_CALM, IMPACT_CRASH = 0.5e-4, 5e-4  # impact half-spread for the impact margin notional
MARK_MA_S = 300.0  # Binance's (and Bybit's) "Price 2" moving average of the mid basis: 5 minutes
_RV_WINDOW_MIN, _DD_WINDOW_MIN = 60, 360


@dataclass(frozen=True, slots=True)
class PremiumParams:
    level: float
    calm_sd: float = CALM_SD
    crash_k: float = CRASH_K
    crash_sd: float = CRASH_SD
    rv_threshold: float = CRASH_RV
    # ((event-clock second from which it holds, level), ...), ascending; `level` holds before them
    track: tuple[tuple[float, float], ...] = ()

    @classmethod
    def for_symbol(cls, symbol: str, event: str) -> PremiumParams:
        """The event's levels by regime where the data give them (`level`: the days before the
        window), else the month-before level (other symbols: the pooled one)."""
        crash_sd = CRASH_SD_EVENT.get(event, CRASH_SD)
        levels = WINDOW_LEVELS.get(symbol, {}).get(event)
        if levels is None:
            return cls(CALM_LEVEL.get(symbol, {}).get(event, POOLED_LEVEL), crash_sd=crash_sd)
        first, end = (ms / 1000.0 for ms in WINDOW_SPAN_MS[event])
        return cls(levels[0], crash_sd=crash_sd, track=((first, levels[1]), (end, levels[2])))

    def levels(self, event_s: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The calm level at each moment of the replayed event's clock (seconds)."""
        out = np.full(len(event_s), self.level)
        for since, level in self.track:
            out[event_s >= since] = level
        return out

    def level_at(self, event_s: float) -> float:
        return float(self.levels(np.array([event_s]))[0])


@dataclass(frozen=True, slots=True)
class Series:
    """One symbol's market on the grid `t` (replay seconds) over the path, forward only."""

    t: npt.NDArray[np.float64]
    last: npt.NDArray[np.float64]  # perp last trade (and book mid)
    index: npt.NDArray[np.float64]  # spot composite
    premium: npt.NDArray[np.float64]  # last / index − 1
    crash: npt.NDArray[np.bool_]
    basis_ma_fwd: npt.NDArray[np.float64]  # mean of (mid − index) over the trailing MARK_MA_S
    basis_ma_back: npt.NDArray[np.float64]  # the same, played backwards (the leading window)

    @property
    def step(self) -> float:
        return float(self.t[1] - self.t[0])


def _ou_noise(
    rng: np.random.Generator, n: int, dt: float, sd: float, half_life: float
) -> npt.NDArray[np.float64]:
    """An exact stationary OU sample of sd `sd` on n points `dt` apart."""
    a = math.exp(-math.log(2) / half_life * dt)
    shocks = rng.standard_normal(n) * sd * math.sqrt(1 - a * a)
    out = np.empty(n)
    x = sd * float(rng.standard_normal())
    for i in range(n):  # a first-order recursion: sequential by nature
        x = a * x + shocks[i]
        out[i] = x
    return out


def _moving_mean(x: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.float64]:
    """Trailing mean over k points (fewer at the start)."""
    c = np.concatenate([[0.0], np.cumsum(x)])
    i = np.arange(1, len(x) + 1)
    lo = np.maximum(0, i - k)
    out: npt.NDArray[np.float64] = (c[i] - c[lo]) / (i - lo)
    return out


def build_series(
    path: PricePath,
    ratio: float,
    params: PremiumParams,
    seed: int,
    step_s: float,
    index_path: PricePath | None = None,
    epoch_s: float = 0.0,
) -> Series:
    """The symbol's last, index and premium on a `step_s` grid over `path` (scaled by `ratio`);
    with `index_path` (a user's spot or index klines) the index is that, not simulated. `epoch_s`:
    the path's start on the replayed event's clock (where `params`' levels are placed)."""
    n = int(path.duration_s // step_s) + 1
    t = path.times[0] + np.arange(n) * step_s
    last = np.interp(t, path.times, path.prices) * ratio
    minutes = path.times[0] + np.arange(int(path.duration_s // 60) + 1) * 60.0
    closes = np.interp(minutes, path.times, path.prices)
    minute_of = np.minimum(((t - path.times[0]) // 60).astype(np.intp), len(minutes) - 1)
    rv = rolling_rv(closes, _RV_WINDOW_MIN)[minute_of]
    dd = drawdown(closes, _DD_WINDOW_MIN)[minute_of]
    crash = rv > params.rv_threshold
    rng = np.random.default_rng(seed)
    calm = _ou_noise(rng, n, step_s, params.calm_sd, CALM_HALF_LIFE_S)
    fast = _ou_noise(rng, n, step_s, FAST_SD, FAST_HALF_LIFE_S)
    noise = _ou_noise(rng, n, step_s, params.crash_sd, CRASH_NOISE_HALF_LIFE_S)
    a_in = 1 - math.exp(-math.log(2) / CRASH_IN_HALF_LIFE_S * step_s)
    a_out = 1 - math.exp(-math.log(2) / CRASH_OUT_HALF_LIFE_S * step_s)
    stress = np.empty(n)
    weight = np.empty(n)  # how much of the crash noise shows: follows the regime like the stress
    z = w = 0.0
    for i in range(n):
        if crash[i]:
            z += (-params.crash_k * dd[i] - z) * a_in
            w += (1.0 - w) * a_in
        else:
            z -= z * a_out
            w -= w * a_out
        stress[i], weight[i] = z, w
    # the fitted level is of the premium *index*, which the impact spread pulls towards zero
    level = params.levels(epoch_s + (t - t[0]))
    raw_level = level + np.copysign(IMPACT_CALM, level)
    premium = np.maximum(raw_level + calm + fast + stress + weight * noise, -0.5)
    index = last / (1 + premium)
    if index_path is not None:
        index = np.interp(t, index_path.times, index_path.prices) * ratio
        premium = last / index - 1
    k = max(1, round(MARK_MA_S / step_s))
    basis = last - index
    fwd = _moving_mean(basis, k)
    back = _moving_mean(basis[::-1], k)[::-1]
    return Series(t, last, index, premium, crash, fwd, back)


def impact_premium(last: float, index: float, crash: bool) -> float:
    """The venues' premium index: `[max(0, impact bid − index) − max(0, index − impact ask)] / index`."""
    h = IMPACT_CRASH if crash else IMPACT_CALM
    bid, ask = last * (1 - h), last * (1 + h)
    return (max(0.0, bid - index) - max(0.0, index - ask)) / index


def mark_price(
    index: float, rate: float, until_funding_s: float, interval_s: float, ma_basis: float, last: float
) -> float:
    """Binance's (and Bybit's) rule: the median of Price 1, Price 2 and the last price.

    Price 1 = index × (1 + funding rate × time until funding / interval); Price 2 = index + the
    moving average of the mid basis; a wick in the last price alone cannot move the median.
    """
    p1 = index * (1 + rate * until_funding_s / interval_s)
    p2 = index + ma_basis
    return sorted((p1, p2, last))[1]
