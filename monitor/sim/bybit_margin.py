"""Bybit's margin arithmetic for linear perpetuals, as pure functions (venues.md §3.5, §5).

Bybit values a position at its *entry* (`positionValue = size × avgPrice`) and takes the risk tier,
initial margin (`value / leverage`) and maintenance margin (`value × mmr − mmDeduction`) from that
value; the `*ByMp` variants of the position list redo the same at mark. Isolated, the position holds
`positionBalance` (its initial margin plus any margin added) and is liquidated when balance + UPnL
falls to its maintenance margin. Solving that for the price gives the venue's documented formula:
long `LP = EP × (1 − IMR + MMR) − extra / size`, short `LP = EP × (1 + IMR − MMR) + extra / size`
(long 1 BTC @ 10,000, 50x, MMR 0.5 % → 9,850). The bankruptcy price is where the balance is gone.
Cross (unified margin), the account is liquidated when equity (wallet + every UPnL) falls to the
sum of maintenance margins; a position's `liqPrice` is its own mark that reaches that point with
every other mark held: `LP = mark − (equity − ΣMM) / q` (q signed). A price at or below zero means
"no price liquidates it" (the venue then sends "").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from monitor.sim.bybit_symbols import RiskTier, tier_for_value

__all__ = [
    "BybitPositionFigures",
    "bust_price",
    "classic_isolated_liq_price",
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
    im: float  # positionIM: value / leverage
    im_mp: float
    mm: float  # positionMM: value × mmr − deduction, tier at value
    mm_mp: float
    tier: RiskTier


def maint_margin(value: float, tiers: tuple[RiskTier, ...]) -> tuple[float, RiskTier]:
    tier = tier_for_value(tiers, value)
    return max(0.0, abs(value) * tier.mmr - tier.deduction), tier


def position_figures(
    qty: float, entry: float, mark: float, leverage: float, tiers: tuple[RiskTier, ...]
) -> BybitPositionFigures:
    size = abs(qty)
    value, value_mp = size * entry, size * mark
    mm, tier = maint_margin(value, tiers)
    mm_mp, _ = maint_margin(value_mp, tiers)
    return BybitPositionFigures(
        value=value,
        value_mp=value_mp,
        upnl=qty * (mark - entry),
        im=value / leverage,
        im_mp=value_mp / leverage,
        mm=mm,
        mm_mp=mm_mp,
        tier=tier,
    )


def isolated_liq_price(qty: float, entry: float, balance: float, mm: float) -> float:
    """Where balance + qty × (P − entry) = mm; 0.0 when that is not a positive price."""
    if qty == 0:
        return 0.0
    lp = entry - (balance - mm) / qty
    return lp if lp > 0 else 0.0


def bust_price(qty: float, entry: float, balance: float) -> float:
    """Where the isolated balance is exactly used up."""
    if qty == 0:
        return 0.0
    bp = entry - balance / qty
    return bp if bp > 0 else 0.0


def classic_isolated_liq_price(
    long: bool, entry: float, leverage: float, mmr: float, extra_margin: float, size: float
) -> float:
    """The help-centre formula, kept separate so a test can check the engine against it."""
    imr = 1.0 / leverage
    if long:
        return entry * (1 - imr + mmr) - extra_margin / size
    return entry * (1 + imr - mmr) + extra_margin / size


def cross_liq_price(qty: float, mark: float, equity: float, total_mm: float) -> float:
    """The mark of this position at which account equity meets total maintenance margin."""
    if qty == 0:
        return 0.0
    lp = mark - (equity - total_mm) / qty
    return lp if lp > 0 else 0.0


def round_liq_price(lp: float, qty: float, tick: str) -> float:
    """To the symbol's tick, towards the mark: a long is liquidated a hair early, never late."""
    if lp <= 0:
        return 0.0
    step = float(tick)
    decimals = len(tick.partition(".")[2])
    units = lp / step
    n = math.ceil(units - 1e-9) if qty > 0 else math.floor(units + 1e-9)
    return round(n * step, decimals)
