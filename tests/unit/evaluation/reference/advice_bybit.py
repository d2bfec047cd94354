"""The top-up for a shock on a venue with Bybit's margin model (see `risk.bybit_liquidation`).

Why not `risk.topup`: that solves Binance's requirement, maintenance margin re-tiered at the
shocked notional. Bybit keeps `positionMM` at the *entry* value, so a shock moves equity and
nothing else; the top-up is what brings equity back to that fixed MM:

* isolated: max(0, MM − balance − q·(P* − EP)), P* = mark·(1 − sign(q)·shock);
* cross: the worse of a uniform move up and down of max(0, ΣMM − wallet − Σ q·(P* − EP)),
  the wallet being the unified one less the isolated position balances it also holds (those
  stand behind their own positions only), as the stress table counts it.

Pure: positions, marks and tiers in, numbers and reasons out.
"""

from __future__ import annotations

import math

import numpy as np

from monitor.evaluation.account_bybit import bybit_mm
from monitor.records import LeverageTiers, Position
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


def bybit_isolated_topup(
    p: Position, mark: float, tiers: LeverageTiers | None, shock: float
) -> tuple[float, str]:
    """Collateral for this isolated position to stand an adverse `shock` with its entry-valued MM."""
    mm = bybit_mm(p, _brackets(tiers))
    if not math.isfinite(mm):
        return math.nan, "missing_tier"
    q = p.qty * p.contract_size
    shocked = mark * (1.0 - math.copysign(shock, q))
    if not (mark > 0 and shocked > 0 and p.entry_price > 0 and math.isfinite(p.isolated_wallet)):
        return math.nan, "not_available"
    return max(0.0, mm - p.isolated_wallet - q * (shocked - p.entry_price)), ""


def bybit_cross_topup(
    cross: list[tuple[Position, float, LeverageTiers | None]], wallet: float, shock: float
) -> tuple[float, str]:
    """(position, mark, tiers) of an account's cross legs; `wallet` its cross share of the unified wallet."""
    if not math.isfinite(wallet):
        return math.nan, "nan_input"
    if not cross:
        return 0.0, ""
    mm = [bybit_mm(p, _brackets(t)) for p, _m, t in cross]
    untiered = [p.symbol for (p, _m, _t), x in zip(cross, mm, strict=True) if not math.isfinite(x)]
    if untiered:
        return math.nan, f"missing_tier: {', '.join(untiered)}"
    if not all(m > 0 for _p, m, _t in cross):
        return math.nan, f"no_mark: {', '.join(p.symbol for p, m, _t in cross if not m > 0)}"
    worst = 0.0
    for s in (shock, -shock):
        upnl = sum(p.qty * p.contract_size * (m * (1.0 + s) - p.entry_price) for p, m, _t in cross)
        worst = max(worst, sum(mm) - wallet - upnl)
    return worst, ""
