"""The venue's liquidation price, found numerically rather than by the closed-form FAQ formula.

perpmon's risk module implements Binance's closed form; the simulator must not share it, or a bug
in one would hide in the other. Here the LP is the price where margin balance equals total
maintenance margin, each tier re-chosen *at that price*, located by bisection to machine precision.
Cross: every cross position on the same symbol moves with the price (hedge legs share one LP), the
others stay at their marks. Isolated: only the position and its isolated wallet count.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

from monitor.sim.binance.margin import maint_margin
from monitor.sim.book import Position
from monitor.sim.brackets import Bracket

__all__ = ["bisect_root", "liquidation_price"]

_MAX_PRICE = 1e13


def bisect_root(f: Callable[[float], float], lo: float, hi: float) -> float:
    """Bisect [lo, hi] (f changes sign) until the interval cannot shrink in floating point."""
    flo = f(lo)
    for _ in range(4000):
        mid = lo + (hi - lo) / 2
        if mid <= lo or mid >= hi:
            break
        fm = f(mid)
        if fm == 0:
            return mid
        if (fm < 0) == (flo < 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return lo if abs(flo) <= abs(f(hi)) else hi


def _sign(x: float) -> int:
    return (x > 0) - (x < 0)


def liquidation_price(
    target: Position,
    positions: Sequence[Position],
    cross_wallet: float,
    marks: Mapping[str, float],
    brackets: Mapping[str, Sequence[Bracket]],
) -> float:
    """The LP of `target` (0.0 when no positive price liquidates it)."""
    if target.margin_mode == "isolated":
        moving = [target]
        base = target.isolated_wallet
    else:
        cross = [p for p in positions if p.margin_mode == "cross"]
        moving = [p for p in cross if p.symbol == target.symbol]
        base = cross_wallet
        for p in cross:
            if p.symbol != target.symbol:
                mark = marks[p.symbol]
                base += p.qty * (mark - p.entry) - maint_margin(p.qty, mark, brackets[p.symbol])
    table = brackets[target.symbol]

    def equity_over_mm(price: float) -> float:
        return base + sum(p.qty * (price - p.entry) - maint_margin(p.qty, price, table) for p in moving)

    mark = marks[target.symbol]
    f_mark = equity_over_mm(mark)
    if f_mark == 0:
        return mark
    roots: list[float] = []
    if _sign(equity_over_mm(0.0)) == -_sign(f_mark):
        roots.append(bisect_root(equity_over_mm, 0.0, mark))
    hi = mark * 2
    while hi < _MAX_PRICE and _sign(equity_over_mm(hi)) == _sign(f_mark):
        hi *= 2
    if hi < _MAX_PRICE:
        roots.append(bisect_root(equity_over_mm, mark, hi))
    roots = [r for r in roots if r > 0 and math.isfinite(r)]
    return min(roots, key=lambda r: abs(r - mark)) if roots else 0.0
