"""Kupiec proportion-of-failures test of a VaR model (risk-formulas §8).

Why: a VaR figure is only as good as its record. With x exceptions (loss > VaR) in N days at
coverage p = 1 − α, LR = −2 ln[(1−p)^{N−x} p^x] + 2 ln[(1−x/N)^{N−x} (x/N)^x] is χ²(1) under a
correct model; reject at 95 % when LR > 3.841.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np
from scipy.special import xlogy
from scipy.stats import chi2

from monitor.risk._num import FloatArray, as_float
from monitor.risk.reasons import Reason

__all__ = ["CHI2_95", "Kupiec", "count_exceptions", "kupiec_pof"]

CHI2_95 = 3.841458820694124


class Kupiec(msgspec.Struct, frozen=True, kw_only=True):
    """Kupiec POF result; `reject` is at the 95 % level (LR > 3.841)."""

    exceptions: int
    n: int
    expected: float
    lr: float
    p_value: float
    reject: bool
    reason: Reason


def kupiec_pof(exceptions: int, n: int, alpha: float) -> Kupiec:
    """LR of x exceptions in n days for a VaR at confidence α (x = 0 and x = n handled: 0·ln 0 = 0)."""
    p = 1.0 - alpha
    if n <= 0 or not (0 <= exceptions <= n) or not (0.0 < p < 1.0):
        nan = math.nan
        return Kupiec(exceptions=exceptions, n=n, expected=nan, lr=nan, p_value=nan, reject=False,
                      reason=Reason.BAD_PARAMETER)  # fmt: skip
    x, nn = float(exceptions), float(n)
    pi = x / nn
    ll_null = xlogy(nn - x, 1.0 - p) + xlogy(x, p)
    ll_alt = xlogy(nn - x, 1.0 - pi) + xlogy(x, pi)
    lr = max(0.0, float(-2.0 * ll_null + 2.0 * ll_alt))
    return Kupiec(exceptions=exceptions, n=n, expected=p * nn, lr=lr, p_value=float(chi2.sf(lr, 1)),
                  reject=lr > CHI2_95, reason=Reason.OK)  # fmt: skip


def count_exceptions(pnl: FloatArray, var: FloatArray) -> tuple[int, int]:
    """(exceptions, days): days where both are finite, exceptions where the loss exceeded VaR."""
    x, v = as_float(pnl), as_float(var)
    ok = np.isfinite(x) & np.isfinite(v)
    return int(np.sum(-x[ok] > v[ok])), int(np.sum(ok))
