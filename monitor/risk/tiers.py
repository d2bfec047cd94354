"""Many symbols' bracket tables as padded arrays, for evaluating a whole book in one pass.

Why padded and flat rather than a dict of tables: a tick evaluates ~1,000 positions over ~600
symbols in well under a millisecond only if the tier lookup is a handful of whole-book numpy
operations. Row `s` holds symbol `s`'s tiers; unused slots have floor = +inf (never selected) and
NaN rates. Positions refer to their table row by an integer `sym` (−1 = no table → MISSING_TIER).
A symbol whose brackets fail `bracket_problem` (gap, unsorted, empty, bad rate) gets an empty row,
so every lookup on it is MISSING_TIER rather than a wrong rate; an inconsistent cum
(TIER_BOUNDARY) is kept.

The table is built once per change of the venue's brackets and is read-only, so everything a tick
would otherwise rebuild (flat copies for gathers, the tier-major layout the LP solver scans) is
precomputed here.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from monitor.risk._num import BoolArray, FloatArray, IntArray, as_float, quiet
from monitor.risk.margin import Brackets, bracket_problem
from monitor.risk.reasons import Reason

__all__ = [
    "TierTable",
    "gather",
    "locate",
    "row_tiers",
    "rows_of",
    "table_maintenance_margin",
    "table_tier",
    "tier_lookup",
    "tier_lookup_rates",
    "tier_mm_open",
    "tier_table",
]


class TierTable(NamedTuple):
    """Padded tiers: (n_symbols, max_tiers) arrays, plus per-symbol `n_tiers` and `last_cap`."""

    floors: FloatArray
    caps: FloatArray
    mmrs: FloatArray
    cums: FloatArray
    max_leverage: FloatArray
    n_tiers: IntArray
    last_cap: FloatArray  # notional ≥ this has no tier at mark (−inf for an empty row)
    jumpy: BoolArray  # cum disagrees with the recursion (TIER_BOUNDARY): MM jumps at a floor
    stride: int  # power of two ≥ max_tiers: symbol s's tier t is flat index s·stride + t
    flat_floors: FloatArray  # (n_symbols·stride,) floors, NaN-padded (NaN ≤ x is False: never chosen)
    flat_mmrs: FloatArray  # (n_symbols·stride,) NaN-padded
    flat_cums: FloatArray  # (n_symbols·stride,) NaN-padded
    flat_upper: FloatArray  # (n_symbols·stride,) next floor (+inf after the last tier), NaN-padded
    by_tier: FloatArray  # (3·max_tiers + 1, 2·n_symbols) tier-major: floors, +inf, cums, mmr − side


def tier_table(tables: Sequence[Brackets]) -> TierTable:
    """Stack per-symbol `Brackets` (row i = tables[i]) into one read-only padded table."""
    n = len(tables)
    width = max((b.floors.size for b in tables), default=0) or 1
    floors = np.full((n, width), np.inf)
    caps = np.full((n, width), np.inf)
    mmrs = np.full((n, width), np.nan)
    cums = np.full((n, width), np.nan)
    lev = np.full((n, width), np.nan)
    count = np.zeros(n, dtype=np.intp)
    last_cap = np.full(n, -np.inf)
    jumpy = np.zeros(n, dtype=bool)
    for i, b in enumerate(tables):
        problem = bracket_problem(b)
        if problem not in (Reason.OK, Reason.TIER_BOUNDARY):
            continue
        jumpy[i] = problem == Reason.TIER_BOUNDARY
        k = b.floors.size
        floors[i, :k], caps[i, :k], mmrs[i, :k], cums[i, :k] = b.floors, b.caps, b.mmrs, b.cums
        lev[i, :k] = b.max_leverage
        count[i], last_cap[i] = k, b.caps[-1]
    stride = 1 << (width - 1).bit_length()
    pad = np.isinf(floors)
    upper = np.concatenate([floors[:, 1:], np.full((n, 1), np.inf)], axis=1)
    flat = np.full((4, n, stride), np.nan)
    flat[:, :, :width] = np.where(pad, np.nan, floors), mmrs, cums, np.where(pad, np.nan, upper)
    flat_floors, flat_mmrs, flat_cums, flat_upper = (np.ascontiguousarray(x.ravel()) for x in flat)
    # column s: symbol s for a long (mmr − 1), column n + s: for a short (mmr + 1), as the LP solver
    # divides by size·(mmr − side); precomputing the difference gives the same float
    head = np.concatenate([floors.T, np.full((1, n), np.inf), cums.T])
    by_tier = np.block([[head, head], [mmrs.T - 1.0, mmrs.T + 1.0]])
    table = TierTable(
        floors, caps, mmrs, cums, lev, count, last_cap, jumpy, stride,
        flat_floors, flat_mmrs, flat_cums, flat_upper, by_tier,
    )  # fmt: skip
    for a in table:
        if isinstance(a, np.ndarray):
            a.flags.writeable = False
    return table


def rows_of(table: TierTable, sym: IntArray) -> tuple[IntArray, bool]:
    """Each position's table row (0 where `sym` is out of range) and whether every `sym` is in range."""
    s = np.asarray(sym, dtype=np.intp)
    has = s.view(np.uintp) < table.floors.shape[0]  # negative → huge unsigned: one comparison
    all_ok = bool(has.all())
    return (s if all_ok else np.where(has, s, 0)), all_ok


