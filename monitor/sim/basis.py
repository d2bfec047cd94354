"""Spot (and index) = perp path + a mean-reverting basis, an Ornstein–Uhlenbeck process in bps.

There is no minute-level spot history for the crash windows, only hourly closes beside the perp
(`derived_basis_1h_crash_windows.csv`). The OU parameters below were fitted offline on that hourly
basis (`basis_close_bps_of_spot` = (spot − perp) / spot × 10⁴) by the OLS recipe of risk-formulas.md
§2, pooling consecutive hours within each event (17 pairs; the fit is `fit_ou` below, re-checked by
a unit test). The process runs in *replay* time, so a fast replay reverts as fast as the real basis.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["OU_MU_BPS", "OU_SIGMA_BPS", "OU_THETA_PER_S", "BasisProcess", "OuFit", "fit_ou", "spot_from_perp"]

# Fitted 2026-11-23 on the three events' hourly basis: b = 0.79739, a = 17.695 bps, sd(ε) = 45.87 bps
# (population sd), Δ = 3600 s. Half-life 3.06 h; stationary sd 76 bps (the mean is dominated by the
# 2020-03-13 dislocation, when spot sat up to 239 bps over the perp).
OU_THETA_PER_S = 6.289351103077982e-05
OU_MU_BPS = 87.33288331102376
OU_SIGMA_BPS = 0.8524798404298005  # per sqrt(second)


@dataclass(frozen=True, slots=True)
class OuFit:
    theta_per_s: float
    mu: float
    sigma: float  # per sqrt(second)
    b: float


def fit_ou(series: Sequence[Sequence[float]], step_s: float) -> OuFit:
    """OLS fit of B[k+1] = a + b·B[k] + ε over several separate series (pairs never cross series)."""
    x = np.concatenate([np.asarray(s[:-1], dtype=np.float64) for s in series])
    y = np.concatenate([np.asarray(s[1:], dtype=np.float64) for s in series])
    design = np.vstack([np.ones_like(x), x]).T
    (a, b), *_ = np.linalg.lstsq(design, y, rcond=None)
    if not 0 < b < 1:
        raise ValueError(f"not mean-reverting (b = {b:.4f})")
    eps = y - (a + b * x)
    theta = -math.log(b) / step_s
    sigma = float(np.std(eps)) * math.sqrt(2 * theta / (1 - b * b))
    return OuFit(theta, float(a / (1 - b)), sigma, float(b))


class BasisProcess:
    """An exact OU discretisation, seeded so a replay is reproducible."""

    def __init__(
        self,
        seed: int,
        start_bps: float = 0.0,
        theta_per_s: float = OU_THETA_PER_S,
        mu_bps: float = OU_MU_BPS,
        sigma_bps: float = OU_SIGMA_BPS,
    ) -> None:
        self._rng = np.random.default_rng(seed)
        self.bps = start_bps
        self._theta = theta_per_s
        self._mu = mu_bps
        self._sigma = sigma_bps

    def step(self, dt_s: float) -> float:
        """Advance by `dt_s` replay seconds and return the new basis in bps."""
        if dt_s <= 0:
            return self.bps
        decay = math.exp(-self._theta * dt_s)
        sd = self._sigma * math.sqrt((1 - decay * decay) / (2 * self._theta))
        self.bps = self._mu + (self.bps - self._mu) * decay + sd * float(self._rng.standard_normal())
        return self.bps


def spot_from_perp(perp: float, basis_bps: float) -> float:
    """Invert basis = (spot − perp) / spot."""
    return perp / (1 - basis_bps / 1e4)
