"""Monte Carlo VaR/ES and LP touch probability (risk-formulas §8)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtr, ndtri

from monitor.risk.montecarlo import McBook, McMarket, monte_carlo
from monitor.risk.reasons import Reason

DAY = 86_400.0


def _market(
    sigma_step: float, *, basis: float = 0.0, rate: float = 0.0, k: int = 1, nu: float = 1e6
) -> McMarket:
    one = np.ones(k)
    return McMarket(
        spot=60_000.0 * one, basis=basis * one, omega=sigma_step**2 * one, alpha=0 * one, beta=0 * one,
        nu=nu * one, sigma2=sigma_step**2 * one, ou_theta=0 * one, ou_mu=basis * one, ou_sigma=0 * one,
        funding_history=np.full((10, k), rate), funding_interval_h=8.0 * one,
    )  # fmt: skip


def _book(spot_q: float, perp_q: list[float], lp: list[float]) -> McBook:
    return McBook(np.array([spot_q]), np.zeros(len(perp_q), dtype=np.intp), np.array(perp_q), np.array(lp))


def test_spot_var_matches_lognormal() -> None:
    """Constant-variance normal returns: MC 99 % VaR ≈ S·(1 − e^{−z σ√n}) within sampling error."""
    sigma_step, steps = 0.03 / math.sqrt(24), 24
    res = monte_carlo(_market(sigma_step), _book(1.0, [], []), horizon_s=DAY, step_s=3_600.0, n_paths=40_000,
                      alpha=0.99, rng=np.random.default_rng(11))  # fmt: skip
    exact = 60_000 * (1 - math.exp(-float(ndtri(0.99)) * sigma_step * math.sqrt(steps)))
    assert res.reason == Reason.OK
    assert res.var == pytest.approx(exact, rel=0.03)
    assert res.es > res.var


def test_touch_probability_matches_reflection_principle() -> None:
    """A long perp with LP 2σ below: P(touch) between the discretely monitored and continuous 2Φ(−k)."""
    sigma_day, steps = 0.03, 288
    lp = 60_000 * math.exp(-2.0 * sigma_day)
    mk = _market(sigma_day / math.sqrt(steps))
    res = monte_carlo(mk, _book(0.0, [1.0, -1.0], [lp, math.nan]), horizon_s=DAY, step_s=DAY / steps,
                      n_paths=20_000, alpha=0.99, rng=np.random.default_rng(5))  # fmt: skip
    cont = 2 * ndtr(-2.0)
    discrete = 2 * ndtr(-(2.0 + 0.5826 / math.sqrt(steps)))  # Broadie–Glasserman barrier shift
    err = 3 * math.sqrt(cont * (1 - cont) / 20_000)
    assert discrete - err <= res.p_touch[0] <= cont + err
    assert res.p_touch[1] == 0.0  # no LP: never touched
    assert res.p_any_touch == res.p_touch[0]


def test_hedged_book_earns_exact_funding_without_moves() -> None:
    """Zero vol, frozen basis, funding +1 bp/8 h: long 10 spot / short 10 perp earns 3·10·P·1e-4 per day."""
    mk = _market(0.0, basis=50.0, rate=1e-4)
    res = monte_carlo(mk, _book(10.0, [-10.0], [90_000.0]), horizon_s=DAY, step_s=3_600.0, n_paths=100,
                      alpha=0.95, rng=np.random.default_rng(1))  # fmt: skip
    assert res.mean_pnl == pytest.approx(3 * 10 * (60_000 - 50) * 1e-4, rel=1e-12)
    assert res.var == pytest.approx(-res.mean_pnl, rel=1e-12)


def test_hedge_cuts_var_and_seed_reproduces() -> None:
    """Short perp against spot leaves only basis risk; the same seed gives the same numbers."""
    mk = _market(0.005, basis=20.0)._replace(
        ou_theta=np.array([2 / DAY]), ou_sigma=np.array([40 / math.sqrt(DAY)])
    )
    kw = {"horizon_s": DAY, "step_s": 3_600.0, "n_paths": 5_000, "alpha": 0.99}
    naked = monte_carlo(mk, _book(10.0, [], []), rng=np.random.default_rng(3), **kw)
    hedged = monte_carlo(mk, _book(10.0, [-10.0], [math.nan]), rng=np.random.default_rng(3), **kw)
    again = monte_carlo(mk, _book(10.0, [-10.0], [math.nan]), rng=np.random.default_rng(3), **kw)
    assert hedged.var < 0.1 * naked.var
    assert hedged.var == again.var and hedged.es == again.es


def test_bad_inputs() -> None:
    """NaN price, ν ≤ 2, empty funding history, bad asset index → NaN + reason."""
    rng = np.random.default_rng(0)
    kw = {"horizon_s": DAY, "step_s": 3_600.0, "n_paths": 10, "alpha": 0.99, "rng": rng}
    book = _book(1.0, [1.0], [1.0])
    assert monte_carlo(_market(0.01)._replace(spot=np.array([np.nan])), book, **kw).reason == Reason.NAN_INPUT
    assert monte_carlo(_market(0.01, nu=2.0), book, **kw).reason == Reason.BAD_PARAMETER
    empty = _market(0.01)._replace(funding_history=np.zeros((0, 1)))
    assert monte_carlo(empty, book, **kw).reason == Reason.EMPTY_HISTORY
    bad = book._replace(perp_asset=np.array([3]))
    res = monte_carlo(_market(0.01), bad, **kw)
    assert res.reason == Reason.BAD_PARAMETER and math.isnan(res.var) and np.isnan(res.p_touch).all()


def _two_asset_tails(
    nu: tuple[float, float], rho: float, n_paths: int, seed: int
) -> tuple[float, float, float]:
    """One step, two assets' longs with LPs at each asset's own 1 % t(ν) quantile: (p0, p1, joint)."""
    from scipy.stats import t as student_t

    sigma = 0.02
    mk = _market(sigma, k=2)._replace(nu=np.array(nu))
    root = np.linalg.cholesky(np.array([[1.0, rho], [rho, 1.0]]))
    mk = mk._replace(chol=root)
    q01 = [float(student_t.ppf(0.01, v)) * math.sqrt((v - 2) / v) for v in nu]  # unit-variance t quantile
    lp = np.array([60_000 * math.exp(sigma * q) for q in q01])
    book = McBook(np.zeros(2), np.array([0, 1], dtype=np.intp), np.array([1.0, 1.0]), lp)
    res = monte_carlo(mk, book, horizon_s=3_600.0, step_s=3_600.0, n_paths=n_paths, alpha=0.99,
                      rng=np.random.default_rng(seed))  # fmt: skip
    p0, p1 = float(res.p_touch[0]), float(res.p_touch[1])
    return p0, p1, p0 + p1 - res.p_any_touch


def test_correlated_tails_stay_joint() -> None:
    """ρ = 0.99, ν = 3: a multivariate t crashes both assets together, so the joint 1 % tail is
    almost the single-asset 1 % (≈ 0.89 %). Separate χ² draws per asset (the old bug) gave ≈ 0.1 %."""
    n = 200_000
    p0, p1, joint = _two_asset_tails((3.0, 3.0), 0.99, n, 21)
    err = 4 * math.sqrt(0.01 * 0.99 / n)
    assert abs(p0 - 0.01) < err and abs(p1 - 0.01) < err  # marginals are still exactly t(ν)
    assert joint > 0.85 * min(p0, p1)


def test_different_nu_keep_own_marginals_and_shared_tails() -> None:
    """ν = 3 and 8: each asset's touch frequency is its own t(ν_j) 1 %, and the comonotone mixing
    (grouped t) keeps the tails joint: ≈ 0.65 % here, where separate χ² draws gave ≈ 0.15 %."""
    n = 200_000
    p0, p1, joint = _two_asset_tails((3.0, 8.0), 0.99, n, 22)
    err = 4 * math.sqrt(0.01 * 0.99 / n)
    assert abs(p0 - 0.01) < err and abs(p1 - 0.01) < err
    assert joint > 0.5 * min(p0, p1)
