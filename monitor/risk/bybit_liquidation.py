"""Bybit's margin model for linear USDT perpetuals, as the venue runs it since 2025-09-02.

Why this changed: Bybit used to value a position at its *entry* (help article 900000181046, 2024),
so MM did not move with the price and the LP was linear with no re-tiering. Since 2025-09-02
maintenance margin is valued at the **mark** for cross and isolated, cross IM too; isolated IM
stays on the entry, and `positionMM` == `positionMMByMp` in `/v5/position/list` [doc: "The New
Margin Calculation", updated 2025-09-18; venues-next §a.4, §b.2]. perpmon kept the 2024 form
until issue 17; the two LPs differ by a few hundredths of a percent (9,849.25 vs 9,850 on the
help centre's own example), which is what a divergence alert compares against the venue.

* MM(P) = |q|·P·mmr − mmDeduction (+ the estimated fee to close), tier at the value |q|·P. The
  deduction keeps MM continuous across tiers, so this is Binance's tiered MM with cum = deduction.
* Isolated: liquidated where position margin + UPnL(P) = MM(P). Per tier (q signed, s = sign q)::

      LP = (EP − (B − F + ded)/q) / (1 − s·MMR)

  with B the position balance (IM at entry + margin added) and F the estimated fee to close. For
  a long with B = IM + extra: ``LP = (EP − IM/size − extra/size − ded/size)/(1 − MMR)``
  [derived: the inverse article's 2026 formula by the same algebra, venues-next §f.3]. Bybit puts
  F in both IM and MM, so it cancels when B is the venue's `positionBalance` (which holds it).
* Cross (unified margin): equity = wallet + Σ UPnL; the account is liquidated at equity = Σ MM.
  One position's LP moves only its own mark, the others held, re-valuing its own MM at the LP:
  ``LP = (equity − q·mark − others + ded)/(|q|·MMR − q)``, others = Σ MM − own MM at the mark.
  Fees to close are constants in P, so they ride in Σ MM and do not cancel (equity has none).
* The tier is the one in force *at the LP* (solve per tier, keep the self-consistent root, as
  Binance's solver does) [inferred: Bybit's risk limit "adjusts dynamically based on the real-time
  Mark Price"; no article says which tier the LP uses].

An LP at or below zero means no price liquidates the position: NaN (the venue sends "").
"""

from __future__ import annotations

import numpy as np

from monitor.risk._num import FloatArray, IntArray, Num, as_float, like, quiet
from monitor.risk.margin import maintenance_margin

__all__ = [
    "bybit_classic_isolated_liquidation_price",
    "bybit_cross_liquidation_price",
    "bybit_fee_to_close",
    "bybit_isolated_liquidation_price",
    "bybit_isolated_liquidation_price_2024",
    "bybit_isolated_lp_closed",
    "bybit_position_mm",
]


def bybit_position_mm(
    qty: Num, price: Num | float, floors: FloatArray, mmrs: FloatArray, deductions: FloatArray
) -> Num:
    """`positionMM` = value·mmr − mmDeduction, value = |q|·price, tier at that value; NaN without a tier.

    Pass the **mark** (the venue's basis since 2025-09-02); the entry gives the superseded 2024 figure.
    """
    value = np.abs(as_float(qty)) * as_float(price)
    mm = as_float(maintenance_margin(value, floors, mmrs, deductions))
    return like(qty, np.maximum(mm, 0.0))


def bybit_fee_to_close(qty: Num, entry: Num | float, leverage: Num | float, taker_fee: Num | float) -> Num:
    """Bybit's "estimated fee to close" in IM and MM: size·EP·(1 ∓ 1/lev)·taker [doc], − long, + short.

    Why it matters: it is in `positionIM`, `positionMM` and the isolated `positionBalance`; in the
    isolated margin test it stands on both sides and cancels, in cross it is a constant in Σ MM.
    """
    q, ep, lev = as_float(qty), as_float(entry), as_float(leverage)
    with quiet():
        out = np.abs(q) * ep * (1.0 - np.sign(q) / lev) * as_float(taker_fee)
        out = np.where((ep > 0) & (lev > 0), out, np.nan)
    return like(qty, out)


