"""How the premium model's constants (`premium.py`) were fitted on the real data, re-run by a unit test.

Nothing here runs inside the simulator: the fitted numbers are constants in `premium.py`, and
`tests/unit/sim/test_premium_fit.py` re-fits them from copies of the data in `tests/testdata/sim/`
(Binance's 8-hour BTC/ETH funding 2020–2026, the hourly crash-window basis) and the minute bars the
simulator ships, so a changed recipe or constant fails a test instead of drifting silently.

Two regimes, two sources:

* **calm**: there is no premium history, but every settled rate pins down the interval's average
  premium P̄ (Binance's `F = P̄ + clamp(I − P̄, ±0.05 %)`, I = 0.01 % per 8 h): F ≠ I gives
  P̄ = F ∓ 0.05 % exactly, F = I only says P̄ ∈ [I − 0.05 %, I + 0.05 %]. A normal fitted by maximum
  likelihood with those interval (censored) observations, month by month (the level wanders with
  the market: +10 bps in 2021, −4 bps in 2024), gives the spread of P̄ around its month's level
  (the median month's sd) and, from consecutive settlements, its persistence. A month's level is
  the same censored fit: the 30 days that end 3 days before an event's first bar give the level of
  its seeded funding history. The replay itself plays the level of each regime around the window
  (`window_levels`: the same fit over the days before, the window's calm intervals, the days after).
* **crash**: the hourly spot-minus-perp basis of the three windows. The hours whose trailing 60-min
  realized volatility of the perp's minute returns is extreme (above `rv_threshold`: where a
  one-split regression tree of the basis on that volatility cuts) sit far below spot, by about `k` × the log
  drawdown from the 6-hour high: the perp overshoots spot in a liquidation cascade (2021-05-19:
  perp low 28,688, spot low 30,000). `k` is the least-squares slope through the origin; the
  residual sd is kept as the crash regime's noise; the residual sd of each event's own crash hours
  is that event's noise when it is replayed (2020-03-13's hour closes swung ±90 bps around the
  line, 2021-05-19's stayed within 20 bps of it: the pooled figure is Black Thursday's).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "CalmFit",
    "CrashFit",
    "WindowLevels",
    "calm_level",
    "drawdown",
    "fit_calm",
    "fit_crash",
    "implied_premium",
    "rolling_rv",
    "window_levels",
]

_I = 0.0001  # Binance's interest term, per 8 h
_C = 0.0005  # the clamp on (I − P̄), per 8 h
_CAP_BTC = 0.003
_EPS = 1e-9
_HOUR_S = 3600.0
_MONTH_MS = 30 * 86_400_000


@dataclass(frozen=True, slots=True)
class CalmFit:
    sd: float  # of the 8-hour average premium around its month's level (fraction)
    half_life_s: float  # of that deviation
    rho_8h: float  # lag-1 correlation of consecutive settlements' deviations


@dataclass(frozen=True, slots=True)
class CrashFit:
    rv_threshold: float  # annualised realized vol (fraction) above which an hour is a crash hour
    k: float  # premium = −k × log drawdown from the 6 h high, in the crash regime
    resid_sd: float  # fraction
    event_sd: dict[str, float]  # residual sd of each event's own crash hours (events with two or more)


def implied_premium(rate: float) -> tuple[float, float]:
    """The interval [lo, hi] of average premiums a settled 8-hour rate allows (lo == hi when exact)."""
    if abs(rate - _I) < _EPS:
        return _I - _C, _I + _C
    p = rate + _C if rate > _I else rate - _C
    return p, p


def _censored_normal(obs: Sequence[tuple[float, float]], sd: float | None = None) -> tuple[float, float]:
    """MLE (mean, sd) of a normal seen through exact values (lo == hi) and intervals."""
    from scipy import optimize, stats

    lo = np.array([o[0] for o in obs])
    hi = np.array([o[1] for o in obs])
    exact = np.abs(hi - lo) < _EPS
    start_mu = float(np.mean((lo + hi) / 2))

    def nll(params: npt.NDArray[np.float64]) -> float:
        mu = params[0]
        s = sd if sd is not None else math.exp(params[1])
        ll = np.sum(stats.norm.logpdf(lo[exact], mu, s))
        mass = stats.norm.cdf(hi[~exact], mu, s) - stats.norm.cdf(lo[~exact], mu, s)
        ll += np.sum(np.log(np.maximum(mass, 1e-300)))
        return float(-ll)

    x0 = [start_mu] if sd is not None else [start_mu, math.log(2e-4)]
    res = optimize.minimize(nll, np.array(x0), method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-9})
    mu = float(res.x[0])
    return mu, (sd if sd is not None else float(math.exp(res.x[1])))


def _usable(rows: Iterable[tuple[int, float]]) -> list[tuple[int, float]]:
    """Settlements at the cap only bound P̄ from one side; the calm fit leaves them out."""
    return [(t, r) for t, r in rows if abs(r) < _CAP_BTC - _EPS]


def fit_calm(series: Sequence[Sequence[tuple[int, float]]], exclude_ms: Sequence[tuple[int, int]]) -> CalmFit:
    """Month-by-month censored fits of P̄ over several symbols' (calc_time_ms, rate) series."""
    sds: list[float] = []
    pairs: list[tuple[float, float]] = []
    for rows in series:
        kept = [(t, r) for t, r in _usable(rows) if not any(a <= t < b for a, b in exclude_ms)]
        months: dict[int, list[tuple[int, float]]] = {}
        for t, r in kept:
            months.setdefault(t // _MONTH_MS, []).append((t, r))
        for block in months.values():
            if len(block) < 60:
                continue
            obs = [implied_premium(r) for _, r in block]
            mu, sd = _censored_normal(obs)
            sds.append(sd)
            # persistence from consecutive exact observations (deviation from the month's level)
            for (t0, r0), (t1, r1) in itertools.pairwise(block):
                a, b = implied_premium(r0), implied_premium(r1)
                if a[0] == a[1] and b[0] == b[1] and 0 < t1 - t0 < 9 * 3_600_000:
                    pairs.append((a[0] - mu, b[0] - mu))
    x = np.array([p[0] for p in pairs])
    y = np.array([p[1] for p in pairs])
    rho = float(np.sum(x * y) / np.sum(x * x))
    return CalmFit(float(np.median(sds)), 8 * _HOUR_S * math.log(2) / -math.log(rho), rho)


def calm_level(rows: Sequence[tuple[int, float]], sd: float) -> float:
    """The censored-MLE mean of P̄ over some settlements, with the calm sd held fixed."""
    return _censored_normal([implied_premium(r) for _, r in _usable(rows)], sd)[0]


def rolling_rv(closes: npt.NDArray[np.float64], window: int = 60) -> npt.NDArray[np.float64]:
    """Annualised realized vol of one-minute log returns over the trailing `window` minutes."""
    r2 = np.concatenate([[0.0], np.diff(np.log(closes)) ** 2])
    c = np.cumsum(r2)
    lagged = np.concatenate([np.zeros(window), c[:-window]]) if len(c) > window else np.zeros_like(c)
    n = np.minimum(np.arange(1, len(c) + 1), window)
    out: npt.NDArray[np.float64] = np.sqrt((c - lagged) / n * 365 * 24 * 60)
    return out


def drawdown(closes: npt.NDArray[np.float64], window: int = 360) -> npt.NDArray[np.float64]:
    """log(trailing `window`-minute high / close): how far below its recent high the perp is."""
    out = np.empty_like(closes)
    for i in range(len(closes)):
        out[i] = math.log(float(np.max(closes[max(0, i - window + 1) : i + 1])) / float(closes[i]))
    return out


def fit_crash(
    minute_closes: dict[str, tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]],
    hourly: Sequence[tuple[str, int, float]],
) -> CrashFit:
    """`minute_closes[event]` = (open_ms, close); `hourly` = (event, hour close ms, basis bps of spot)."""
    rv: list[float] = []
    dd: list[float] = []
    basis: list[float] = []
    events = [h[0] for h in hourly]
    for event, close_ms, bps in hourly:
        opens, closes = minute_closes[event]
        i = int(np.searchsorted(opens, close_ms)) - 1  # the last minute that opened before the close
        rv.append(float(rolling_rv(closes[: i + 1])[-1]))
        dd.append(float(drawdown(closes[: i + 1])[-1]))
        basis.append(bps / 1e4)
    rv_a, dd_a, b_a = np.array(rv), np.array(dd), np.array(basis)
    order = np.argsort(rv_a)
    sse = [
        float(np.sum((b_a[order[:j]] - b_a[order[:j]].mean()) ** 2))
        + float(np.sum((b_a[order[j:]] - b_a[order[j:]].mean()) ** 2))
        for j in range(1, len(order))
    ]
    j = 1 + int(np.argmin(sse))  # a one-split regression tree of the basis on RV: where it cuts
    threshold = float((rv_a[order[j - 1]] + rv_a[order[j]]) / 2)
    crash = rv_a > threshold
    x, y = dd_a[crash], b_a[crash]  # basis = spot over perp = −premium
    k = float(np.sum(x * y) / np.sum(x * x))
    resid = b_a - k * dd_a
    ev = np.array(events)
    per_event = {  # one crash hour says nothing about a spread
        e: float(np.std(resid[crash & (ev == e)]))
        for e in sorted(set(ev[crash].tolist()))
        if np.count_nonzero(crash & (ev == e)) >= 2
    }
    return CrashFit(threshold, k, float(np.std(y - k * x)), per_event)


