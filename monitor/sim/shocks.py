"""Scripted shocks: a market-wide move of `move` (e.g. −20 %) spread over `over_s` from replay time `at_s`.

A shock rewrites the price path rather than the quotes, so it is an ordinary stretch of path: the
market samples its vertices (the account engine sees the bottom even if a tick jumps over it), every
symbol scaled from the path moves with it, spot and index follow through the basis, and a looping
replay meets the same shock again on each pass. The level stays moved after the shock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from monitor.sim.replay import PricePath

__all__ = ["Shock", "apply_shock"]


@dataclass(frozen=True, slots=True)
class Shock:
    at_s: float  # replay seconds from the path's start
    move: float  # fraction: −0.2 is a 20 % fall
    over_s: float = 60.0  # replay seconds the move takes (0: a gap)

    def __post_init__(self) -> None:
        if self.move <= -1.0:
            raise ValueError("a price cannot fall 100 % or more")
        if self.at_s < 0 or self.over_s < 0:
            raise ValueError("a shock starts at or after the path's start and takes >= 0 s")

    def factor(self, t: np.ndarray) -> np.ndarray:
        """Price multiplier at replay times `t`: 1 before, a linear ramp, 1 + move after."""
        if self.over_s == 0:
            return np.where(t < self.at_s, 1.0, 1.0 + self.move)
        frac = np.clip((t - self.at_s) / self.over_s, 0.0, 1.0)
        return 1.0 + self.move * frac


def apply_shock(path: PricePath, shock: Shock) -> PricePath:
    start = float(path.times[0])
    at, end = start + shock.at_s, start + shock.at_s + shock.over_s
    extra = [t for t in (at, end) if start < t < float(path.times[-1])]
    times = np.unique(np.concatenate([path.times, np.asarray(extra, dtype=np.float64)]))
    base = np.interp(times, path.times, path.prices)
    if shock.over_s == 0 and start < at:  # a gap: the old level up to just before `at`
        times = np.unique(np.concatenate([times, [np.nextafter(at, -np.inf)]]))
        base = np.interp(times, path.times, path.prices)
    prices = base * shock.factor(times - start)
    idx = np.searchsorted(path.times, times, side="right") - 1
    cum = path.cum_volume[np.clip(idx, 0, None)]
    volumes = np.diff(np.concatenate([[0.0], cum]))
    return PricePath(times, prices, volumes)
