"""Liquidation price: Binance's general formula with re-tiering, scalar and vectorised (risk-formulas §5).

For contract 1 with one-way (BOTH) and hedge (LONG/SHORT) legs:

    LP = (WB − TMM1 + UPNL1 + cumB + cumL + cumS − Side·PosB·EPB − PosL·EPL + PosS·EPS)
         / (PosB·MMR_B + PosL·MMR_L + PosS·MMR_S − Side·PosB − PosL + PosS)

It is the price where margin balance = Σ MM with the other contracts held at their marks
(TMM1, UPNL1; both 0 and WB = the isolated wallet when isolated). MMR and cum depend on the tier
*at the LP*, so the formula is solved again with the LP's tiers until the tiers stop changing.

Why the iteration converges, and what guards it: with consistent brackets (cum from the
recursion) MM is continuous and convex in price, so equity − MM is monotone for a one-way
position and the tier sequence reaches the single consistent tier within `n_tiers + 1` steps.
A published cum that disagrees with the recursion makes MM jump at a tier floor; the iteration
can then oscillate between two tiers. The guard is an exact scan of every tier segment: it keeps
the LPs that lie inside the tier they were computed with (the consistent ones) and, where equity
crosses MM only by the jump, the tier boundary itself (reason TIER_BOUNDARY). Hedge mode with
both legs open always uses the scan, because equity − MM is then concave and can have a root on
each side of the mark; the one nearest the mark (in log distance) is reported, since price
reaches it first.
"""

from __future__ import annotations

import itertools
import math
import threading
from typing import NamedTuple

import msgspec
import numpy as np

from monitor.risk._num import FloatArray, IntArray, as_float, quiet
from monitor.risk.cross_totals import cross_others  # re-exported: the cross LP's TMM1 and UPNL1
from monitor.risk.margin import Brackets, bracket_problem, brackets, tier_index
from monitor.risk.reasons import Reason, ReasonArray
from monitor.risk.tiers import TierTable, tier_lookup_rates

__all__ = ["Liquidation", "LiquidationArrays", "cross_others", "liquidation_price", "liquidation_prices"]


class Liquidation(msgspec.Struct, frozen=True, kw_only=True):
    """One contract's LP; `price` is NaN unless `reason` is OK or a warning (see `reasons`)."""

    price: float
    reason: Reason
    tiers: tuple[int, ...] = ()  # tier of each open leg (BOTH, LONG, SHORT order) at the LP
    iterations: int = 0


class LiquidationArrays(NamedTuple):
    """Vectorised one-way LPs: price (NaN when undefined), tier at the LP, reason code."""

    price: FloatArray
    tier: IntArray
    reason: ReasonArray


class _Legs(NamedTuple):
    size: FloatArray  # absolute sizes
    side: FloatArray  # +1 long, −1 short
    entry: FloatArray


def _linear(legs: _Legs, tiers: IntArray, b: Brackets, base: float) -> float:
    mmr, cum = b.mmrs[tiers], b.cums[tiers]
    num = base + float(np.sum(cum)) - float(np.sum(legs.side * legs.size * legs.entry))
    den = float(np.sum(legs.size * mmr)) - float(np.sum(legs.side * legs.size))
    return num / den if den != 0.0 else math.nan


def _excess(price: float, legs: _Legs, tiers: IntArray, b: Brackets, base: float) -> float:
    """Equity − Σ MM at `price` with fixed tiers (base = WB − TMM1 + UPNL1)."""
    upnl = float(np.sum(legs.side * legs.size * (price - legs.entry)))
    mm = float(np.sum(legs.size * price * b.mmrs[tiers] - b.cums[tiers]))
    return base + upnl - mm


def _tiers_at(price: float, legs: _Legs, b: Brackets) -> IntArray:
    # open-ended last tier: the last cap limits opening a position, not the MM of one that grew
    return tier_index(legs.size * max(price, 0.0), b.floors)


def _scan(legs: _Legs, b: Brackets, base: float) -> list[tuple[float, Reason, IntArray]]:
    """Every consistent root over all tier segments in price (0, ∞)."""
    with quiet():
        cuts = np.unique(np.concatenate([b.floors[1:] / s for s in legs.size]))
    edges = np.concatenate([[0.0], cuts[np.isfinite(cuts)], [math.inf]])
    roots: list[tuple[float, Reason, IntArray]] = []
    prev: IntArray | None = None
    for lo, hi in itertools.pairwise(edges):
        mid = 0.5 * (lo + hi) if math.isfinite(hi) else lo + 1.0
        t = _tiers_at(mid, legs, b)
        if prev is not None and lo > 0:
            left, right = _excess(lo, legs, prev, b, base), _excess(lo, legs, t, b, base)
            if left * right < 0:  # equity crosses MM only through the MM jump at this floor
                roots.append((float(lo), Reason.TIER_BOUNDARY, t))
        p = _linear(legs, t, b, base)
        if math.isfinite(p) and lo <= p < hi and p > 0:
            roots.append((p, Reason.OK, t))
        prev = t
    return roots


