"""Hyperliquid's perpetuals margin model: margin tiers, the documented LP, hourly funding (venues-next §d).

Why its own module: Hyperliquid states its maintenance margin as *half the initial margin at max
leverage* (mmr = 1/(2·maxLeverage)) [doc], tiers it by notional with Binance-style deductions
(``deduction_n = deduction_{n−1} + lowerBound_n·(mmr_n − mmr_{n−1})``) [doc], and publishes its own
liquidation price [doc]::

    liq_price = price − side·margin_available / position_size / (1 − l·side)
    margin_available = account_value − MM (cross) | isolated_margin − MM (isolated)

with ``l`` the mmr of the tier *at the liquidation price*. The subtlety: the expression is exact only
when MM is taken with that tier's rate **and deduction** [derived]; the docs do not say so. Here
every tier of every position is solved at once and the self-consistent one is kept (the notional at
its LP lies in it): with consistent deductions MM is continuous in price, so that tier is unique.

Funding is paid hourly on the **oracle** price, not the mark, at 1/8 of the 8-hour rate
``F = P̄ + clamp(0.01 % − P̄, −0.05 %, +0.05 %)``, capped at 4 %/hour [doc].

Worked example (the docs' `clearinghouseState`): isolated ETH long 0.0335, positionValue 100.02765
(mark 2,985.9), marginUsed 4.967826, maxLeverage 50 → l = 0.01, margin_available 3.9675495,
LP = 2,866.26938 against `liquidationPx` 2866.26936529 (5e-9: the inputs are rounded to 6 dp).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from monitor.risk._num import FloatArray, IntArray, Num, as_float, like, quiet
from monitor.risk.margin import Brackets, brackets
from monitor.risk.reasons import Reason, ReasonArray
from monitor.risk.tiers import TierTable, tier_table

__all__ = [
    "HL_FUNDING_CLAMP",
    "HL_HOURLY_FUNDING_CAP",
    "HL_INTEREST_8H",
    "HlLiquidationArrays",
    "hl_brackets",
    "hl_funding_payment",
    "hl_funding_rate_8h",
    "hl_hourly_funding_rate",
    "hl_liquidation_price",
    "hl_liquidation_prices",
    "hl_maintenance_rate",
    "hl_premium",
    "hl_single_tier",
]

HL_INTEREST_8H = 0.0001  # 0.01 % per 8 h: the interest leg of F [doc]
HL_FUNDING_CLAMP = 0.0005  # ±0.05 % on (interest − premium) [doc]
HL_HOURLY_FUNDING_CAP = 0.04  # 4 %/hour [doc]


def hl_maintenance_rate(max_leverage: Num) -> Num:
    """mmr = 1/(2·maxLeverage): half the initial margin at max leverage (40× → 1.25 %) [doc]; NaN if ≤ 0."""
    lev = as_float(max_leverage)
    with quiet():
        out = np.where(lev > 0, 0.5 / lev, np.nan)
    return like(max_leverage, out)


def hl_brackets(
    lower_bounds: Sequence[float] | FloatArray, max_leverages: Sequence[float] | FloatArray
) -> Brackets:
    """One `marginTiers[{lowerBound, maxLeverage}]` table as `Brackets`: rates halved, deductions recursed.

    Example D2 ("tiered 10x"): 0 at 10×, 3 M at 5× → mmr 5 %, 10 %; deductions 0, 150,000.
    """
    lev = np.array(max_leverages, dtype=np.float64)
    return brackets(
        np.array(lower_bounds, dtype=np.float64), as_float(hl_maintenance_rate(lev)), max_leverage=lev
    )


def hl_single_tier(max_leverage: float) -> Brackets:
    """One tier at `max_leverage`: no table, or a `marginTableId` below 50 (the id is the leverage) [doc]."""
    return hl_brackets([0.0], [max_leverage])


class HlLiquidationArrays(NamedTuple):
    """Vectorised LPs: price (NaN unless the reason has a value), the tier used at the LP, a `Reason`."""

    price: FloatArray
    tier: IntArray
    reason: ReasonArray


def hl_liquidation_prices(
    szi: FloatArray,
    mark: FloatArray,
    margin: FloatArray,
    table: TierTable,
    sym: IntArray,
    *,
    other_mm: FloatArray | float = 0.0,
) -> HlLiquidationArrays:
    """Hyperliquid's documented LP for many positions, each MM taken at the tier of its own LP.

    Cross: `margin` = `crossMarginSummary.accountValue`, `other_mm` = the cross MM of the account's
    other positions (`crossMaintenanceMarginUsed` less this one's; `liquidation.cross_others`).
    Isolated: `margin` = the position's `marginUsed` (= `rawUsd` + szi·mark, upl included), `other_mm` 0.
    `table` rows come from `hl_brackets`; `sym` picks each position's row.

    Reasons: NAN_INPUT, NO_POSITION, NON_POSITIVE_PRICE, MISSING_TIER (row outside the table or empty),
    NOT_LIQUIDATABLE (no positive price: the venue sends null), ALWAYS_LIQUIDATABLE, PAST_LIQUIDATION
    (a value: account value < MM already at the mark, the venue's strict test).
    """
    q, p, w = np.broadcast_arrays(as_float(szi), as_float(mark), as_float(margin))
    om = np.broadcast_to(as_float(other_mm), q.shape)
    q, p, w, om = (np.atleast_1d(a) for a in (q, p, w, om))
    s = np.atleast_1d(np.broadcast_to(np.asarray(sym, dtype=np.intp), q.shape))
    n_sym = table.floors.shape[0]
    in_table = (s >= 0) & (s < n_sym)
    row = np.where(in_table, s, 0)
    in_table &= table.n_tiers[row] > 0 if n_sym else False
    size, side = np.abs(q), np.sign(q)
    floors = table.floors[row] if n_sym else np.full((q.size, 1), np.inf)
    mmr = table.mmrs[row] if n_sym else np.full((q.size, 1), np.nan)
    ded = table.cums[row] if n_sym else np.full((q.size, 1), np.nan)
    upper = np.concatenate([floors[:, 1:], np.full((q.size, 1), np.inf)], axis=1)
    with quiet():
        base = (w - om)[:, None] - (size * p)[:, None] * mmr + ded  # margin_available per tier
        cand = p[:, None] - side[:, None] * base / size[:, None] / (1 - mmr * side[:, None])
        x = size[:, None] * cand
        good = (floors <= x) & (x < upper) & (cand > 0)
        at_mark = (floors <= (size * p)[:, None]) & ((size * p)[:, None] < upper)
        past = np.any(at_mark & (base < 0), axis=1)
    pick = np.argmax(good, axis=1)
    found = good[np.arange(q.size), pick]
    reason = np.zeros(q.shape, dtype=np.int8)
    finite = np.isfinite(q) & np.isfinite(p) & np.isfinite(w) & np.isfinite(om)
    for mask, why in (
        (~finite, Reason.NAN_INPUT),
        (q == 0, Reason.NO_POSITION),
        (p <= 0, Reason.NON_POSITIVE_PRICE),
        (~in_table, Reason.MISSING_TIER),
    ):
        reason[(reason == 0) & mask] = why
    none = (reason == 0) & ~found
    reason[none] = np.where(past[none], Reason.ALWAYS_LIQUIDATABLE, Reason.NOT_LIQUIDATABLE)
    reason[(reason == 0) & past] = Reason.PAST_LIQUIDATION
    valued = (reason == 0) | (reason == Reason.PAST_LIQUIDATION)
    price = np.where(valued, cand[np.arange(q.size), pick], np.nan)
    return HlLiquidationArrays(price, np.where(valued, pick, -1).astype(np.intp), reason)


def hl_liquidation_price(
    szi: float, mark: float, margin: float, table: Brackets, *, other_mm: float = 0.0
) -> tuple[float, Reason]:
    """One position's LP and reason (`hl_liquidation_prices` on a one-row table), for notebooks and tests."""
    res = hl_liquidation_prices(
        np.array([szi]),
        np.array([mark]),
        np.array([margin]),
        tier_table([table]),
        np.zeros(1, dtype=np.intp),
        other_mm=other_mm,
    )
    return float(res.price[0]), Reason(int(res.reason[0]))


def hl_premium(impact_bid: Num, impact_ask: Num | float, oracle: Num | float) -> Num:
    """premium = [max(impact_bid − oracle, 0) − max(oracle − impact_ask, 0)]/oracle [doc]; NaN: oracle ≤ 0."""
    b, a, o = as_float(impact_bid), as_float(impact_ask), as_float(oracle)
    with quiet():
        out = (np.maximum(b - o, 0.0) - np.maximum(o - a, 0.0)) / o
        out = np.where(o > 0, out, np.nan)
        out = np.where(np.isnan(b) | np.isnan(a), np.nan, out)
    return like(impact_bid, out)


def hl_funding_rate_8h(avg_premium: Num, interest: float = HL_INTEREST_8H) -> Num:
    """The 8-hour rate F = P̄ + clamp(interest − P̄, ±0.05 %) [doc]; P̄ = the hour's mean premium."""
    pr = as_float(avg_premium)
    return like(avg_premium, pr + np.clip(interest - pr, -HL_FUNDING_CLAMP, HL_FUNDING_CLAMP))


def hl_hourly_funding_rate(avg_premium: Num, interest: float = HL_INTEREST_8H) -> Num:
    """The rate paid each hour: F/8, capped at ±4 % [doc]. P̄ = 0 → 0.0000125 (the ctx `funding` baseline)."""
    f8 = as_float(hl_funding_rate_8h(as_float(avg_premium), interest))
    return like(avg_premium, np.clip(f8 / 8.0, -HL_HOURLY_FUNDING_CAP, HL_HOURLY_FUNDING_CAP))


def hl_funding_payment(szi: Num, oracle: Num | float, hourly_rate: Num | float) -> Num:
    """One hour's funding to the holder: −szi·oracle·rate, rate capped at ±4 %/h [doc]; longs pay if rate > 0.

    Why the oracle: Hyperliquid settles funding on the oracle price, not the mark [doc]; the sign is
    `funding.funding_payment`'s (P&L to the position). NaN for NaN inputs or an oracle ≤ 0.
    """
    o = as_float(oracle)
    rate = np.clip(as_float(hourly_rate), -HL_HOURLY_FUNDING_CAP, HL_HOURLY_FUNDING_CAP)
    with quiet():
        out = np.where(o > 0, -as_float(szi) * o * rate, np.nan)
    return like(szi, out)
