"""The premium model's constants are what the recipe in premium_fit.py gives on the real data.

Inputs: copies of Binance's 8-hour BTC/ETH funding 2020–2026 and the hourly crash-window basis in
tests/testdata/sim/, and the minute bars the simulator ships. A changed constant or recipe fails here.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from monitor.sim import premium
from monitor.sim.premium_fit import (
    calm_level,
    fit_calm,
    fit_crash,
    implied_premium,
    rolling_rv,
    window_levels,
)
from monitor.sim.replay import EVENTS, event_code, load_bars

DATA = Path(__file__).parents[2] / "testdata" / "sim"
DAY_MS = 86_400_000


def _funding(symbol: str) -> list[tuple[int, float]]:
    with (DATA / f"binance_um_{symbol}USDT_funding_8h.csv").open() as fh:
        return [(int(r["calc_time"]), float(r["last_funding_rate"])) for r in csv.DictReader(fh)]


def _bars() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The shipped minute bars of each window (archive-format files under monitor/sim/data/)."""
    out = {}
    for replay in EVENTS:
        bars = load_bars(replay)
        out[event_code(replay)] = (np.array([b.open_ms for b in bars]), np.array([b.close for b in bars]))
    return out


def test_implied_premium_inverts_the_formula() -> None:
    assert implied_premium(0.0001) == pytest.approx((-0.0004, 0.0006))  # censored: inside the clamp
    assert implied_premium(0.0003) == pytest.approx((0.0008, 0.0008))
    assert implied_premium(-0.0001) == pytest.approx((-0.0006, -0.0006))


def test_calm_and_crash_constants_are_the_fit_of_the_shipped_data() -> None:
    bars = _bars()
    windows = {e: (int(t[0]), int(t[-1])) for e, (t, _c) in bars.items()}
    excluded = [(a - 3 * DAY_MS, b + 3 * DAY_MS) for a, b in windows.values()]
    series = {s: _funding(s) for s in ("BTC", "ETH")}
    calm = fit_calm(list(series.values()), excluded)
    assert (calm.sd, calm.half_life_s) == pytest.approx((premium.CALM_SD, premium.CALM_HALF_LIFE_S), rel=1e-6)
    for symbol, rows in series.items():
        for event, (first, _last) in windows.items():
            month = [(t, r) for t, r in rows if first - 33 * DAY_MS <= t < first - 3 * DAY_MS]
            level = calm_level(month, calm.sd)
            assert level == pytest.approx(premium.CALM_LEVEL[f"{symbol}USDT"][event], rel=1e-6, abs=1e-9)
    pooled = [(t, r) for rows in series.values() for t, r in rows if not any(a <= t < b for a, b in excluded)]
    assert calm_level(pooled, calm.sd) == pytest.approx(premium.POOLED_LEVEL, rel=1e-6, abs=1e-9)

    hourly: list[tuple[str, int, float]] = []
    with (DATA / "derived_basis_1h_crash_windows.csv").open() as fh:
        for r in csv.DictReader(fh):
            opened = dt.datetime.fromisoformat(r["hour_open_utc"].replace("Z", "+00:00"))
            hourly.append(
                (
                    r["event"][:2],
                    int(opened.timestamp() * 1000) + 3_600_000,
                    float(r["basis_close_bps_of_spot"]),
                )
            )
    crash = fit_crash(bars, hourly)
    assert (crash.rv_threshold, crash.k, crash.resid_sd) == pytest.approx(
        (premium.CRASH_RV, premium.CRASH_K, premium.CRASH_SD), rel=1e-9
    )
    assert crash.event_sd == pytest.approx(premium.CRASH_SD_EVENT, rel=1e-9)


def test_window_levels_are_the_fit_of_each_regime_around_the_window() -> None:
    """`premium.WINDOW_LEVELS` by `premium_fit.window_levels`: the days before, the window's calm
    intervals (crash hours by the split of `premium.CRASH_RV`), the days after."""
    bars = _bars()
    hourly: dict[str, list[tuple[int, float]]] = {}
    with (DATA / "derived_basis_1h_crash_windows.csv").open() as fh:
        for r in csv.DictReader(fh):
            opened = dt.datetime.fromisoformat(r["hour_open_utc"].replace("Z", "+00:00"))
            close_ms = int(opened.timestamp() * 1000) + 3_600_000
            hourly.setdefault(r["event"][:2], []).append((close_ms, float(r["basis_close_bps_of_spot"])))
    for event, (opens, closes) in bars.items():
        first, end = int(opens[0]), int(opens[-1]) + 60_000
        assert premium.WINDOW_SPAN_MS[event] == (first, end)
        rv = {ms: float(rolling_rv(closes[: int(np.searchsorted(opens, ms))])[-1]) for ms, _ in hourly[event]}
        crash = [ms for ms, v in rv.items() if v > premium.CRASH_RV]
        for symbol in ("BTC", "ETH"):
            got = window_levels(_funding(symbol), first, end, crash, premium.CALM_SD)
            want = premium.WINDOW_LEVELS[f"{symbol}USDT"][event]
            assert (got.before, got.window, got.after) == pytest.approx(want, rel=1e-6, abs=1e-9)
    # 2020-03-12: a premium before the window, a discount in its calm hours and after the crash
    e1 = premium.WINDOW_LEVELS["BTCUSDT"]["E1"]
    assert e1[0] > 0 > e1[1] and e1[2] < 0