def _check(
    mark: float, wallet: float, other_mm: float, other_upnl: float, legs: _Legs, b: Brackets
) -> Reason:
    if not all(math.isfinite(x) for x in (mark, wallet, other_mm, other_upnl)):
        return Reason.NAN_INPUT
    if not (np.all(np.isfinite(legs.size)) and np.all(np.isfinite(legs.entry))):
        return Reason.NAN_INPUT
    if legs.size.size == 0:
        return Reason.NO_POSITION
    if mark <= 0 or np.any(legs.entry <= 0):
        return Reason.NON_POSITIVE_PRICE
    problem = bracket_problem(b)
    if problem not in (Reason.OK, Reason.TIER_BOUNDARY):
        return problem
    if np.any(tier_index(legs.size * mark, b.floors, b.caps) < 0):
        return Reason.MISSING_TIER
    return Reason.OK


def liquidation_price(
    *,
    mark: float,
    wallet: float,
    brackets: Brackets,
    qty: float = 0.0,
    entry: float = math.nan,
    long_qty: float = 0.0,
    long_entry: float = math.nan,
    short_qty: float = 0.0,
    short_entry: float = math.nan,
    other_mm: float = 0.0,
    other_upnl: float = 0.0,
) -> Liquidation:
    """LP of one contract from Binance's general formula, re-tiered at the LP.

    `qty` is the signed one-way (BOTH) position; `long_qty`/`short_qty` are the hedge legs'
    sizes (sign ignored). Cross: `wallet` = cross wallet balance, `other_mm`/`other_upnl` = MM and
    UPnL of all other contracts at their marks. Isolated: `wallet` = isolated wallet, others 0.
    Example (risk-formulas §5, cross): ETHUSDT long 3,683.979 @ 1,456.84, WB 1,535,443.01,
    other MM 71,200.811444, other UPnL −56,354.56848 → 1,153.26.
    """
    raw = [
        (abs(qty), math.copysign(1.0, qty), entry),
        (abs(long_qty), 1.0, long_entry),
        (abs(short_qty), -1.0, short_entry),
    ]
    open_legs = [leg for leg in raw if leg[0] != 0.0]
    legs = _Legs(*(np.array([leg[i] for leg in open_legs], dtype=np.float64) for i in range(3)))
    reason = _check(mark, wallet, other_mm, other_upnl, legs, brackets)
    if reason != Reason.OK:
        return Liquidation(price=math.nan, reason=reason)
    with quiet():  # extreme but finite sizes can overflow intermediate products; results are checked
        return _solve(legs, brackets, wallet - other_mm + other_upnl, mark)


def _solve(legs: _Legs, brackets: Brackets, base: float, mark: float) -> Liquidation:
    tiers = _tiers_at(mark, legs, brackets)
    past = _excess(mark, legs, tiers, brackets, base) < 0
    if legs.size.size == 1:
        for i in range(1, brackets.floors.size + 3):
            p = _linear(legs, tiers, brackets, base)
            nxt = _tiers_at(p, legs, brackets) if math.isfinite(p) else tiers
            if np.array_equal(nxt, tiers) and math.isfinite(p):
                return _result(p, Reason.OK, tiers, i, past)
            tiers = nxt
    roots = _scan(legs, brackets, base)
    if not roots:
        return _result(math.nan, Reason.OK, tiers, 0, past)
    p, why, t = min(roots, key=lambda r: (abs(math.log(r[0] / mark)), r[1]))
    return _result(p, why, t, 0, past)


def _result(p: float, why: Reason, tiers: IntArray, iterations: int, past: bool) -> Liquidation:
    t = tuple(int(x) for x in tiers)
    if not (p > 0):
        reason = Reason.ALWAYS_LIQUIDATABLE if past else Reason.NOT_LIQUIDATABLE
        return Liquidation(price=math.nan, reason=reason, tiers=t, iterations=iterations)
    if past and why == Reason.OK:
        why = Reason.PAST_LIQUIDATION
    return Liquidation(price=p, reason=why, tiers=t, iterations=iterations)


