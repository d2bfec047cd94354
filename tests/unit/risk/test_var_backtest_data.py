"""The 99 % model the backtest chooses holds out of sample on every shipped series (issue 19).

Held means Kupiec, Christoffersen conditional coverage and Acerbi–Szekely Z2 all accept at the
95 % decision level. The series: BTC and ETH daily (2017–2026 / 2017–2025), BTC hourly
(2020–2025, split at its ten outages) and the three crash windows at one-minute steps (each its own
stretch). Which model holds differs by series — that is the point of choosing by backtest — and
the chosen one and its numbers are printed (pytest -s).
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from monitor.risk.sampling import detect_sampling, segment_returns
from monitor.risk.var_backtest import choose_model, default_refit_every, holds, var_backtest
from monitor.whatif.price_csv import read_prices
from tests.unit.risk._data import BTC_HOURLY, CRASH_MINUTES, DATA, ETH_DAILY


def _stretches(path: Path) -> list[np.ndarray]:
    series = read_prices(str(path), "close")
    return segment_returns(np.array(series.prices), detect_sampling(np.array(series.times)))


def _crash_windows() -> list[np.ndarray]:
    by_event: dict[str, list[float]] = {}
    with CRASH_MINUTES.open() as f:
        for row in csv.DictReader(line for line in f if not line.startswith("#")):
            by_event.setdefault(row["event"], []).append(float(row["close"]))
    return [np.diff(np.log(np.array(p))) for p in by_event.values()]


CASES = {
    "btc_daily": (lambda: _stretches(DATA), {"start": 1000}),
    "eth_daily": (lambda: _stretches(ETH_DAILY), {"start": 1000}),
    # the command's own refit cadence (every ~445 hours here); at every 1,000 hours no model holds at
    # 99 % (EVT: 397 exceptions for 355 expected, p 0.028): the hourly verdict is a marginal one
    "btc_hourly": (
        lambda: _stretches(BTC_HOURLY),
        {"start": 1000, "refit_every": default_refit_every(max(s.size for s in _stretches(BTC_HOURLY)))},
    ),
    # 270–872 minutes a window: 120 minutes of warm-up each, a 100-minute historical window
    "crash_minutes": (_crash_windows, {"start": 120, "window": 100}),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(CASES))
def test_the_chosen_99_model_holds(case: str, capsys: pytest.CaptureFixture[str]) -> None:
    load, kw = CASES[case]
    results = var_backtest(load(), (0.99,), **kw)  # type: ignore[arg-type]
    chosen = choose_model(results, 0.99)
    with capsys.disabled():
        print(f"\n{case}:")
        for r in results:
            k, c = r.kupiec, r.christoffersen
            print(f"  {r.model:16s} {k.exceptions:4d}/{k.expected:6.1f}  Kupiec p {k.p_value:.3f}  "
                  f"cc p {c.p_cc:.3f}  Z2 {r.z2.z2:+.2f}  {'holds' if holds(r) else '-'}")  # fmt: skip
        print(f"  chosen: {chosen.model if chosen else None}")
    assert chosen is not None, f"no 99 % model holds on {case}"
    assert holds(chosen) and not chosen.kupiec.reject and not chosen.christoffersen.reject_cc
    # the normal model is never it: its thin tails fail at 99 % on every series
    normal = next(r for r in results if r.model == "ewma_normal")
    assert not holds(normal)
