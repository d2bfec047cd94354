"""Position sizing advice: the size that meets a volatility target, capped at half-Kelly (seed 003).

Why both: a volatility target keeps the book's risk steady as volatility moves (smaller in a
storm), while the Kelly fraction μ/σ² is the most a positive edge can justify; half of it is the
usual practical cap because μ is estimated badly and full Kelly is ruinous when it is too high.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np

from monitor.risk._num import FloatArray, as_float, quiet
from monitor.risk.reasons import Reason, ReasonArray

__all__ = ["SizingAdvice", "half_kelly_fraction", "sizing_advice", "sizing_columns", "target_vol_notional"]


def target_vol_notional(capital: float, target_vol: float, forecast_vol: float) -> float:
    """Notional whose volatility equals `target_vol` of capital: capital·target / forecast (same period)."""
    if not (forecast_vol > 0) or not (target_vol >= 0) or not math.isfinite(capital):
        return math.nan
    return capital * target_vol / forecast_vol


def half_kelly_fraction(mu: float, var: float) -> float:
    """Half the Kelly fraction, 0.5·μ/σ², from forecast mean and variance of the same period."""
    if not (var > 0) or not math.isfinite(mu):
        return math.nan
    return 0.5 * mu / var


class SizingAdvice(msgspec.Struct, frozen=True, kw_only=True):
    """Recommended notional (≥ 0, long side) and which limit binds: "target_vol" or "half_kelly"."""

    target_vol_notional: float
    half_kelly_notional: float
    recommended_notional: float
    binding: str
    reason: Reason


def sizing_advice(
    capital: float,
    target_vol: float,
    forecast_vol: float,
    *,
    mu: float | None = None,
    var: float | None = None,
) -> SizingAdvice:
    """min(target-vol notional, half-Kelly notional); without a mean forecast only the vol target applies.

    A non-positive μ makes the Kelly cap 0 (no edge, no position). Units: `target_vol` and
    `forecast_vol` on the same horizon (e.g. both annualised); `mu` and `var` per the same period.
    """
    tv = target_vol_notional(capital, target_vol, forecast_vol)
    nan = math.nan
    if math.isnan(tv):
        reason = Reason.ZERO_VOLATILITY if forecast_vol == 0 else Reason.NAN_INPUT
        return SizingAdvice(target_vol_notional=nan, half_kelly_notional=nan, recommended_notional=nan,
                            binding="", reason=reason)  # fmt: skip
    if mu is None or var is None:
        return SizingAdvice(target_vol_notional=tv, half_kelly_notional=nan, recommended_notional=tv,
                            binding="target_vol", reason=Reason.OK)  # fmt: skip
    hk = half_kelly_fraction(mu, var)
    if math.isnan(hk):
        why = Reason.NAN_INPUT if not math.isfinite(mu) else Reason.ZERO_VOLATILITY
        return SizingAdvice(target_vol_notional=tv, half_kelly_notional=nan, recommended_notional=nan,
                            binding="", reason=why)  # fmt: skip
    kelly = max(0.0, hk) * capital
    rec, binding = (tv, "target_vol") if tv <= kelly else (kelly, "half_kelly")
    return SizingAdvice(target_vol_notional=tv, half_kelly_notional=kelly, recommended_notional=rec,
                        binding=binding, reason=Reason.OK)  # fmt: skip


def sizing_columns(
    capital: FloatArray, target_vol: float, forecast_vol: FloatArray, mu: FloatArray, var: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray, ReasonArray]:
    """`sizing_advice` (with a mean forecast) for every position at once: (target-vol, half-Kelly,
    recommended notional, reason code), each element the float `sizing_advice` gives.

    Why: the advice stage sizes every position of the desk each tick; one scalar call per position
    was a large share of it.
    """
    c, s, m, v = as_float(capital), as_float(forecast_vol), as_float(mu), as_float(var)
    nan = np.nan
    with quiet():
        tv = np.where((s > 0) & (target_vol >= 0) & np.isfinite(c), c * target_vol / s, nan)
        hk = np.where((v > 0) & np.isfinite(m), 0.5 * m / v, nan)
        kelly = np.where(hk > 0, hk, 0.0) * c
        rec = np.where(tv <= kelly, tv, kelly)
    no_tv, no_hk = np.isnan(tv), np.isnan(hk)
    reason = np.where(
        no_tv,
        np.where(s == 0, Reason.ZERO_VOLATILITY, Reason.NAN_INPUT),
        np.where(no_hk, np.where(np.isfinite(m), Reason.ZERO_VOLATILITY, Reason.NAN_INPUT), Reason.OK),
    ).astype(np.int8)
    hk_out = np.where(no_tv | no_hk, nan, kelly)
    rec_out = np.where(no_tv | no_hk, nan, rec)
    return tv, hk_out, rec_out, reason