def liquidation_prices(
    q: FloatArray,
    entry: FloatArray,
    mark: FloatArray,
    wallet: FloatArray,
    table: TierTable,
    sym: IntArray,
    *,
    other_mm: FloatArray | float = 0.0,
    other_upnl: FloatArray | float = 0.0,
) -> LiquidationArrays:
    """One-way LPs of many positions at once, each with its own tier row `sym` in `table`.

    Cross positions: `wallet` = their account's cross wallet and `other_mm`/`other_upnl` from
    `cross_others`; isolated: the isolated wallet and 0.

    Why no loop: the fixed point of the re-tiering is the tier whose LP lies inside that tier.
    Solving the formula for every tier of every position at once (a max_tiers × n matrix) and
    keeping the lowest self-consistent tier gives the same answer as iterating, in one pass. With
    consistent brackets exactly one tier qualifies (equity − MM is monotone one-way); positions
    on a symbol with an inconsistent cum (`TierTable.jumpy`) go to the scalar scan.
    """
    qq, e, p, w = as_float(q), as_float(entry), as_float(mark), as_float(wallet)
    s = np.asarray(sym, dtype=np.intp)
    om, ou = as_float(other_mm), as_float(other_upnl)
    if om.ndim and om.shape != qq.shape:
        om = np.broadcast_to(om, qq.shape)
    if ou.ndim and ou.shape != qq.shape:
        ou = np.broadcast_to(ou, qq.shape)
    n_sym = table.floors.shape[0]
    with quiet():
        base = w - om + ou
        total = qq + e  # summed in this order: an overflow to inf counts as a bad input
        total += p
        total += w
        total += om
        total += ou
        finite = np.isfinite(total)
    clean = bool(finite.all()) and qq.size > 0 and qq.ndim == 1
    if clean and np.all(qq) and e.min() > 0 and p.min() > 0 and s.min() >= 0 and s.max() < n_sym:
        return _solve_many(qq, e, p, base, s, table)  # the usual book: every position is priceable
    in_range = s.view(np.uintp) < n_sym  # negative → huge unsigned
    reason = np.zeros(qq.shape, dtype=np.int8)
    reason[~finite] = Reason.NAN_INPUT
    reason[finite & (qq == 0)] = Reason.NO_POSITION
    reason[(reason == 0) & ((e <= 0) | (p <= 0))] = Reason.NON_POSITIVE_PRICE
    reason[(reason == 0) & ~in_range] = Reason.MISSING_TIER
    lp = np.full(qq.shape, np.nan)
    tier = np.full(qq.shape, -1, dtype=np.intp)
    act = np.flatnonzero(reason == 0)
    if act.size:
        part = _solve_many(qq[act], e[act], p[act], base[act], s[act], table)
        lp[act], tier[act], reason[act] = part
    return LiquidationArrays(lp, tier, reason)


class _Scratch(threading.local):
    """Per-thread work arrays for `_solve_many`, and what it derived from the last book it solved.

    Why: the solver's (max_tiers × n) temporaries are ~100 kB each, and gathering every
    position's tier rows is the costliest step of a tick; yet from one tick to the next the
    table (immutable) and the positions (symbol, size, side, entry) rarely change, only prices
    and balances do. So each thread keeps one set of buffers, the rows gathered for the last
    (table, symbol, side) and the per-position terms that depend on the positions alone. Keys
    are the exact bytes of those inputs; nothing returned to a caller aliases these arrays, so
    results do not depend on what was cached.
    """

    def __init__(self) -> None:
        self.table: TierTable | None = None
        self.key = b""  # symbol column of each position
        self.book = b""  # symbols, quantities and entries
        self.rows = np.zeros((0, 0))  # (3·width + 1, n): floors, +inf, cums, mmr − side
        self.last_cap = np.zeros(0)
        self.jumpy = np.zeros(0, dtype=bool)
        self.size, self.side, self.sse = np.zeros(0), np.zeros(0), np.zeros(0)
        self.cand, self.den, self.x = np.zeros((0, 0)), np.zeros((0, 0)), np.zeros((0, 0))
        self.good, self.edge = np.zeros((0, 0), dtype=bool), np.zeros((0, 0), dtype=bool)

    def load(self, table: TierTable, s: IntArray, qq: FloatArray, e: FloatArray) -> None:
        """Make the cached terms those of this book (recomputing only what changed)."""
        book = s.tobytes() + qq.tobytes() + e.tobytes()
        if self.table is table and self.book == book:
            return
        n_sym, width = table.floors.shape
        col = s + (qq < 0) * n_sym  # a short reads the symbol's second column
        key = col.tobytes()
        n = s.size
        valid = self.table is table and self.key == key
        self.table, self.key, self.book = None, b"", b""  # not valid until filled
        if not valid:
            self.rows = table.by_tier.take(col, axis=1)
            self.last_cap, self.jumpy = table.last_cap.take(s), table.jumpy.take(s)
        if self.cand.shape != (width, n):
            self.cand, self.den, self.x = np.empty((width, n)), np.empty((width, n)), np.empty((width, n))
            self.good, self.edge = np.empty((width, n), dtype=bool), np.empty((width, n), dtype=bool)
        self.size, self.side = np.abs(qq), np.sign(qq)
        self.sse = self.side * self.size * e
        with quiet():
            np.multiply(self.rows[2 * width + 1 :], self.size, out=self.den)  # (mmr − side)·size
        self.table, self.key, self.book = table, key, book


