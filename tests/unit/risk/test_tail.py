"""The GPD tail and FHS on standardised residuals, against a law whose tail is known."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.stats import genpareto
from scipy.stats import t as student_t

from monitor.risk.reasons import Reason
from monitor.risk.tail import fhs_var_es, fit_gpd_tail, gpd_var_es
from monitor.risk.var import historical_var_es


def test_gpd_tail_of_a_student_t_recovers_its_shape_and_quantile() -> None:
    """t(4) has tail index 4, so its GPD shape is ξ = 1/4 far enough out (from the 1 % largest losses;
    the 10 % threshold used live is biased low, a known finite-threshold effect); the 99 % and 99.9 %
    quantiles from the default tail match the t's own within a few per cent."""
    rng = np.random.default_rng(3)
    z = student_t.rvs(4, size=200_000, random_state=rng)
    far = fit_gpd_tail(z, threshold_q=0.99)
    assert far.xi == pytest.approx(0.25, abs=0.05)
    tail = fit_gpd_tail(z)
    assert tail.reason == Reason.OK and tail.n_u == pytest.approx(20_000, abs=2)
    for alpha in (0.99, 0.999):
        assert gpd_var_es(tail, alpha).var == pytest.approx(float(student_t.ppf(alpha, 4)), rel=0.03)


def test_gpd_es_is_the_mean_loss_beyond_var() -> None:
    """ES from the closed form equals the tail mean integrated numerically from the fitted GPD."""
    rng = np.random.default_rng(5)
    z = -genpareto.rvs(0.2, scale=0.6, size=20_000, random_state=rng)
    tail = fit_gpd_tail(z)
    alpha = 0.995
    res = gpd_var_es(tail, alpha)
    share = tail.n_u / tail.n

    def survival(x: float) -> float:  # P(loss > x) beyond the threshold
        return share * float(genpareto.sf(x - tail.u, tail.xi, scale=tail.beta))

    beyond, _ = integrate.quad(survival, res.var, math.inf)
    assert res.es == pytest.approx(res.var + beyond / (1 - alpha), rel=1e-6)
    assert survival(res.var) == pytest.approx(1 - alpha, rel=1e-9)


def test_gpd_refuses_what_it_cannot_say() -> None:
    assert fit_gpd_tail(np.arange(100.0)).reason == Reason.EMPTY_HISTORY  # 10 exceedances < 30
    tail = fit_gpd_tail(np.random.default_rng(1).standard_normal(5000))
    assert gpd_var_es(tail, 0.8).reason == Reason.BAD_PARAMETER  # inside the body, not the tail


def test_fhs_is_historical_simulation_on_residuals() -> None:
    z = np.random.default_rng(2).standard_t(5, size=800)
    a, b = fhs_var_es(z, 0.99), historical_var_es(z, 0.99)
    assert (a.var, a.es) == (b.var, b.es)
