"""Delta, hedge ratio, beta hedge and volatility-targeted hedging (risk-formulas §1 and §9).

Why signed base units throughout: a hedged book is long spot and short perp, and the only honest
way to add those up is with signs (long > 0, short < 0) in the same unit (BTC). USD figures are
derived from them at the relevant price.
"""

from __future__ import annotations

import math

import msgspec
import numpy as np

from monitor.risk._num import FloatArray, Num, as_float, like, quiet
from monitor.risk.reasons import Reason

__all__ = [
    "BetaHedge",
    "beta_hedge",
    "beta_hedge_qty",
    "contracts_for_full_hedge",
    "hedge_deviation",
    "hedge_ratio",
    "net_delta",
    "net_delta_usd",
    "recommended_hedge",
    "vol_target_exposure",
]


def net_delta(holdings: FloatArray | float, spot: FloatArray | float, perp: FloatArray | float) -> float:
    """Net delta in base units = Σ off-exchange holdings + Σ spot balances + Σ perp q."""
    return float(np.sum(as_float(holdings)) + np.sum(as_float(spot)) + np.sum(as_float(perp)))


def net_delta_usd(q: FloatArray, price: FloatArray) -> float:
    """Net delta in USD = Σ q_i·price_i (each leg at its own price); NaN if a price is ≤ 0 or NaN."""
    qq, p = as_float(q), as_float(price)
    with quiet():
        return float(np.sum(np.where(p > 0, qq * p, np.nan)))


def hedge_ratio(perp_q: FloatArray | float, spot_q: float) -> float:
    """HR = −(Σ perp q) / spot q: 1 is a full hedge, 0 none, > 1 over-hedged; NaN for spot q = 0."""
    total = float(np.sum(as_float(perp_q)))
    return -total / spot_q if spot_q != 0 and math.isfinite(spot_q) else math.nan


def contracts_for_full_hedge(spot_value: Num, contract_value: Num | float) -> Num:
    """n = −spot value / value of one contract. Example: 1,000 BTC @ 70,000, 1 BTC contract → −1,000."""
    s, c = as_float(spot_value), as_float(contract_value)
    with quiet():
        out = np.where(c > 0, -s / c, np.nan)
    return like(spot_value, out)


def beta_hedge_qty(beta: Num, value_a: Num | float, price_b: Num | float, fraction: float = 1.0) -> Num:
    """q_B = −h·β·V_A / P_B. Example: V_A 10,000,000, β 0.9, P_B 50,000, h 0.8 → −144 BTC."""
    b, v, p = as_float(beta), as_float(value_a), as_float(price_b)
    with quiet():
        out = np.where(p > 0, -fraction * b * v / p, np.nan)
    return like(beta, out)


class BetaHedge(msgspec.Struct, frozen=True, kw_only=True):
    """A proxy hedge of asset A with perp B from aligned returns; R² is the hedge effectiveness."""

    beta: float
    r2: float
    qty: float  # q_B, signed base units of B
    n_obs: int
    reason: Reason


def beta_hedge(
    r_a: FloatArray,
    r_b: FloatArray,
    value_a: float,
    price_b: float,
    *,
    fraction: float = 1.0,
    window: int | None = None,
    min_obs: int = 20,
) -> BetaHedge:
    """β = cov(r_A, r_B) / var(r_B) over the last `window` aligned returns (pairs with a NaN dropped).

    Why R² beside β: a β from uncorrelated returns hedges nothing; R² says how much of A's
    variance the hedge removes.
    """
    a, b = as_float(r_a).ravel(), as_float(r_b).ravel()
    if a.size != b.size:
        return BetaHedge(beta=math.nan, r2=math.nan, qty=math.nan, n_obs=0, reason=Reason.BAD_PARAMETER)
    if window is not None:
        a, b = a[-window:], b[-window:]
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    n = int(a.size)
    if n < max(min_obs, 3):
        return BetaHedge(beta=math.nan, r2=math.nan, qty=math.nan, n_obs=n, reason=Reason.EMPTY_HISTORY)
    da, db = a - a.mean(), b - b.mean()
    vb, va = float(db @ db), float(da @ da)
    if vb == 0.0 or va == 0.0:
        return BetaHedge(beta=math.nan, r2=math.nan, qty=math.nan, n_obs=n, reason=Reason.ZERO_VOLATILITY)
    cov = float(da @ db)
    beta = cov / vb
    qty = beta_hedge_qty(beta, value_a, price_b, fraction)
    reason = Reason.OK if math.isfinite(qty) else Reason.NON_POSITIVE_PRICE
    return BetaHedge(beta=beta, r2=cov * cov / (va * vb), qty=qty, n_obs=n, reason=reason)


def vol_target_exposure(target_vol: Num, forecast_vol: Num | float) -> Num:
    """Exposure = min(1, target / forecast). Example: 20 % / 60 % → 0.333; 20 % / 80 % → 0.25.

    NaN for a forecast ≤ 0 (a zero forecast is a dead feed, not infinite leverage).
    """
    t, f = as_float(target_vol), as_float(forecast_vol)
    with quiet():
        out = np.where((f > 0) & (t >= 0), np.minimum(1.0, t / f), np.nan)
    return like(target_vol, out)


def recommended_hedge(target_vol: Num, forecast_vol: Num | float) -> Num:
    """Recommended hedge ratio = 1 − exposure (20 % / 60 % → 0.667; 20 % / 80 % → 0.75)."""
    return like(target_vol, 1.0 - as_float(vol_target_exposure(as_float(target_vol), as_float(forecast_vol))))


def hedge_deviation(current_hr: Num, recommended_hr: Num | float) -> Num:
    """|current HR − recommended HR|; a breach is deviation > tolerance (a rule, not this function)."""
    return like(current_hr, np.abs(as_float(current_hr) - as_float(recommended_hr)))
