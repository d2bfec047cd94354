"""Z2 p-values by simulation: against MATLAB's and Acerbi–Szekely's published numbers, an exact
binomial case, and a brute-force second implementation that draws every return whole."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtri
from scipy.stats import binom, genpareto, ks_2samp
from scipy.stats import t as student_t

from monitor.risk.coverage import z2_test
from monitor.risk.var_backtest import var_es_forecasts
from monitor.risk.var_z2 import (
    TailLaws,
    concat_laws,
    draw_tail,
    empirical_laws,
    gpd_laws,
    location_scale_laws,
    z2_null,
    z2_pvalue,
)


def _normal(alpha: float) -> tuple[float, float]:
    z = float(ndtri(alpha))
    return z, math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) / (1 - alpha)


def _t(alpha: float, nu: float) -> tuple[float, float]:
    """Unit-variance t(ν): VaR and ES of one σ (as var.student_t_var_es)."""
    unit, q = math.sqrt((nu - 2) / nu), float(student_t.ppf(alpha, nu))
    return unit * q, unit * float(student_t.pdf(q, nu)) / (1 - alpha) * (nu + q * q) / (nu - 1)


def _iid(n: int, var: float, nu: float) -> TailLaws:
    return location_scale_laws(np.full(n, var), np.ones(n), nu)


@pytest.mark.parametrize(
    ("nu", "critical_1pct", "p_at"),
    [(math.inf, -0.34639, 0.0054099), (3.0, -0.42986, 0.018566)],
)
def test_matlab_unconditional_critical_values(nu: float, critical_1pct: float, p_at: float) -> None:
    """MATLAB Risk Management Toolbox, esbacktest unconditionalNormal / unconditionalT (t with 3
    degrees of freedom), documented example: 1,966 observations, VaR level 97.5 %, test level 99 %:
    critical value −0.34639 (normal) / −0.42986 (t3), and Z2 = −0.38265 has p 0.0054099 / 0.018566.
    MATLAB reads these off precomputed tables; ours are simulated (40,000 draws): they agree within
    the simulation error and the tables' interpolation."""
    alpha, n = 0.975, 1966
    var, es = _normal(alpha) if math.isinf(nu) else _t(alpha, nu)
    null = z2_null(_iid(n, var, nu), np.full(n, es), alpha, sims=40_000, seed=3)
    assert float(np.quantile(null, 0.01)) == pytest.approx(critical_1pct, abs=0.008)
    assert z2_pvalue(-0.38265, null) == pytest.approx(p_at, abs=0.003)
    assert abs(float(np.mean(null))) < 0.01  # E[Z2] = 0 under a correct model


@pytest.mark.parametrize("nu", [math.inf, 100.0])
def test_acerbi_szekely_five_percent_threshold(nu: float) -> None:
    """Acerbi & Szekely (2014): T = 250, ES at 97.5 %, Z2's 5 % significance threshold −0.70."""
    alpha, n = 0.975, 250
    var, es = _normal(alpha) if math.isinf(nu) else _t(alpha, nu)
    null = z2_null(_iid(n, var, nu), np.full(n, es), alpha, sims=40_000, seed=4)
    assert float(np.quantile(null, 0.05)) == pytest.approx(-0.70, abs=0.02)


def test_one_point_tails_give_the_binomial_p_value() -> None:
    """Every window has one value below −VaR, equal to −ES: each simulated exception adds −1, so
    Z2_sim = 1 − K/(T·p) with K ~ Binomial(T, 1/W), and P(Z2_sim ≤ 1 − k/(T·p)) = P(K ≥ k)."""
    n, w, alpha = 400, 50, 0.99
    laws = empirical_laws([np.array([-0.05])] * n, [w] * n)
    null = z2_null(laws, np.full(n, 0.05), alpha, sims=50_000, seed=5)
    for k in (6, 8, 12, 15):
        z2 = 1.0 - k / (n * (1 - alpha))
        assert z2_pvalue(z2, null) == pytest.approx(float(binom.sf(k - 1, n, 1 / w)), abs=0.006)


