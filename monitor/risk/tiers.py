"""Many symbols' bracket tables as padded 2-D arrays, for evaluating a whole book in one pass.

Why padded 2-D and not a dict of tables: a tick evaluates ~1,000 positions over ~600 symbols in
well under a millisecond only if the tier lookup is one numpy comparison. Row `s` holds symbol
`s`'s tiers; unused slots have floor = +inf (never selected) and NaN rates. Positions refer to
their table row by an integer `sym` (−1 = no table → MISSING_TIER). A symbol whose brackets fail
`bracket_problem` (gap, unsorted, empty, bad rate) gets an empty row, so every lookup on it is
MISSING_TIER rather than a wrong rate; an inconsistent cum (TIER_BOUNDARY) is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from monitor.risk._num import BoolArray, FloatArray, IntArray, as_float, quiet
from monitor.risk.margin import Brackets, bracket_problem
from monitor.risk.reasons import Reason

__all__ = ["TierTable", "gather", "row_tiers", "table_maintenance_margin", "table_tier", "tier_table"]


class TierTable(NamedTuple):
    """Padded tiers: (n_symbols, max_tiers) arrays, plus per-symbol `n_tiers` and `last_cap`."""

    floors: FloatArray
    caps: FloatArray
    mmrs: FloatArray
    cums: FloatArray
    max_leverage: FloatArray
    n_tiers: IntArray
    last_cap: FloatArray  # notional ≥ this has no tier at mark (−inf for an empty row)
    packed: FloatArray  # (n_symbols, 4, max_tiers): floors, next floor (open-ended), mmrs, cums
    jumpy: BoolArray  # cum disagrees with the recursion (TIER_BOUNDARY): MM jumps at a floor
    keys: FloatArray  # all floors as sym·64 + ln(1 + floor), ascending: one searchsorted for the book
    offset: IntArray  # index in `keys` of each symbol's first tier


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
    upper = np.concatenate([floors[:, 1:], np.full((n, 1), np.inf)], axis=1)
    packed = np.ascontiguousarray(np.stack([floors, upper, mmrs, cums], axis=1))
    keys = np.concatenate(
        [i * _KEY_STRIDE + np.log1p(floors[i, : count[i]]) for i in range(n)] or [np.zeros(0)]
    )
    offset = np.concatenate([[0], np.cumsum(count)[:-1]]).astype(np.intp) if n else np.zeros(0, np.intp)
    for a in (floors, caps, mmrs, cums, lev, count, last_cap, packed, jumpy, keys, offset):
        a.flags.writeable = False
    return TierTable(floors, caps, mmrs, cums, lev, count, last_cap, packed, jumpy, keys, offset)


_KEY_STRIDE = 64.0  # > ln(1 + any notional): symbol blocks never overlap


def _rows(table: TierTable, sym: IntArray) -> tuple[IntArray, bool]:
    s = np.asarray(sym, dtype=np.intp)
    has = (s >= 0) & (s < table.floors.shape[0])
    all_ok = bool(has.all())
    return (s if all_ok else np.where(has, s, 0)), all_ok


def row_tiers(row_floors: FloatArray, notional: FloatArray) -> IntArray:
    """Tier per position given each position's own floors row (n, max_tiers); −1 below floor 0 or NaN."""
    counts = np.count_nonzero(row_floors <= as_float(notional)[..., None], axis=-1)
    return np.asarray(counts, dtype=np.intp) - 1


def table_tier(
    table: TierTable, sym: IntArray, notional: FloatArray, *, open_ended: bool = False
) -> IntArray:
    """Tier of each position at `notional` (mark notional): −1 for NaN, no table, or ≥ the last cap.

    `open_ended=True` keeps the last tier beyond its cap (used when solving for an LP: the cap
    limits opening a position, not the MM of one whose notional grew with the price).

    Why a log key: one `searchsorted` over every symbol's floors (keyed sym·64 + ln(1 + floor))
    finds all tiers at once. The key can round a notional within ~1e-11 of a floor to the wrong
    side, so each answer is checked exactly against floor ≤ notional < next floor and the few
    that fail are redone by direct comparison.
    """
    n = as_float(notional)
    n_sym = table.floors.shape[0]
    if n_sym == 0:
        return np.full(n.shape, -1, dtype=np.intp)
    row, all_ok = _rows(table, sym)
    with quiet():
        pos = np.searchsorted(table.keys, row * _KEY_STRIDE + np.log1p(n), side="right") - 1
        t = pos - table.offset[row]
        t = np.where((t >= 0) & (t < table.n_tiers[row]), t, 0)
        width = table.floors.shape[1]
        flat = row * (4 * width) + t  # packed[row, 0, t] = floor, packed[row, 1, t] = next floor
        packed = table.packed.ravel()
        exact = (packed[flat] <= n) & (n < packed[flat + width])
        if not exact.all():
            redo = np.flatnonzero(~exact)
            t[redo] = row_tiers(table.floors[row[redo]], n[redo])
        if not open_ended:
            t[n >= table.last_cap[row]] = -1
        t[~(n >= 0)] = -1
    if not all_ok:
        t[(np.asarray(sym) < 0) | (np.asarray(sym) >= n_sym)] = -1
    return t


def gather(table: TierTable, sym: IntArray, tier: IntArray) -> tuple[FloatArray, FloatArray]:
    """The (mmr, cum) of each position's tier; NaN where tier is −1."""
    t = np.asarray(tier, dtype=np.intp)
    if table.floors.shape[0] == 0:
        nan = np.full(t.shape, np.nan)
        return nan, nan.copy()
    width = table.floors.shape[1]
    ok = t >= 0
    row, _ = _rows(table, sym)
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
    t = table_tier(table, sym, n)
    mmr, cum = gather(table, sym, t)
    return n * mmr - cum, t
