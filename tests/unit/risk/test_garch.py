"""GARCH(1,1)-t: fit via arch, forecasts and the between-refit recursion match arch (§7)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from arch import arch_model

from monitor.risk.garch import fit_garch, garch_filter, garch_forecast, garch_step, stack_garch
from monitor.risk.reasons import Reason
from tests.unit.risk._data import btc_daily_log_returns


def _arch_fixed(r: np.ndarray, p: object) -> object:
    s2 = 100.0**2
    model = arch_model(100.0 * r, mean="Zero", vol="GARCH", p=1, q=1, dist="t", rescale=False)
    return model.fix([p.omega * s2, p.alpha, p.beta, p.nu])  # type: ignore[attr-defined]


def test_fit_on_btc_daily() -> None:
    """A fit on real BTC daily returns converges with plausible parameters and a t tail (ν < 10)."""
    r = btc_daily_log_returns()[:1500]
    p = fit_garch(r)
    assert p.reason in (Reason.OK, Reason.NON_STATIONARY)
    assert 0 < p.alpha < 0.5 and 0.5 < p.beta < 1 and 2 < p.nu < 10
    assert p.omega > 0 and p.sigma2_next > 0 and p.n_obs == 1500


def test_forecast_equals_arch_forecast() -> None:
    """garch_forecast gives arch's own multi-step variance forecast for the same parameters."""
    r = btc_daily_log_returns()[:1500]
    p = fit_garch(r)
    arch_var = np.asarray(_arch_fixed(r, p).forecast(horizon=10, reindex=False).variance)[-1] / 1e4
    np.testing.assert_allclose(garch_forecast(p, p.sigma2_next, 10), arch_var, rtol=1e-9)


def test_recursion_between_refits_equals_arch_filter() -> None:
    """Stepping σ² with each new return equals arch's fixed-parameter filter on the longer sample to 1e-9."""
    r = btc_daily_log_returns()[:2000]
    p = fit_garch(r[:1500])
    full = np.asarray(_arch_fixed(r, p).conditional_volatility) ** 2 / 1e4
    s = p.sigma2_next
    stepped = [s]
    for x in r[1500:1999]:
        s = garch_step(p, s, float(x))
        stepped.append(s)
    np.testing.assert_allclose(stepped, full[1500:2000], rtol=1e-9)
    np.testing.assert_allclose(garch_filter(p, r[1500:1999], p.sigma2_next), full[1500:2000], rtol=1e-9)
    assert p.sigma2_last == pytest.approx(full[1499], rel=1e-9)


def test_vectorised_step_matches_scalar_and_skips_nan() -> None:
    """One step over many symbols at once equals the scalar step; a NaN return keeps σ²."""
    r = btc_daily_log_returns()
    fits = [fit_garch(r[:1000]), fit_garch(r[1000:2000])]
    bank = stack_garch(fits)
    s2 = np.array([f.sigma2_next for f in fits])
    out = garch_step(bank, s2, np.array([0.01, np.nan]))
    assert out[0] == pytest.approx(garch_step(fits[0], fits[0].sigma2_next, 0.01), rel=1e-15)
    assert out[1] == s2[1]


def test_bad_histories() -> None:
    """Too few returns, all-zero returns → NaN parameters with a reason, no exception."""
    assert fit_garch(np.zeros(0)).reason == Reason.EMPTY_HISTORY
    assert fit_garch(np.full(50, 0.01)).reason == Reason.EMPTY_HISTORY
    zero = fit_garch(np.zeros(500))
    assert zero.reason == Reason.ZERO_VOLATILITY and math.isnan(zero.sigma2_next)
    assert garch_forecast(zero, math.nan, 0).size == 0
