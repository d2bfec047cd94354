"""Christoffersen, the Basel traffic light and Acerbi–Szekely Z2, each against a second source."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar
from scipy.special import ndtri
from scipy.stats import chi2

from monitor.risk.backtest import kupiec_pof
from monitor.risk.coverage import Z2_CRITICAL_5PCT, christoffersen, traffic_light, z2_test
from monitor.risk.reasons import Reason


def _markov_lr_by_optimiser(hits: np.ndarray) -> float:
    """LR_ind from the Markov chain likelihood maximised numerically: a second implementation.

    Independence: one exception probability π for every step after the first. Alternative: π01
    after a quiet step, π11 after an exception. Each likelihood is maximised by a bounded
    optimiser over the raw sequence, not by the closed-form counts the module uses.
    """
    prev, nxt = hits[:-1], hits[1:]
    eps = 1e-12

    def nll(p: float, mask: np.ndarray) -> float:
        x = nxt[mask]
        return -float(np.sum(np.where(x, np.log(max(p, eps)), np.log(max(1 - p, eps)))))

    every = np.ones(prev.size, dtype=bool)
    null = minimize_scalar(
        lambda p: nll(p, every), bounds=(eps, 1 - eps), method="bounded", options={"xatol": 1e-13}
    ).fun
    alt = 0.0
    for state in (False, True):
        m = prev == state
        if m.any():
            alt += minimize_scalar(
                lambda p, m=m: nll(p, m), bounds=(eps, 1 - eps), method="bounded", options={"xatol": 1e-13}
            ).fun
    return 2.0 * (null - alt)


@pytest.mark.parametrize("seed", range(6))
def test_independence_lr_equals_the_optimised_markov_likelihood(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 500
    hits = np.zeros(n, dtype=bool)
    for t in range(1, n):  # clustered for odd seeds: an exception makes the next one likelier
        p = 0.3 if (seed % 2 and hits[t - 1]) else 0.02
        hits[t] = rng.random() < p
    res = christoffersen([hits], 0.99, kupiec_pof(int(hits.sum()), n, 0.99).lr)
    assert res.reason == Reason.OK
    assert (res.n00 + res.n01 + res.n10 + res.n11) == n - 1
    assert res.lr_ind == pytest.approx(_markov_lr_by_optimiser(hits), abs=1e-4)
    assert res.p_ind == pytest.approx(float(chi2.sf(res.lr_ind, 1)))
    assert res.lr_cc == pytest.approx(res.lr_ind + kupiec_pof(int(hits.sum()), n, 0.99).lr)


def test_clustered_exceptions_are_rejected_that_kupiec_alone_accepts() -> None:
    """Ten exceptions in 1,000 days at 99 % is exactly on coverage; all ten in a row is not independent."""
    hits = np.zeros(1000, dtype=bool)
    hits[500:510] = True
    k = kupiec_pof(10, 1000, 0.99)
    res = christoffersen([hits], 0.99, k.lr)
    assert not k.reject
    assert (res.n01, res.n11, res.n10) == (1, 9, 1)
    assert res.reject_ind and res.reject_cc
    spread = np.zeros(1000, dtype=bool)
    spread[::100] = True
    assert not christoffersen([spread], 0.99, k.lr).reject_ind


def test_transitions_do_not_cross_segments() -> None:
    """An exception ending one stretch and one starting the next are not a cluster: a gap lies between."""
    a, b = np.zeros(50, dtype=bool), np.zeros(50, dtype=bool)
    a[-1], b[0] = True, True
    res = christoffersen([a, b], 0.99, 0.0)
    assert (res.n11, res.n01, res.n10) == (0, 1, 1)
    joined = christoffersen([np.concatenate([a, b])], 0.99, 0.0)
    assert joined.n11 == 1


def test_basel_traffic_light_table() -> None:
    """BCBS (1996), Table 2, 250 observations at 99 %: green 0–4, yellow 5–9, red 10 or more, with
    the table's cumulative probabilities 89.22 % (4), 95.88 % (5), 99.97 % (9), 99.99 % (10)."""
    zones = [traffic_light(x, 250, 0.99).zone for x in range(14)]
    assert zones == ["green"] * 5 + ["yellow"] * 5 + ["red"] * 4
    for x, cum in ((4, 0.8922), (5, 0.9588), (9, 0.9997), (10, 0.9999)):
        assert traffic_light(x, 250, 0.99).cumulative_probability == pytest.approx(cum, abs=5e-5)
    t = traffic_light(0, 250, 0.99)
    assert (t.green_max, t.yellow_max) == (4, 9)
    assert traffic_light(1, 0, 0.99).zone == ""


def test_z2_is_zero_on_average_and_rejects_five_percent_under_a_correct_model() -> None:
    """Acerbi & Szekely's setting (T = 250, ES at 97.5 %): with returns drawn from the forecast itself,
    Z2 averages 0 and its −0.70 critical value rejects about 5 % of the time (the paper's claim)."""
    rng = np.random.default_rng(7)
    alpha, trials, days = 0.975, 4000, 250
    z = float(ndtri(alpha))
    sigma = rng.uniform(0.01, 0.05, size=(trials, days))  # a different forecast every day
    var = z * sigma
    es = sigma * math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi) / (1 - alpha)
    r = rng.standard_normal((trials, days)) * sigma
    stats = np.array([z2_test(r[i], var[i], es[i], alpha).z2 for i in range(trials)])
    assert abs(float(np.mean(stats))) < 0.03
    assert 0.03 < float(np.mean(stats < Z2_CRITICAL_5PCT)) < 0.07
    # ES understated by half: Z2 centres near −1 and the test rejects most of the time
    low = np.array([z2_test(r[i], var[i], es[i] / 2, alpha).z2 for i in range(400)])
    assert float(np.mean(low < Z2_CRITICAL_5PCT)) > 0.5


def test_z2_by_hand() -> None:
    """Two exceptions in four days at 75 %: Z2 = (−0.3/0.2 − 0.5/0.4)/(4·0.25) + 1 = −1.75."""
    res = z2_test(np.array([-0.3, 0.1, -0.5, -0.05]), np.full(4, 0.1), np.array([0.2, 0.2, 0.4, 0.2]), 0.75)
    assert res.z2 == pytest.approx(-1.75) and res.exceptions == 2 and res.reject
    assert z2_test(np.zeros(0), np.zeros(0), np.zeros(0), 0.99).reason == Reason.BAD_PARAMETER