_scratch = _Scratch()


def _solve_many(
    qq: FloatArray, e: FloatArray, p: FloatArray, base: FloatArray, s: IntArray, table: TierTable
) -> LiquidationArrays:
    """`liquidation_prices` for positions that are all finite, open, positively priced and tabled.

    Every step is the same float operation, in the same order, as solving tier by tier: the
    results are bit-identical to the straightforward matrix form (tests/unit/risk compare them).
    """
    n = qq.size
    width = table.floors.shape[1]
    sc = _scratch
    sc.load(table, s, qq, e)
    size, rows, cand, den, good, edge = sc.size, sc.rows, sc.cand, sc.den, sc.good, sc.edge
    floors, cums = rows[: width + 1], rows[width + 1 : 2 * width + 1]
    with quiet():
        n_mark = size * p
        _, untiered, mmr0, cum0 = tier_lookup_rates(table, s, n_mark)  # tier at mark, open-ended
        missing = n_mark >= sc.last_cap
        if untiered is not None:
            missing |= untiered
        mm0 = n_mark * mmr0 - cum0
        past = base + qq * (p - e) - mm0 < 0
        np.add(base, cums, out=cand)  # the LP solved with each tier's (mmr, cum), one row per tier
        cand -= sc.sse  # side·size·entry
        cand /= den  # (mmr − side)·size
        x = np.multiply(size, cand, out=sc.x)  # notional at each candidate
        np.less_equal(floors[:width], x, out=good)
        good &= np.less(x, floors[1:], out=edge)
        positive = cand[0] > 0
        good[0] &= positive  # above tier 0 a floor ≤ x already implies a positive price
    pick = np.argmax(good, axis=0)  # lowest self-consistent tier
    flat = pick * n + np.arange(n)
    found = good.ravel().take(flat)
    use = found & ~missing
    jumpy = None
    if sc.jumpy.any():
        jumpy = sc.jumpy & ~missing
        use &= ~jumpy
    lp = np.where(use, cand.ravel().take(flat), np.nan)
    tier = np.where(use, pick, -1)
    reason = np.zeros(n, dtype=np.int8)
    reason[use & past] = Reason.PAST_LIQUIDATION
    if missing.any():
        reason[missing] = Reason.MISSING_TIER
    done = ~(found | positive | missing)  # tier 0's LP ≤ 0: no positive root
    if jumpy is not None:
        done &= ~jumpy
    if done.any():
        reason[done] = Reason.NOT_LIQUIDATABLE
        reason[done & past] = Reason.ALWAYS_LIQUIDATABLE
    scan = ~(found | missing) & positive
    if jumpy is not None:
        scan |= jumpy
    if scan.any():
        for j in np.flatnonzero(scan):
            lp[j], tier[j], reason[j] = _fallback(
                table, int(s[j]), float(qq[j]), float(e[j]), float(p[j]), float(base[j])
            )
    return LiquidationArrays(lp, tier, reason)


def _fallback(
    table: TierTable, row: int, q: float, e: float, p: float, base: float
) -> tuple[float, int, int]:
    k = int(table.n_tiers[row])
    b = brackets(
        table.floors[row, :k], table.mmrs[row, :k], caps=table.caps[row, :k], cums=table.cums[row, :k]
    )
    res = liquidation_price(mark=p, wallet=base, brackets=b, qty=q, entry=e)
    return res.price, (res.tiers[0] if res.tiers else -1), int(res.reason)