def locate(table: TierTable, row: IntArray, notional: FloatArray) -> tuple[IntArray, BoolArray]:
    """Flat index (row·stride + tier) of each notional's tier, last tier open-ended; `ok` False if none.

    Why a branchless binary search over the flat floors: it is log2(stride) whole-book gathers and
    comparisons, exact (no rounding of a key), and NaN padding makes unused slots and empty rows
    compare False. A NaN or negative notional has no tier (floor 0 ≤ x fails).
    """
    idx = np.asarray(row * table.stride, dtype=np.intp)
    ff = table.flat_floors
    step = table.stride >> 1
    while step:  # idx + step stays inside the row, so ff[step:] read at idx is floor idx + step
        idx += (ff[step:].take(idx) <= notional) * step
        step >>= 1
    return idx, ff.take(idx) <= notional


def row_tiers(row_floors: FloatArray, notional: FloatArray) -> IntArray:
    """Tier per position given each position's own floors row (n, max_tiers); −1 below floor 0 or NaN."""
    counts = np.count_nonzero(row_floors <= as_float(notional)[..., None], axis=-1)
    return np.asarray(counts, dtype=np.intp) - 1


class _Hint(NamedTuple):
    table: TierTable
    rows: bytes  # the positions' table rows, all in range
    last_cap: FloatArray  # table.last_cap at those rows
    at: IntArray  # flat tier index found on the previous call, and the table at it:
    lo: FloatArray  # floor
    hi: FloatArray  # next floor (+inf after the last tier)
    mmr: FloatArray
    cum: FloatArray


def _hint(table: TierTable, raw: bytes, last_cap: FloatArray, at: IntArray) -> _Hint:
    h = _Hint(table, raw, last_cap, at, *(a.take(at) for a in _gathered(table)))
    for a in h[2:]:
        a.flags.writeable = False
    return h


def _gathered(table: TierTable) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    return table.flat_floors, table.flat_upper, table.flat_mmrs, table.flat_cums


class _Hints(threading.local):
    """The tiers found on the last call for each (table, positions) pair, per thread.

    Why: tick after tick the same book is looked up in the same immutable table, and a position
    rarely changes tier between ticks. The last answer is a guess checked exactly against the
    floors (floor ≤ notional < next floor); only when a check fails is the search run again, so
    the result never depends on what is cached. The rates at those tiers are kept beside them.
    """

    def __init__(self) -> None:
        self.by_key: dict[tuple[int, int, int, int], _Hint] = {}


_hints = _Hints()
_MAX_HINTS = 32


class _Found(NamedTuple):
    at: IntArray  # flat index row·stride + tier (a valid slot even where there is no tier)
    tier: IntArray  # −1 where there is none
    bad: BoolArray | None  # where there is no tier; None when every position has one
    mmr: FloatArray | None  # the tier's rate and cum at `at`, when already gathered
    cum: FloatArray | None


def tier_lookup(
    table: TierTable, sym: IntArray, n: FloatArray, *, open_ended: bool = False
) -> tuple[IntArray, IntArray, BoolArray | None]:
    """(flat index row·stride + tier, tier, mask of positions without a tier or None if all have one).

    `n` is a float64 array; see `table_tier` for the rules. The flat index is valid (a floor 0
    slot) even where there is no tier, so it can be used to gather without checks (read-only).
    """
    f = _lookup(table, sym, n, open_ended)
    return f.at, f.tier, f.bad


def _lookup(table: TierTable, sym: IntArray, n: FloatArray, open_ended: bool) -> _Found:
    s = np.asarray(sym, dtype=np.intp)
    if s.ndim == 1 and s.shape == n.shape and s.size:
        key = (id(table), s.size, int(s[0]), int(s[-1]))
        raw = s.tobytes()
        hint = _hints.by_key.get(key)
        if hint is not None and hint.table is table and hint.rows == raw:
            with quiet():
                ok = hint.lo <= n
                ok &= n < hint.hi
                if ok.all():
                    bad = None if open_ended else n >= hint.last_cap
                    return _finish(table, hint.at, bad, hint.mmr, hint.cum)
                at, ok = locate(table, s, n)
                bad = ~ok if open_ended else ~ok | (n >= hint.last_cap)
            hint = _hint(table, raw, hint.last_cap, at)
            _hints.by_key[key] = hint
            return _finish(table, hint.at, bad, hint.mmr, hint.cum)
    row, all_ok = rows_of(table, s)
    if row.shape != n.shape:
        row, n = np.broadcast_arrays(row, n)
    with quiet():
        at, ok = locate(table, row, n)
        last_cap = table.last_cap.take(row)
        bad = ~ok if open_ended else ~ok | (n >= last_cap)
    if not all_ok:
        bad |= s.view(np.uintp) >= table.floors.shape[0]
    elif s.ndim == 1 and s.shape == n.shape and s.size:
        if len(_hints.by_key) >= _MAX_HINTS:
            _hints.by_key.clear()
        hint = _hint(table, s.tobytes(), last_cap, at)
        _hints.by_key[(id(table), s.size, int(s[0]), int(s[-1]))] = hint
        return _finish(table, hint.at, bad, hint.mmr, hint.cum)
    return _finish(table, at, bad, None, None)


