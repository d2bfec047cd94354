"""The 99 % model the backtest chooses holds out of sample on the shipped series (issue 19).

Held means Kupiec, Christoffersen conditional coverage and Acerbi–Szekely Z2 (its p-value simulated
under the model's own distribution) all accept at the 95 % decision level. The series: BTC and ETH
daily (2017–2026 / 2017–2025), BTC hourly (2020–2025, split at its ten outages) at the one-day
horizon, and the three crash windows at one-minute steps (each its own stretch). At one-hour steps
no model holds (an expected failure, with its numbers below). Which model holds differs by series
— that is the point of choosing by backtest — and the chosen one and its numbers are printed
(pytest -s).
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from monitor.risk.sampling import detect_sampling, segment_returns
from monitor.risk.var_backtest import choose_model, default_refit_every, holds, var_backtest
from monitor.risk.var_season import hour_of_day
from monitor.whatif.price_csv import read_prices
from tests.unit.risk._data import BTC_HOURLY, CRASH_MINUTES, DATA, ETH_DAILY


def _stretches(path: Path) -> list[np.ndarray]:
    series = read_prices(str(path), "close")
    return segment_returns(np.array(series.prices), detect_sampling(np.array(series.times)))


def _hours(path: Path) -> list[np.ndarray]:
    """The UTC hour of each return of `_stretches` (its later price's), as backtest-var passes them."""
    series = read_prices(str(path), "close")
    times = np.array(series.times)
    return [hour_of_day(times[a + 1 : b]) for a, b in detect_sampling(times).segments]


def _crash_windows() -> list[np.ndarray]:
    by_event: dict[str, list[float]] = {}
    with CRASH_MINUTES.open() as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            by_event.setdefault(row["event"], []).append(float(row["close"]))
    return [np.diff(np.log(np.array(p))) for p in by_event.values()]


def _hourly(horizon: int) -> tuple[Callable[[], list[np.ndarray]], dict[str, Any]]:
    """BTC hourly at the command's refit cadence (~445 h), with each return's hour for the *_hod models."""
    refit = default_refit_every(max(s.size for s in _stretches(BTC_HOURLY)))
    kw = {"start": 1000, "refit_every": refit, "horizon": horizon, "phases": _hours(BTC_HOURLY)}
    return (lambda: _stretches(BTC_HOURLY)), kw


CASES = {
    "btc_daily": (lambda: _stretches(DATA), {"start": 1000}),
    "eth_daily": (lambda: _stretches(ETH_DAILY), {"start": 1000}),
    # one-hour steps: no 99 % model holds (below); scored at the desk's one-day horizon from the
    # same hours (non-overlapping 24-hour windows), the hour-of-day GARCH models hold
    "btc_hourly_1d": _hourly(24),
    # 270–872 minutes a window: 120 minutes of warm-up each, a 100-minute historical window
    "crash_minutes": (_crash_windows, {"start": 120, "window": 100}),
}
# At one-hour steps no 99 % model holds with Z2 decided by its simulated p-value. Here (every
# stretch of at least 1,001 returns): EVT-GARCH 386 exceptions for 355 expected, Kupiec p 0.104,
# cc p 0.066, Z2 −0.10 with p 0.048 (on the shared file as `backtest-var` scores it, 385 / 354 and
# Z2 p 0.066: a coin's toss either side of 0.05); with the hour-of-day profile 379 / 355, Kupiec
# p 0.21 but cc p 0.019 (the exceptions cluster); GARCH-t 439 / 355 with or without the profile.
# Strict: a change that makes a model hold here fails this mark and must update the note.
HOURLY_1H = pytest.param(
    "btc_hourly_1h",
    marks=pytest.mark.xfail(strict=True, reason="no 99 % model holds on BTC 1 h steps (issue 19)"),
)
CASES["btc_hourly_1h"] = _hourly(1)


@pytest.mark.slow
@pytest.mark.parametrize("case", [*(c for c in CASES if c != "btc_hourly_1h"), HOURLY_1H])
def test_the_chosen_99_model_holds(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    load, kw = CASES[case]
    results = var_backtest(load(), (0.99,), **kw)  # type: ignore[arg-type]
    chosen = choose_model(results, 0.99)
    with capsys.disabled():
        print(f"\n{case}:")
        for r in results:
            k, c = r.kupiec, r.christoffersen
            print(f"  {r.model:16s} {k.exceptions:4d}/{k.expected:6.1f}  Kupiec p {k.p_value:.3f}  "
                  f"cc p {c.p_cc:.3f}  Z2 {r.z2.z2:+.2f} p {r.z2.p_value:.3f}  "
                  f"{'holds' if holds(r) else '-'}")  # fmt: skip
        print(f"  chosen: {chosen.model if chosen else None}")
    assert chosen is not None, f"no 99 % model holds on {case}"
    assert holds(chosen) and not chosen.kupiec.reject and not chosen.christoffersen.reject_cc
    # the normal model is never it: its thin tails fail at 99 % on every series
    normal = next(r for r in results if r.model == "ewma_normal")
    assert not holds(normal)
