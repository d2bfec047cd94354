"""Bybit's margin arithmetic for linear perpetuals as the venue runs it since 2025-09-02, as pure functions.

Since "The New Margin Calculation" (2025-09-02, updated 2025-09-18) Bybit values maintenance
margin on the **mark** for cross and isolated, and cross IM too; isolated IM stays on the entry
[doc; venues-next §a.4, §b.2]. So `positionMM` == `positionMMByMp` = value(mark) × mmr −
mmDeduction with the risk tier at the mark value, `positionIM` == `positionIMByMp` in cross, and
`positionValue` stays size × avgPrice. The simulator charges no trading fee, so its "estimated fee
to close" (in IM and MM on the venue) is 0. Before, this engine valued MM at the entry (2024 help
article 900000181046); `classic_isolated_liq_price` keeps that form so tests can show the gap.

Isolated: the position holds `positionBalance` (IM at entry plus margin added) and is liquidated
where balance + UPnL(P) = MM(P); per tier, P = (q·EP − balance − ded)/(q − |q|·mmr) (long 1 BTC
@ 10,000, 50×, MMR 0.5 %: 9,849.2462; the 2024 form gave 9,850). Cross (unified margin): equity
(wallet + every UPnL) meets Σ MM; a position's `liqPrice` is its own mark that gets there with
every other mark held, its own MM re-valued at that mark. Either way the tier is the one at the
LP (solve per tier, keep the root whose value lies in its own tier) [inferred: the risk limit
follows the mark; no article names the LP's tier]. Tiers here are independent of perpmon's
solver (riskLimitValue ranges, `tier_for_value`), so the tests compare two implementations. A
price at or below zero means "no price liquidates it" (the venue then sends "").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from monitor.sim.bybit.symbols import RiskTier, tier_for_value

__all__ = [
    "BybitPositionFigures",
    "bust_price",
    "classic_isolated_liq_price",
    "cross_bust_price",
    "cross_liq_price",
    "isolated_liq_price",
    "maint_margin",
    "position_figures",
    "round_liq_price",
]


@dataclass(frozen=True, slots=True)
class BybitPositionFigures:
    value: float  # positionValue: size × entry
    value_mp: float  # size × mark
    upnl: float
    im: float  # positionIM: cross at the mark value, isolated at the entry value, / leverage
    im_mp: float
    mm: float  # positionMM: value(mark) × mmr − deduction, tier at that value (== mm_mp)
    mm_mp: float
    tier: RiskTier  # the risk tier at the mark value


def maint_margin(value: float, tiers: tuple[RiskTier, ...]) -> tuple[float, RiskTier]:
    tier = tier_for_value(tiers, value)
    return max(0.0, abs(value) * tier.mmr - tier.deduction), tier


def position_figures(
    qty: float,
    entry: float,
    mark: float,
    leverage: float,
    tiers: tuple[RiskTier, ...],
    *,
    isolated: bool = False,
) -> BybitPositionFigures:
    size = abs(qty)
    value, value_mp = size * entry, size * mark
    mm, tier = maint_margin(value_mp, tiers)
    return BybitPositionFigures(
        value=value,
        value_mp=value_mp,
        upnl=qty * (mark - entry),
        im=(value if isolated else value_mp) / leverage,
        im_mp=value_mp / leverage,
        mm=mm,
        mm_mp=mm,
        tier=tier,
    )


def _at_lp_tier(qty: float, base: float, tiers: tuple[RiskTier, ...]) -> float:
    """The root of base + qty·P = |qty|·P·mmr − deduction whose value lies in its own tier; 0.0 if none."""
    size = abs(qty)
    for t in tiers:
        den = size * t.mmr - qty
        if den == 0:
            continue
        p = (base + t.deduction) / den
        if p > 0 and tier_for_value(tiers, size * p) is t:
            return p
    return 0.0


def isolated_liq_price(qty: float, entry: float, balance: float, tiers: tuple[RiskTier, ...]) -> float:
    """Where balance + qty × (P − entry) = MM(P), MM on the value at P; 0.0 when no positive price does."""
    if qty == 0:
        return 0.0
    return _at_lp_tier(qty, balance - qty * entry, tiers)


def bust_price(qty: float, entry: float, balance: float) -> float:
    """Where the isolated balance is exactly used up."""
    if qty == 0:
        return 0.0
    bp = entry - balance / qty
    return bp if bp > 0 else 0.0


def classic_isolated_liq_price(
    long: bool, entry: float, leverage: float, mmr: float, extra_margin: float, size: float
) -> float:
    """The 2024 help-centre formula (MM at the entry value), superseded: kept so tests show the gap."""
    imr = 1.0 / leverage
    if long:
        return entry * (1 - imr + mmr) - extra_margin / size
    return entry * (1 + imr - mmr) + extra_margin / size


def cross_liq_price(
    qty: float, mark: float, equity: float, total_mm: float, tiers: tuple[RiskTier, ...]
) -> float:
    """The mark of this position at which account equity meets Σ MM, its own MM re-valued at that mark."""
    if qty == 0:
        return 0.0
    own, _tier = maint_margin(abs(qty) * mark, tiers)
    return _at_lp_tier(qty, equity - qty * mark - (total_mm - own), tiers)


def cross_bust_price(qty: float, mark: float, equity: float) -> float:
    """The mark of this position at which account equity is gone (every other mark held)."""
    if qty == 0:
        return 0.0
    bp = mark - equity / qty
    return bp if bp > 0 else 0.0


def round_liq_price(lp: float, qty: float, tick: str) -> float:
    """To the symbol's tick, towards the mark: a long is liquidated a hair early, never late."""
    if lp <= 0:
        return 0.0
    step = float(tick)
    decimals = len(tick.partition(".")[2])
    units = lp / step
    n = math.ceil(units - 1e-9) if qty > 0 else math.floor(units + 1e-9)
    return round(n * step, decimals)
