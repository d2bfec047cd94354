"""The top-up for a shock on a venue with Bybit's margin model (see `risk.bybit_liquidation`).

Bybit values `positionMM` on the mark since 2025-09-02 (docs/venues/bybit-linear.md), so at a
shocked price P* the requirement is MM(P*), re-tiered at the shocked value and floored at 0; the
top-up is what brings equity back to it:

* isolated: max(0, MM(P*) − balance − q·(P* − EP)), P* = mark·(1 − sign(q)·shock);
* cross: the worse of a uniform move up and down of max(0, ΣMM(P*) − wallet − Σ q·(P* − EP)),
  the wallet being the unified one less the isolated position balances it also holds (those
  stand behind their own positions only), as the stress table counts it.

What stays Bybit's own beside Binance's `risk.topup`: the unified wallet, the MM floor at 0 and
the NaN side of a cross move counting as 0. Pure: positions, marks and tiers in, numbers and
reasons out.
"""

from __future__ import annotations

import math

import numpy as np

from monitor.evaluation.account_bybit import bybit_mm
from monitor.records import LeverageTiers, Position
from monitor.risk.bybit_liquidation import bybit_position_mm
from monitor.risk.margin import Brackets, brackets

__all__ = ["bybit_cross_topup", "bybit_isolated_topup"]


def _brackets(t: LeverageTiers | None) -> Brackets | None:
    if t is None or not t.brackets:
        return None
    bs = t.brackets
    return brackets(
        np.array([b.floor for b in bs]),
        np.array([b.mmr for b in bs]),
        caps=np.array([b.cap for b in bs]),
        cums=np.array([b.cum for b in bs]),
    )


def _mm_at(p: Position, b: Brackets | None, price: float) -> float:
    """MM of `p` at `price` (its shocked mark), tier at that value, floored at 0; NaN without tiers."""
    if b is None:
        return math.nan
    return float(bybit_position_mm(p.qty * p.contract_size, price, b.floors, b.mmrs, b.cums))


def bybit_isolated_topup(
    p: Position, mark: float, tiers: LeverageTiers | None, shock: float
) -> tuple[float, str]:
    """Collateral for this isolated position to stand an adverse `shock`, MM re-valued at the shock."""
    b = _brackets(tiers)
    if not math.isfinite(bybit_mm(p, b)):
        return math.nan, "missing_tier"
    q = p.qty * p.contract_size
    shocked = mark * (1.0 - math.copysign(shock, q))
    if not (mark > 0 and shocked > 0 and p.entry_price > 0 and math.isfinite(p.isolated_wallet)):
        return math.nan, "not_available"
    return max(0.0, _mm_at(p, b, shocked) - p.isolated_wallet - q * (shocked - p.entry_price)), ""


def bybit_cross_topup(
    cross: list[tuple[Position, float, LeverageTiers | None]], wallet: float, shock: float
) -> tuple[float, str]:
    """(position, mark, tiers) of an account's cross legs; `wallet` its cross share of the unified wallet."""
    if not math.isfinite(wallet):
        return math.nan, "nan_input"
    if not cross:
        return 0.0, ""
    bs = [_brackets(t) for _p, _m, t in cross]
    mm = [bybit_mm(p, b) for (p, _m, _t), b in zip(cross, bs, strict=True)]
    untiered = [p.symbol for (p, _m, _t), x in zip(cross, mm, strict=True) if not math.isfinite(x)]
    if untiered:
        return math.nan, f"missing_tier: {', '.join(untiered)}"
    if not all(m > 0 for _p, m, _t in cross):
        return math.nan, f"no_mark: {', '.join(p.symbol for p, m, _t in cross if not m > 0)}"
    worst = 0.0
    for s in (shock, -shock):
        mm_s = sum(_mm_at(p, b, m * (1.0 + s)) for (p, m, _t), b in zip(cross, bs, strict=True))
        upnl = sum(p.qty * p.contract_size * (m * (1.0 + s) - p.entry_price) for p, m, _t in cross)
        worst = max(worst, mm_s - wallet - upnl)
    return worst, ""