@dataclass(frozen=True, slots=True)
class WindowLevels:
    """The calm premium index level around one replayed window, by regime (fractions)."""

    before: float  # the days before the first bar
    window: float  # the window's own calm hours
    after: float  # the days after the last bar


def window_levels(
    rows: Sequence[tuple[int, float]],
    first_ms: int,
    end_ms: int,
    crash_hours_ms: Sequence[int],
    sd: float,
    *,
    days: float = 3.0,
) -> WindowLevels:
    """The three levels of a replayed window, each from the real settlements of its own hours.

    `before`: the censored-MLE level of the settlements in the `days` before the first bar whose
    interval ended by it; `after`: the same over the intervals that began after the last bar, up to
    `days` after; `window`: the same over the intervals that overlap the window and hold no crash
    hour (`crash_hours_ms`: the crash hours' closes), the `before` level when there are none (a
    crash interval's average is the crash regime's, not the calm level's). 2020-03-12 12:00–16:00
    settled at P̄ −6.5 bps: the discount had begun before the crash.

    The regime changes at a crash: without a crash hour in the window (2024-08-05 by the fitted
    split) the days before and after are one calm regime, with one level fitted on both. Cutting
    there would fit noise: 2024-08-06..08's rates straddled zero (P̄ −4.6 … −5.7 bps, the rate's
    sign flips at −5), and a level of their own makes the simulated sign a coin.
    """
    h8, span = 8 * 3_600_000, days * 86_400_000
    before = [(t, r) for t, r in rows if first_ms - span <= t <= first_ms]
    after = [(t, r) for t, r in rows if t - h8 >= end_ms and t <= end_ms + span]

    def calm_interval(t: int) -> bool:  # the interval [t − 8 h, t) overlaps the window, no crash hour
        crashed = any(t - h8 < c and c - 3_600_000 < t for c in crash_hours_ms)
        return t - h8 < end_ms and t > first_ms and not crashed

    inside = [(t, r) for t, r in rows if calm_interval(t)]
    level_before = calm_level(before, sd)
    window = calm_level(inside, sd) if _usable(inside) else level_before
    if not crash_hours_ms:
        level = calm_level([*before, *after], sd)
        return WindowLevels(level, window, level)
    return WindowLevels(level_before, window, calm_level(after, sd))