def _column(a: FloatArray, t: int, rows: IntArray | None) -> FloatArray:
    """Tier t of every position: of one table (T,), of each row (n, T), or of table rows `rows`."""
    if rows is not None:
        return np.asarray(a[rows, t], dtype=np.float64)
    return np.asarray(a[..., t], dtype=np.float64)


def _rows_mm(
    value: FloatArray, floors: FloatArray, mmrs: FloatArray, deductions: FloatArray, rows: IntArray | None
) -> FloatArray:
    """value·mmr − deduction at value's tier, floored at 0 (tiers as `_at_lp_tier` takes them)."""
    f = as_float(floors)
    if f.ndim < 2 and rows is None:
        return np.maximum(as_float(maintenance_margin(value, f, mmrs, deductions)), 0.0)
    t = np.full(np.shape(value), -1, dtype=np.intp)
    with quiet():
        for k in range(f.shape[-1]):  # floors ascend, pads are +inf: count the floors ≤ value
            t += _column(f, k, rows) <= value
    ok = t >= 0
    ti = np.where(ok, t, 0)
    if rows is not None:
        m, d = as_float(mmrs)[rows, ti], as_float(deductions)[rows, ti]
    else:
        m = np.take_along_axis(as_float(mmrs), ti[..., None], axis=-1)[..., 0]
        d = np.take_along_axis(as_float(deductions), ti[..., None], axis=-1)[..., 0]
    with quiet():
        return np.where(ok, np.maximum(value * m - d, 0.0), np.nan)


def _at_lp_tier(
    q: FloatArray,
    base: FloatArray,
    floors: FloatArray,
    mmrs: FloatArray,
    deductions: FloatArray,
    rows: IntArray | None = None,
) -> FloatArray:
    """Solve base + q·P = |q|·P·mmr_t − ded_t for every tier t; keep the lowest self-consistent root.

    Why every tier: the root of tier t is only valid if |q|·root lies in tier t; with a continuous
    MM (consistent deductions) exactly one tier qualifies on a one-way position. Tiers are one
    table (T,), one row per position (n, T), or a padded table (n_sym, T) with each position's
    row in `rows` (floor +inf pads are never chosen). One tier at a time: a book's (n, T) matrices
    would be hundreds of MB per tick.
    """
    f, m, d = as_float(floors), as_float(mmrs), as_float(deductions)
    qq, bb = np.broadcast_arrays(as_float(q), as_float(base))
    n_t = f.shape[-1]
    out = np.full(qq.shape, np.nan)
    found = np.zeros(qq.shape, dtype=bool)
    size = np.abs(qq)
    with quiet():
        for t in range(n_t):
            upper = _column(f, t + 1, rows) if t + 1 < n_t else np.inf
            lp = (bb + _column(d, t, rows)) / (size * _column(m, t, rows) - qq)
            v = size * lp
            ok = ~found & (v >= _column(f, t, rows)) & (v < upper) & (lp > 0) & np.isfinite(lp)
            out = np.where(ok, lp, out)
            found |= ok
    return np.asarray(np.where(qq != 0, out, np.nan), dtype=np.float64)


def bybit_isolated_liquidation_price(
    qty: Num,
    entry: Num | float,
    balance: Num | float,
    floors: FloatArray,
    mmrs: FloatArray,
    deductions: FloatArray,
    fee_to_close: Num | float = 0.0,
    *,
    rows: IntArray | None = None,
) -> Num:
    """Isolated LP: balance + q·(P − EP) = MM(P) + fee, MM on the mark value, tier at the LP.

    Tiers: one symbol's table (T,), one padded row per position (n, T), or a book's padded table
    (n_sym, T) with each position's row in `rows` (`tiers.TierTable` floors, mmrs, cums).
    `balance` is the position's margin (IM at entry + margin added); pass `fee_to_close` when the
    balance includes it (the venue's `positionBalance` does) and it cancels. Help-centre example,
    long 1 BTC @ 10,000, 50×, MMR 0.5 %: (10,000 − 200)/0.995 = 9,849.2462 (2024 form: 9,850).
    """
    q, ep = as_float(qty), as_float(entry)
    with quiet():
        base = as_float(balance) - as_float(fee_to_close) - q * ep
        lp = _at_lp_tier(q, base, floors, mmrs, deductions, rows)
        out = np.where(ep > 0, lp, np.nan)
    return like(qty, out)


