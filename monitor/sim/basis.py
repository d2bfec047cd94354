"""An exact Ornstein–Uhlenbeck process in bps and the OLS fit of risk-formulas.md §2.

The simulated market's premium lives in `premium.py`; this module keeps the plain OU pieces it and
others use: Bybit's venue spread (`bybit/market.py`) is one, and `fit_ou` is the recipe the
risk-formulas check exercises. The process runs in *replay* time, so a fast replay reverts as fast
as the real one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["BasisProcess", "OuFit", "fit_ou", "spot_from_perp"]


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
        theta_per_s: float = math.log(2) / 3600.0,
        mu_bps: float = 0.0,
        sigma_bps: float = 0.1,
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
