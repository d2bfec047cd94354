"""The backtests a risk committee asks for beside Kupiec: clustering, the Basel zones, and ES.

Why each:
* **Christoffersen (1998)** independence: Kupiec counts exceptions only, so a model whose
  exceptions all arrive in the same crash week passes it. The test compares the chance of an
  exception after an exception (π₁₁) with the chance after a quiet step (π₀₁):
  LR_ind = −2 ln[(1−π)^{n00+n10} π^{n01+n11}] + 2 ln[(1−π01)^{n00} π01^{n01} (1−π11)^{n10} π11^{n11}],
  χ²(1) under independence; conditional coverage LR_cc = LR_pof + LR_ind, χ²(2) (reject at 95 %
  above 5.991). Transitions are counted within each gap-free segment only.
* **Basel traffic light** (BCBS 1996): the zone of the exception count by its cumulative binomial
  probability under a correct model, green below 95 %, red from 99.99 % (250 days at 99 %: green
  0–4, yellow 5–9, red 10 or more).
* **Acerbi–Szekely (2014) Z2** for expected shortfall: Z2 = Σ R_t·I_t / (T·p·ES_t) + 1 with R_t
  the realised return, I_t the VaR exception, p = 1 − α. E[Z2] = 0 when ES is right; a negative
  Z2 says the losses beyond VaR were deeper than ES said. Its law depends on T·p and on the
  model, so the decision is a simulated p-value under the model's own distribution
  (monitor/risk/var_z2.py, 2,000 draws, fixed seed): reject at 95 % when p < 0.05. Without a law
  to simulate, the paper's 5 % critical value −0.70 (T = 250 at 97.5 %) decides, and p is NaN.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import msgspec
import numpy as np
from scipy.special import xlogy
from scipy.stats import binom, chi2

from monitor.risk._num import FloatArray, as_float
from monitor.risk.reasons import Reason
from monitor.risk.var_z2 import Z2_SEED, Z2_SIMS, TailLaws, z2_null, z2_pvalue

__all__ = [
    "CHI2_2_95",
    "Z2_CRITICAL_5PCT",
    "Christoffersen",
    "TrafficLight",
    "Z2Test",
    "christoffersen",
    "traffic_light",
    "z2_test",
]

CHI2_2_95 = 5.991464547107979  # χ²(2) at 95 %
Z2_CRITICAL_5PCT = -0.70  # Acerbi & Szekely (2014), Backtesting Expected Shortfall, §4
Z2_CRITICAL_RED = -1.8


class Christoffersen(msgspec.Struct, frozen=True, kw_only=True):
    """Transition counts and both tests; `reject_*` at the 95 % level."""

    n00: int
    n01: int
    n10: int
    n11: int
    lr_ind: float
    p_ind: float
    lr_cc: float
    p_cc: float
    reject_ind: bool
    reject_cc: bool
    reason: Reason


class TrafficLight(msgspec.Struct, frozen=True, kw_only=True):
    zone: str  # "green", "yellow", "red"; "" when not computable
    cumulative_probability: float
    green_max: int  # most exceptions still green for this n and confidence
    yellow_max: int


class Z2Test(msgspec.Struct, frozen=True, kw_only=True):
    z2: float
    n: int
    exceptions: int
    p_value: float  # simulated under the model's law; NaN when none was given
    sims: int  # simulations behind p_value (0: decided by the −0.70 critical value)
    reject: bool  # at 5 %: p < 0.05 (simulated), else Z2 < −0.70
    reason: Reason


def _transitions(hits: Sequence[np.ndarray]) -> tuple[int, int, int, int]:
    n = np.zeros((2, 2), dtype=np.int64)
    for h in hits:
        b = np.asarray(h, dtype=bool).ravel()
        if b.size < 2:
            continue
        prev, nxt = b[:-1].astype(np.int64), b[1:].astype(np.int64)
        np.add.at(n, (prev, nxt), 1)
    return int(n[0, 0]), int(n[0, 1]), int(n[1, 0]), int(n[1, 1])


def christoffersen(hits: Sequence[np.ndarray], alpha: float, lr_pof: float) -> Christoffersen:
    """Independence and conditional coverage of exception indicators (one array per segment).

    `lr_pof` is Kupiec's LR on the same observations (`kupiec_pof(...).lr`); LR_cc adds the two.
    """
    n00, n01, n10, n11 = _transitions(hits)
    total = n00 + n01 + n10 + n11
    if total == 0 or not (0.0 < alpha < 1.0) or not math.isfinite(lr_pof):
        nan = math.nan
        return Christoffersen(
            n00=n00, n01=n01, n10=n10, n11=n11, lr_ind=nan, p_ind=nan, lr_cc=nan, p_cc=nan,
            reject_ind=False, reject_cc=False, reason=Reason.BAD_PARAMETER,
        )  # fmt: skip
    pi = (n01 + n11) / total
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    ll_null = xlogy(n00 + n10, 1.0 - pi) + xlogy(n01 + n11, pi)
    ll_alt = xlogy(n00, 1.0 - pi01) + xlogy(n01, pi01) + xlogy(n10, 1.0 - pi11) + xlogy(n11, pi11)
    lr_ind = max(0.0, float(-2.0 * ll_null + 2.0 * ll_alt))
    lr_cc = lr_pof + lr_ind
    p_ind, p_cc = float(chi2.sf(lr_ind, 1)), float(chi2.sf(lr_cc, 2))
    return Christoffersen(
        n00=n00, n01=n01, n10=n10, n11=n11, lr_ind=lr_ind, p_ind=p_ind, lr_cc=lr_cc, p_cc=p_cc,
        reject_ind=p_ind < 0.05, reject_cc=p_cc < 0.05, reason=Reason.OK,
    )  # fmt: skip


def traffic_light(exceptions: int, n: int, alpha: float) -> TrafficLight:
    """Basel zone of `exceptions` in `n` observations of a VaR at confidence α."""
    p = 1.0 - alpha
    if n <= 0 or not (0.0 < p < 1.0) or not (0 <= exceptions <= n):
        return TrafficLight(zone="", cumulative_probability=math.nan, green_max=-1, yellow_max=-1)
    cdf = float(binom.cdf(exceptions, n, p))
    zone = "green" if cdf < 0.95 else ("yellow" if cdf < 0.9999 else "red")
    # largest x with cdf(x) < 0.95 (resp. 0.9999): binom.ppf gives the smallest x with cdf(x) >= q
    green_max = int(binom.ppf(0.95, n, p)) - 1
    yellow_max = int(binom.ppf(0.9999, n, p)) - 1
    return TrafficLight(zone=zone, cumulative_probability=cdf, green_max=green_max, yellow_max=yellow_max)


def z2_test(
    returns: FloatArray,
    var: FloatArray,
    es: FloatArray,
    alpha: float,
    laws: TailLaws | None = None,
    *,
    sims: int = Z2_SIMS,
    seed: int = Z2_SEED,
) -> Z2Test:
    """Acerbi–Szekely Z2 over the observations where return, VaR and ES are all finite.

    `laws` (one per observation, var_z2.py) gives the simulated p-value and the decision.
    """
    r, v, e = as_float(returns).ravel(), as_float(var).ravel(), as_float(es).ravel()
    ok = np.isfinite(r) & np.isfinite(v) & np.isfinite(e) & (e > 0)
    n = int(np.sum(ok))
    p = 1.0 - alpha
    if n == 0 or not (0.0 < p < 1.0):
        return Z2Test(z2=math.nan, n=n, exceptions=0, p_value=math.nan, sims=0, reject=False,
                      reason=Reason.BAD_PARAMETER)  # fmt: skip
    r, v, e = r[ok], v[ok], e[ok]
    hit = -r > v
    z2 = float(np.sum(r[hit] / e[hit]) / (n * p) + 1.0)
    x = int(np.sum(hit))
    if laws is None or laws.size != ok.size:
        return Z2Test(z2=z2, n=n, exceptions=x, p_value=math.nan, sims=0, reject=z2 < Z2_CRITICAL_5PCT,
                      reason=Reason.OK)  # fmt: skip
    pv = z2_pvalue(z2, z2_null(laws.take(ok), e, alpha, sims=sims, seed=seed))
    return Z2Test(z2=z2, n=n, exceptions=x, p_value=pv, sims=sims, reject=pv < 0.05, reason=Reason.OK)