def _finish(
    table: TierTable, at: IntArray, bad: BoolArray | None, mmr: FloatArray | None, cum: FloatArray | None
) -> _Found:
    t = np.asarray(at & (table.stride - 1))  # a new array: callers may write to it
    if bad is None or not bad.any():
        return _Found(at, t, None, mmr, cum)
    t[bad] = -1
    return _Found(at, t, bad, mmr, cum)


def table_tier(
    table: TierTable, sym: IntArray, notional: FloatArray, *, open_ended: bool = False
) -> IntArray:
    """Tier of each position at `notional` (mark notional): −1 for NaN, no table, or ≥ the last cap.

    `open_ended=True` keeps the last tier beyond its cap (used when solving for an LP: the cap
    limits opening a position, not the MM of one whose notional grew with the price).
    """
    n = as_float(notional)
    if table.floors.shape[0] == 0:
        return np.full(n.shape, -1, dtype=np.intp)
    return _lookup(table, sym, n, open_ended).tier


def gather(table: TierTable, sym: IntArray, tier: IntArray) -> tuple[FloatArray, FloatArray]:
    """The (mmr, cum) of each position's tier; NaN where tier is −1."""
    t = np.asarray(tier, dtype=np.intp)
    if table.floors.shape[0] == 0:
        nan = np.full(t.shape, np.nan)
        return nan, nan.copy()
    width = table.floors.shape[1]
    ok = t >= 0
    row, _ = rows_of(table, sym)
    idx = row * width + t
    all_ok = bool(ok.all())
    if not all_ok:
        idx = np.where(ok, idx, 0)
    mmr, cum = table.mmrs.ravel()[idx], table.cums.ravel()[idx]
    if not all_ok:
        mmr, cum = np.where(ok, mmr, np.nan), np.where(ok, cum, np.nan)
    return mmr, cum


def table_maintenance_margin(
    table: TierTable, sym: IntArray, notional: FloatArray
) -> tuple[FloatArray, IntArray]:
    """MM = notional·mmr − cum per position with its own symbol's tiers; returns (mm, tier)."""
    n = as_float(notional)
    if table.floors.shape[0] == 0:
        return np.full(n.shape, np.nan), np.full(n.shape, -1, dtype=np.intp)
    f = _lookup(table, sym, n, False)
    mmr = table.flat_mmrs.take(f.at) if f.mmr is None else f.mmr
    cum = table.flat_cums.take(f.at) if f.cum is None else f.cum
    with quiet():
        mm = np.asarray(n * mmr - cum)
    if f.bad is not None:
        mm[f.bad] = np.nan
    return mm, f.tier


def tier_lookup_rates(
    table: TierTable, sym: IntArray, n: FloatArray
) -> tuple[IntArray, BoolArray | None, FloatArray, FloatArray]:
    """Open-ended `tier_lookup` with each position's (mmr, cum) at its tier: (flat index, bad, mmr, cum)."""
    f = _lookup(table, sym, n, True)
    mmr = table.flat_mmrs.take(f.at) if f.mmr is None else f.mmr
    cum = table.flat_cums.take(f.at) if f.cum is None else f.cum
    return f.at, f.bad, mmr, cum


def tier_mm_open(table: TierTable, row: IntArray, notional: FloatArray) -> FloatArray:
    """notional·mmr − cum at the tier of `notional`, the last tier open-ended (`margin.maintenance_margin`).

    NaN where a position has no table row (−1), a NaN or negative notional, or no tier: the account
    stage and the advice stage both price legs this way, so one function keeps them from drifting.
    """
    out = np.full(notional.shape, np.nan)
    with quiet():
        sel = np.flatnonzero((row >= 0) & np.isfinite(notional) & (notional >= 0))
    if sel.size:
        n = notional[sel]
        _, bad, mmr, cum = tier_lookup_rates(table, row[sel], n)
        with quiet():
            mm = n * mmr - cum
        if bad is not None:
            mm[bad] = np.nan
        out[sel] = mm
    return out
