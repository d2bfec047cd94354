"""Bybit's liquidation model for linear USDT perpetuals (venues.md §3.5, §5; help article 900000181046).

Why a second model beside Binance's (`liquidation.py`): Bybit values a position at its *entry*
(`positionValue = size × avgPrice`) and takes the risk tier and the maintenance margin
(`positionMM = value × mmr − mmDeduction`) from that value, so MM does not move with the price
and the liquidation price is linear, with no re-tiering at the LP. Binance's formula, which
re-tiers MM at the LP, lands 0.0075 % away on the documented example (9,849.25 vs 9,850) — small,
but a divergence alert compares the two, and it must compare like with like.

* Isolated: the position holds `positionBalance` (its initial margin plus any margin added) and
  is liquidated where balance + UPnL = MM, i.e. ``LP = EP − (balance − MM) / q`` (q signed). With
  balance = IM = size·EP/leverage and no deduction this is the help-centre form: long
  ``EP·(1 − IMR + MMR) − extra/size``, short ``EP·(1 + IMR − MMR) + extra/size``.
  Example: long 1 BTC @ 10,000, 50×, MMR 0.5 % → 9,850.
* Cross (unified margin): the account is liquidated when equity (wallet + every UPnL at mark)
  falls to the sum of MM; one position's LP is its mark that gets there with every other mark
  held: ``LP = mark − (equity − ΣMM) / q``.

An LP at or below zero means no price liquidates the position: NaN (the venue sends "").
"""

from __future__ import annotations

import numpy as np

from monitor.risk._num import FloatArray, Num, as_float, like, quiet
from monitor.risk.margin import maintenance_margin

__all__ = [
    "bybit_classic_isolated_liquidation_price",
    "bybit_cross_liquidation_price",
    "bybit_isolated_liquidation_price",
    "bybit_position_mm",
]


def bybit_position_mm(
    qty: Num, entry: Num | float, floors: FloatArray, mmrs: FloatArray, deductions: FloatArray
) -> Num:
    """`positionMM` = value·mmr − mmDeduction, value = |q|·entry, tier at that value; NaN without a tier."""
    value = np.abs(as_float(qty)) * as_float(entry)
    mm = as_float(maintenance_margin(value, floors, mmrs, deductions))
    return like(qty, np.maximum(mm, 0.0))


def bybit_isolated_liquidation_price(
    qty: Num, entry: Num | float, balance: Num | float, mm: Num | float
) -> Num:
    """LP = EP − (balance − MM)/q: where the isolated balance plus UPnL meets the entry-valued MM."""
    q, ep = as_float(qty), as_float(entry)
    with quiet():
        lp = ep - (as_float(balance) - as_float(mm)) / q
        out = np.where((q != 0) & (ep > 0) & (lp > 0), lp, np.nan)
    return like(qty, out)


def bybit_classic_isolated_liquidation_price(
    qty: Num, entry: Num | float, leverage: Num | float, mmr: Num | float, extra_margin: Num | float = 0.0
) -> Num:
    """Help-centre form: long EP·(1 − 1/lev + MMR) − extra/size; short EP·(1 + 1/lev − MMR) + extra/size."""
    q, ep, lev = as_float(qty), as_float(entry), as_float(leverage)
    size = np.abs(q)
    with quiet():
        imr = 1.0 / lev
        long_lp = ep * (1 - imr + as_float(mmr)) - as_float(extra_margin) / size
        short_lp = ep * (1 + imr - as_float(mmr)) + as_float(extra_margin) / size
        lp = np.where(q > 0, long_lp, short_lp)
        out = np.where((q != 0) & (ep > 0) & (lev > 0) & (lp > 0), lp, np.nan)
    return like(qty, out)


def bybit_cross_liquidation_price(
    qty: Num, mark: Num | float, equity: Num | float, total_mm: Num | float
) -> Num:
    """LP = mark − (equity − ΣMM)/q: this position's mark at which the account's equity meets ΣMM."""
    q, m = as_float(qty), as_float(mark)
    with quiet():
        lp = m - (as_float(equity) - as_float(total_mm)) / q
        out = np.where((q != 0) & (m > 0) & (lp > 0), lp, np.nan)
    return like(qty, out)