def _mixed(n: int, alpha: float, rng: np.random.Generator) -> tuple[TailLaws, np.ndarray, np.ndarray, list]:
    """Four laws a step each in turn (normal, t5, a 200-point window, a GPD tail), with full samplers."""
    p = 1 - alpha
    scale = rng.uniform(0.5, 2.0, n)
    laws, var, es, whole = [], np.empty(n), np.empty(n), []
    u0, xi, beta, share = 1.2, 0.2, 0.6, 0.1
    for i in range(n):
        s = scale[i]
        kind = i % 4
        if kind == 0:
            v, e = _normal(alpha)
            laws.append(location_scale_laws(np.array([s * v]), np.array([s]), math.inf))
            whole.append(lambda m, r, s=s: s * r.standard_normal(m))
        elif kind == 1:
            v, e = _t(alpha, 5.0)
            laws.append(location_scale_laws(np.array([s * v]), np.array([s]), 5.0))
            whole.append(lambda m, r, s=s: s * math.sqrt(3 / 5) * r.standard_t(5.0, m))
        elif kind == 2:
            win = s * rng.standard_t(4.0, 200)
            q = np.quantile(win, p)
            v, e = -q / s, -float(np.mean(win[win <= q])) / s
            laws.append(empirical_laws([win[win < q]], [win.size]))
            whole.append(lambda m, r, win=win: r.choice(win, m))
        else:
            v = u0 + beta / xi * ((p / share) ** (-xi) - 1)
            e = (v + beta - xi * u0) / (1 - xi)
            laws.append(gpd_laws(np.array([s * v]), np.array([s]), np.array([u0]), np.array([xi]),
                                 np.array([beta]), np.array([share])))  # fmt: skip

            def gpd_whole(m: int, r: np.random.Generator, s: float = s) -> np.ndarray:
                tail = r.random(m) < share
                loss = np.where(tail, u0 + genpareto.rvs(xi, scale=beta, size=m, random_state=r), 0.0)
                return -s * loss

            whole.append(gpd_whole)
        var[i], es[i] = s * v, s * e
    return concat_laws(laws), var, es, whole


def test_tail_only_simulation_equals_the_brute_force_draw() -> None:
    """Second implementation: draw every return of every path whole from its law and compute Z2
    with z2_test; the two null distributions are the same law (two-sample KS, 4,000 each)."""
    rng = np.random.default_rng(11)
    n, alpha, m = 240, 0.95, 4000
    laws, var, es, whole = _mixed(n, alpha, rng)
    fast = z2_null(laws, es, alpha, sims=m, seed=12)
    paths = np.column_stack([f(m, rng) for f in whole])  # m paths × n steps
    slow = np.array([z2_test(paths[j], var, es, alpha).z2 for j in range(m)])
    assert ks_2samp(fast, slow).pvalue > 0.001
    assert float(np.mean(fast)) == pytest.approx(float(np.mean(slow)), abs=0.03)
    assert float(np.quantile(fast, 0.05)) == pytest.approx(float(np.quantile(slow, 0.05)), abs=0.05)


def test_draws_lie_beyond_var_and_p_is_the_models_own() -> None:
    rng = np.random.default_rng(2)
    laws, var, _, _ = _mixed(40, 0.99, rng)
    steps = np.repeat(np.arange(40), 200)
    x = draw_tail(laws, steps, rng.random(steps.size))
    assert np.all(x < -var[steps] + 1e-12)
    par = laws.kind != 1
    assert laws.p[par] == pytest.approx(0.01, rel=1e-9)  # parametric and GPD tails: exactly 1 − α


def test_each_backtest_models_law_matches_its_var() -> None:
    """The laws var_es_forecasts hands to Z2 put the model's own probability beyond its VaR."""
    rng = np.random.default_rng(8)
    r = 0.02 * rng.standard_t(4.0, 1400) / math.sqrt(2)
    fc = var_es_forecasts(r, 0.99, start=1000, window=250, refit_every=200)
    for name, f in fc.items():
        ok = np.isfinite(f.var)
        assert ok.sum() > 300, name
        p = f.law.p[ok]
        if name.startswith(("ewma", "garch", "evt")):
            assert p == pytest.approx(0.01, rel=1e-6), name
        else:  # empirical: the share of the window strictly below the interpolated quantile
            assert np.all((p >= 0.008) & (p <= 0.02)), name
        steps = np.repeat(np.flatnonzero(ok), 20)
        assert np.all(draw_tail(f.law, steps, rng.random(steps.size)) < -f.var[steps] + 1e-12), name


def test_decision_is_the_simulated_p_value_and_is_seeded() -> None:
    alpha, n = 0.99, 1000
    var, es = _normal(alpha)
    laws = _iid(n, var, math.inf)
    r = np.zeros(n)
    r[:10] = -var - 0.5  # ten exceptions just beyond VaR, where ES is deeper: Z2 slightly above 0
    res = z2_test(r, np.full(n, var), np.full(n, es), alpha, laws)
    assert res.sims == 2000 and 0.05 < res.p_value < 1 and not res.reject
    assert z2_test(r, np.full(n, var), np.full(n, es), alpha, laws).p_value == res.p_value
    r[:30] = -2.5 * es  # thirty deep ones: far beyond what the model allows
    bad = z2_test(r, np.full(n, var), np.full(n, es), alpha, laws)
    assert bad.reject and bad.p_value == pytest.approx(1 / 2001)
    plain = z2_test(r, np.full(n, var), np.full(n, es), alpha)
    assert plain.sims == 0 and math.isnan(plain.p_value) and plain.z2 == bad.z2
