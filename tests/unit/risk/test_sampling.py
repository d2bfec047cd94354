"""The step of a price file and its gaps: named, and never chained across."""

from __future__ import annotations

import numpy as np

from monitor.risk.sampling import detect_sampling, segment_returns, step_name
from monitor.whatif.price_csv import read_prices
from tests.unit.risk._data import BTC_HOURLY


def test_step_names() -> None:
    assert [step_name(s) for s in (60, 300, 3600, 86400, 604800, 90, 14400)] == [
        "1 minute", "5 minutes", "1 hour", "1 day", "1 week", "90 seconds", "4 hours",
    ]  # fmt: skip


def test_gaps_split_the_series_and_returns_stay_inside() -> None:
    t = np.array([0, 60, 120, 180, 600, 660, 720, 3600, 3660], dtype=float)
    p = np.exp(np.arange(t.size, dtype=float))
    s = detect_sampling(t)
    assert (s.step_s, s.name, s.gaps) == (60.0, "1 minute", 2)
    assert s.segments == ((0, 4), (4, 7), (7, 9))
    assert s.missing_steps == (420 // 60 - 1) + (2880 // 60 - 1)
    rets = segment_returns(p, s)
    assert [r.size for r in rets] == [3, 2, 1]
    assert all(np.allclose(r, 1.0) for r in rets)  # the jumps across the gaps are not returns


def test_the_shipped_hourly_file_is_hourly_with_its_ten_outages() -> None:
    series = read_prices(str(BTC_HOURLY), "close")
    s = detect_sampling(np.array(series.times))
    assert s.name == "1 hour" and s.gaps == 10
    assert sum(b - a for a, b in s.segments) == len(series.prices)
