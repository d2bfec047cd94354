"""The hour-of-day profile: its worked example, no look-ahead, and what it buys on a clocked series."""

from __future__ import annotations

import numpy as np
import pytest

from monitor.risk.backtest import kupiec_pof
from monitor.risk.var_backtest import garch_path, var_es_forecasts
from monitor.risk.var_season import HOURS, hour_of_day, seasonal_profile


def test_profile_worked_example() -> None:
    """Two bins with mean |r| 1 and 3: s = m / √(mean m²) = (1, 3)/√5 = (0.447, 1.342)."""
    r = np.array([1.0, -1.0, 3.0, -3.0] * 25)
    ph = np.array([0, 0, 1, 1] * 25)
    s = seasonal_profile(r, ph, bins=2)
    assert s == pytest.approx([1 / np.sqrt(5), 3 / np.sqrt(5)])
    assert float(np.mean(s**2)) == pytest.approx(1.0)


def test_too_few_returns_in_an_hour_means_no_profile() -> None:
    r = np.ones(24 * 19)
    assert np.array_equal(seasonal_profile(r, np.arange(r.size) % HOURS), np.ones(HOURS))
    assert np.array_equal(seasonal_profile(np.ones(24 * 20), np.arange(480) % HOURS), np.ones(HOURS))
    assert hour_of_day(np.array([0.0, 3599.0, 3600.0, 86_400.0 + 23 * 3600])).tolist() == [0, 0, 1, 23]


def _clocked(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """iid t(5) hourly returns whose sd follows the clock: 0.5× at night to 2× at the US open."""
    rng = np.random.default_rng(seed)
    ph = np.arange(n) % HOURS
    s = 0.5 + 1.5 * np.exp(-0.5 * ((np.arange(HOURS) - 14) / 2.5) ** 2)
    s = s / np.sqrt(np.mean(s**2))
    r = 0.004 * s[ph] * rng.standard_t(5.0, n) / np.sqrt(5 / 3)
    return r, ph, s


def test_profile_recovers_the_clock() -> None:
    r, ph, s = _clocked(24 * 400, 1)
    assert seasonal_profile(r, ph) == pytest.approx(s, rel=0.12)


def test_no_look_ahead() -> None:
    """The forecast for step t uses returns before t only: changing every later return, the
    profile and GARCH fits included, leaves the forecasts up to t as they were."""
    r, ph, _ = _clocked(24 * 120, 2)
    start, t0 = 1000, 2000
    a = garch_path(r, start, 500, ph)
    r2 = r.copy()
    r2[t0:] *= 3.0
    b = garch_path(r2, start, 500, ph)
    k = t0 - start + 1  # forecasts for steps start … t0
    assert np.array_equal(a.sigma2[:k], b.sigma2[:k])
    assert not np.array_equal(a.sigma2[k:], b.sigma2[k:])
    plain = garch_path(r, start, 500)
    assert np.array_equal(plain.sigma2, plain.eps2) and len(plain.profiles[0]) == 1


@pytest.mark.slow
def test_the_hour_of_day_model_spreads_its_exceptions_over_the_clock() -> None:
    """On a clocked series plain GARCH's 95 % exceptions pile up in the busy hours (a σ that lags
    the clock); scaled by the profile they fall evenly on every hour, and Kupiec holds."""
    r, ph, _ = _clocked(24 * 250, 3)
    start = 1000
    busy = np.isin(ph[start:], np.arange(11, 18))  # the 7 hours around the 14:00 peak
    share = {}
    for name, g in (("plain", garch_path(r, start, 1000)), ("hod", garch_path(r, start, 1000, ph))):
        var = var_es_forecasts(r, 0.95, start=start, garch=g)["garch_t"].var
        hit = -r[start:] > var
        share[name] = float(hit[busy].sum() / hit.sum())
        if name == "hod":
            assert not kupiec_pof(int(hit.sum()), hit.size, 0.95).reject
    fair = 7 / 24
    assert share["plain"] > 1.6 * fair
    assert share["hod"] == pytest.approx(fair, abs=0.07)