def bybit_cross_liquidation_price(
    qty: Num,
    mark: Num | float,
    equity: Num | float,
    total_mm: Num | float,
    floors: FloatArray,
    mmrs: FloatArray,
    deductions: FloatArray,
    *,
    rows: IntArray | None = None,
) -> Num:
    """Cross LP: this position's mark where equity meets Σ MM, its own MM re-valued (and re-tiered) there.

    `equity` = wallet + every cross UPnL at the marks, `total_mm` = Σ MM at the marks including
    this position's (fees to close, if counted, inside); tiers as `bybit_isolated_liquidation_price`.
    Equity 1,000, Σ MM 60 (own 2 BTC long at 30,000, 0.1 %): (1,000 − 60,000 − 0)/(0.002 − 2) = 29,529.53.
    """
    q, m = as_float(qty), as_float(mark)
    with quiet():
        own = _rows_mm(np.abs(q) * m, floors, mmrs, deductions, rows)
        base = as_float(equity) - q * m - (as_float(total_mm) - own)
        lp = _at_lp_tier(q, base, floors, mmrs, deductions, rows)
        out = np.where(m > 0, lp, np.nan)
    return like(qty, out)


def bybit_isolated_lp_closed(
    qty: Num,
    entry: Num | float,
    leverage: Num | float,
    mmr: Num | float,
    mm_deduction: Num | float = 0.0,
    extra_margin: Num | float = 0.0,
) -> Num:
    """One tier's closed form: long (EP − IM/size − extra/size − ded/size)/(1 − MMR), short ± mirrored.

    IM = size·EP/lev. The tier must be the one at the LP; `bybit_isolated_liquidation_price` finds it.
    """
    q, ep, lev = as_float(qty), as_float(entry), as_float(leverage)
    size, s = np.abs(q), np.sign(q)
    with quiet():
        per_unit = (size * ep / lev + as_float(extra_margin) + as_float(mm_deduction)) / size
        lp = (ep - s * per_unit) / (1.0 - s * as_float(mmr))
        out = np.where((q != 0) & (ep > 0) & (lev > 0) & (lp > 0), lp, np.nan)
    return like(qty, out)


def bybit_isolated_liquidation_price_2024(
    qty: Num, entry: Num | float, balance: Num | float, mm_entry: Num | float
) -> Num:
    """Superseded (before 2025-09-02): LP = EP − (balance − MM_entry)/q with MM fixed at the entry value.

    Kept only so tests can show the gap to the current model.
    """
    q, ep = as_float(qty), as_float(entry)
    with quiet():
        lp = ep - (as_float(balance) - as_float(mm_entry)) / q
        out = np.where((q != 0) & (ep > 0) & (lp > 0), lp, np.nan)
    return like(qty, out)


def bybit_classic_isolated_liquidation_price(
    qty: Num, entry: Num | float, leverage: Num | float, mmr: Num | float, extra_margin: Num | float = 0.0
) -> Num:
    """Superseded 2024 help-centre form: long EP·(1 − 1/lev + MMR) − extra/size; short mirrored.

    Kept only so tests can show the gap to the current model (9,850 vs 9,849.2462 on its example).
    """
    q, ep, lev = as_float(qty), as_float(entry), as_float(leverage)
    size = np.abs(q)
    with quiet():
        imr = 1.0 / lev
        long_lp = ep * (1 - imr + as_float(mmr)) - as_float(extra_margin) / size
        short_lp = ep * (1 + imr - as_float(mmr)) + as_float(extra_margin) / size
        lp = np.where(q > 0, long_lp, short_lp)
        out = np.where((q != 0) & (ep > 0) & (lev > 0) & (lp > 0), lp, np.nan)
    return like(qty, out)
