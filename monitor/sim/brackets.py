"""Leverage brackets (maintenance-margin tiers) per symbol, with the venue's `cum` recursion.

`cum` is what makes maintenance margin continuous across tiers:
`cum_n = cum_{n-1} + floor_n × (mmr_n − mmr_{n−1})`. The BTCUSDT table gives 0 / 50 / 1,300 /
16,300 for its first four tiers (Binance FAQ). The ETHUSDT table is the one behind Binance's own
liquidation example (mmr 10 %, cum 135,365 at a 2M floor), so that example holds here as published.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from monitor.sim.numfmt import q8

__all__ = ["BRACKETS", "Bracket", "build_brackets", "max_notional_for_leverage", "tier_for"]


@dataclass(frozen=True, slots=True)
class Bracket:
    bracket: int  # 1-based, as the venue numbers them
    floor: float  # notionalFloor, inclusive
    cap: float  # notionalCap, exclusive
    mmr: float  # maintMarginRatio
    cum: float  # maintenance amount deducted at this tier
    max_leverage: int  # initialLeverage


def build_brackets(
    floors: Sequence[float], mmrs: Sequence[float], leverages: Sequence[int], last_cap: float
) -> tuple[Bracket, ...]:
    """Build a table from its floors; each cap is the next floor, cum follows the recursion."""
    if not (len(floors) == len(mmrs) == len(leverages)) or not floors or floors[0] != 0:
        raise ValueError("a bracket table needs equal-length floors/mmrs/leverages starting at 0")
    caps = [*floors[1:], last_cap]
    out: list[Bracket] = []
    cum = 0.0
    for i, (floor, mmr, lev, cap) in enumerate(zip(floors, mmrs, leverages, caps, strict=True)):
        if i:
            cum = q8(cum + floor * (mmr - mmrs[i - 1]))
        out.append(Bracket(i + 1, float(floor), float(cap), mmr, cum, lev))
    return tuple(out)


def tier_for(brackets: Sequence[Bracket], notional: float) -> Bracket:
    """The tier with floor ≤ |notional| < cap; beyond the last cap the last tier still applies."""
    n = abs(notional)
    for b in brackets:
        if n < b.cap:
            return b
    return brackets[-1]


def max_notional_for_leverage(brackets: Sequence[Bracket], leverage: float) -> float:
    """The largest notional still allowed at `leverage` (v2 positionRisk `maxNotionalValue`)."""
    allowed = [b.cap for b in brackets if b.max_leverage >= leverage]
    return max(allowed) if allowed else 0.0


_M = 1_000_000.0

BRACKETS: dict[str, tuple[Bracket, ...]] = {
    "BTCUSDT": build_brackets(
        [0, 50_000, 250_000, 1 * _M, 10 * _M, 20 * _M, 50 * _M, 100 * _M, 200 * _M, 300 * _M],
        [0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15, 0.25, 0.50],
        [125, 100, 50, 20, 10, 5, 4, 3, 2, 1],
        500 * _M,
    ),
    "ETHUSDT": build_brackets(
        [0, 10_000, 100_000, 500_000, 1 * _M, 2 * _M, 5 * _M, 10 * _M, 20 * _M, 50 * _M],
        [0.005, 0.0065, 0.01, 0.02, 0.05, 0.10, 0.125, 0.15, 0.25, 0.50],
        [100, 75, 50, 25, 10, 5, 4, 3, 2, 1],
        100 * _M,
    ),
    "SOLUSDT": build_brackets(
        [0, 5_000, 50_000, 250_000, 1 * _M, 5 * _M, 10 * _M, 20 * _M],
        [0.01, 0.015, 0.02, 0.05, 0.10, 0.125, 0.25, 0.50],
        [50, 25, 20, 10, 5, 4, 2, 1],
        50 * _M,
    ),
    "XRPUSDT": build_brackets(
        [0, 5_000, 50_000, 250_000, 1 * _M, 5 * _M, 10 * _M, 20 * _M],
        [0.01, 0.015, 0.02, 0.05, 0.10, 0.125, 0.25, 0.50],
        [50, 25, 20, 10, 5, 4, 2, 1],
        50 * _M,
    ),
}
