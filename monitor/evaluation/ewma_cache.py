"""The EWMA variance of every market's mark, carried from tick to tick (the market stage's volatility).

The EWMA is the recursion over the whole finished window the store keeps (`ewma_variance`,
started from the mean r² of its first returns). Recomputing it over 4,096 bars for every symbol
on every tick cost more than the rest of the market stage; `EwmaCache` carries the recursion from
tick to tick instead and steps it through the bars finished since, which is the same number:
exactly while the window's start has not moved, and once the ring is full (each new bar drops
the oldest) within λⁿ·max r² of it, n the window's finite returns. The cache checks that bound
against 1e-13 of the variance and recomputes the window when it does not hold (λ close to 1, a
short or mostly flat history), and recomputes whenever the finished bars it saw may have changed
(a backfill), so it never drifts from the windowed figure by more than rounding. What changed is
the store's word, not a comparison: each mark grid's revision changes when a backfill lands and
otherwise bars are only appended (`Snapshot.mark_grid_bars`, monitor/store/grid_bars.py); keeping a
copy of every window to compare cost ~15 ms a tick at 600 symbols. A snapshot that promises
nothing (no grid columns, or grids replaced after it was taken) is never carried.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from monitor.risk._num import BoolArray, FloatArray, IntArray, quiet
from monitor.risk.volatility import ewma_variance, log_returns
from monitor.store.grid_bars import GridBars
from monitor.store.state import Grid, Snapshot

__all__ = ["EwmaCache", "windowed_variance"]

MIN_RETURNS = 10
INIT_RETURNS = 20  # `ewma_variance` starts from the mean r² of this many first returns
BOUND = 1e-13  # a carried EWMA is kept while it is provably this close (relative) to the windowed one


def windowed_variance(values: np.ndarray, lam: float) -> tuple[float, int, float, str]:
    """The EWMA variance over the finished window: (var, finite returns, max r², reason)."""
    finished = values[:-1]
    r = log_returns(finished)
    r = r[np.isfinite(r)]
    if r.size < MIN_RETURNS:
        return math.nan, int(r.size), math.nan, "empty_history"
    return ewma_variance(r, lam), int(r.size), float(np.max(r * r)), ""


class EwmaCache:
    """The EWMA recursion of every market, kept between ticks as columns (see the module docstring).

    Per market: the variance, its finite returns (a lower bound once bars drop), the largest r²,
    whether the window's start never moved, and which bars it has seen: the grid's revision and
    its first and last finished bucket (a grid is a run of consecutive buckets: checked when the
    window is read, promised by the revision after). A market whose grid kept its revision has
    only gained bars at the end: those are stepped in for all markets at once, one numpy
    operation per bar, the same float operations as the scalar recursion.
    """

    def __init__(self) -> None:
        self._keys: tuple[tuple[str, str], ...] = ()
        self._lam = math.nan
        self._st = _State(0)
        self._rows: tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str], ...], IntArray] | None = None

    def variances(
        self, snap: Snapshot, keys: Sequence[tuple[str, str]], lam: float
    ) -> tuple[FloatArray, list[str]]:
        """The windowed EWMA variance of each market's mark grid and its reason ("" or why NaN)."""
        keys = tuple(keys)
        if lam != self._lam:
            self._keys, self._lam, self._st = keys, lam, _State(len(keys))
        elif keys == self._keys:
            keys = self._keys  # the same tuple: what is cached on it holds
        else:
            self._st = self._st.take([{k: i for i, k in enumerate(self._keys)}.get(k, -1) for k in keys])
            self._keys = keys
        st = self._st
        n = len(keys)
        grids, bars = snap.mark_grid, snap.mark_grid_bars
        if bars is None or bars.grids is not grids:  # nothing promised about these grids: every window
            for i, key in enumerate(keys):
                st.restart(i, grids.get(key), 0, lam)
            return st.var.copy(), list(st.why)
        rows = self._rows_in(bars, keys)
        have = rows >= 0
        at = np.where(have, rows, 0)
        if len(bars.keys):
            size = np.where(have, bars.length[at], 0)
            newest = np.where(have, bars.newest_ns[at], 0)
            rev = np.where(have, bars.revision[at], 0)
        else:
            size = newest = rev = np.zeros(n, np.int64)
        # a grid keeping its revision is consecutive buckets, only appended to (grid_bars.py): its
        # newest bucket and its length place every bar
        step = st.step
        last = newest - step  # the last finished bar
        first = last - (size - 2) * step
        m = size - 1  # finished bars: the newest bucket is still filling
        with quiet():
            moved = np.where(step > 0, (last - st.last) // np.maximum(step, 1), -1)  # bars since
            dropped = np.where(step > 0, (first - st.first) // np.maximum(step, 1), -1)
        carry = (
            st.ok
            & (rev == st.rev)
            & (rev != 0)
            & (m >= 2)
            & (moved >= 0)
            & (dropped >= 0)
            & (st.last >= first)
        )
        new = carry & (moved > 0)
        if new.any():
            self._step_in(st, new, moved, m, [grids[keys[i]][1] for i in np.flatnonzero(new).tolist()], lam)
        st.exact &= ~carry | (dropped == 0)
        st.n_low = np.where(carry, st.n_low - np.maximum(dropped, 0), st.n_low)
        with quiet():
            bound = (st.n_low >= INIT_RETURNS) & (
                lam ** st.n_low.astype(np.float64) * st.max_r2 <= BOUND * st.var
            )
        carry &= st.exact | bound
        st.first = np.where(carry, first, st.first)
        st.last = np.where(carry, last, st.last)
        for i in np.flatnonzero(~carry).tolist():
            st.restart(i, grids.get(keys[i]), int(rev[i]), lam)
        return st.var.copy(), list(st.why)

    def _rows_in(self, bars: GridBars, keys: tuple[tuple[str, str], ...]) -> IntArray:
        """Each market's row in the store's grid columns (−1: no grid); kept while both hold."""
        got = self._rows
        if got is None or got[0] is not bars.keys or got[1] is not keys:
            index = bars.index
            got = self._rows = (bars.keys, keys, np.array([index.get(k, -1) for k in keys], dtype=np.intp))
        return got[2]

    @staticmethod
    def _step_in(
        st: _State, new: BoolArray, moved: IntArray, m: IntArray, values: list[FloatArray], lam: float
    ) -> None:
        """The bars each market gained since, stepped into its recursion as `ewma_variance` would.

        `values`: the grid values of the markets `new`, in order.
        """
        rows = np.flatnonzero(new)
        k = moved[rows]
        width = int(k.max())
        ends = m[rows].tolist()
        if width == 1:  # a bar each (the usual tick): the last bar seen and the new one, read directly
            block = np.array([[v.item(e - 2) for v, e in zip(values, ends, strict=True)],
                              [v.item(e - 1) for v, e in zip(values, ends, strict=True)]]).T  # fmt: skip
        else:
            block = np.full((rows.size, width + 1), np.nan)
            for row, (v, ki, e) in enumerate(zip(values, k.tolist(), ends, strict=True)):
                block[row, : ki + 1] = v[e - 1 - ki : e]  # the last bar seen, then the new ones
        ret = log_returns(block.T).T  # padding is NaN: skipped like a missing bar
        var, n_low, max_r2 = st.var[rows], st.n_low[rows], st.max_r2[rows]
        for j in range(width):
            r = ret[:, j]
            fin = np.isfinite(r)
            r2 = r * r
            var = np.where(fin, lam * var + (1.0 - lam) * r2, var)
            n_low = n_low + fin
            max_r2 = np.where(fin & (r2 > max_r2), r2, max_r2)
        st.var[rows], st.n_low[rows], st.max_r2[rows] = var, n_low, max_r2


class _State:
    """The carried recursion per market, as columns; `ok` False: recompute from the window."""

    __slots__ = ("exact", "first", "last", "max_r2", "n_low", "ok", "rev", "step", "var", "why")

    def __init__(self, n: int) -> None:
        self.var = np.full(n, math.nan)
        self.max_r2 = np.full(n, math.nan)
        self.n_low = np.zeros(n, np.int64)
        self.rev, self.first, self.last, self.step = (np.zeros(n, np.int64) for _ in range(4))
        self.exact = np.zeros(n, bool)
        self.ok = np.zeros(n, bool)
        self.why = ["empty_history"] * n

    def take(self, idx: list[int]) -> _State:
        """The rows `idx` (−1: a market not seen yet, to start from its window)."""
        out = _State(len(idx))
        at = np.array(idx, dtype=np.intp)
        have = at >= 0
        src = at[have]
        for name in ("var", "max_r2", "n_low", "rev", "first", "last", "step", "exact", "ok"):
            getattr(out, name)[have] = getattr(self, name)[src]
        out.why = [self.why[i] if i >= 0 else "empty_history" for i in idx]
        return out

    def restart(self, i: int, grid: Grid | None, rev: int, lam: float) -> None:
        """Row `i` from its whole finished window."""
        if grid is None:
            self.var[i], self.n_low[i], self.max_r2[i], self.why[i] = math.nan, 0, math.nan, "empty_history"
            self.ok[i] = False
            return
        ts, v = grid
        m = ts.size - 1
        var, n_low, max_r2, why = windowed_variance(v, lam)
        first, last, step = _run(ts, m)
        self.var[i], self.n_low[i], self.max_r2[i], self.why[i] = var, n_low, max_r2, why
        self.first[i], self.last[i], self.step[i], self.rev[i] = first, last, step, rev
        # the window's start has not moved since the recursion was started from its first returns
        self.exact[i] = n_low >= INIT_RETURNS and step > 0
        self.ok[i] = rev != 0 and not why and step > 0 and bool(self.exact[i])


def _run(ts: np.ndarray, m: int) -> tuple[int, int, int]:
    """(first, last, step) of the first `m` bucket times; step 0 unless they are consecutive buckets."""
    if m < 2:
        return 0, 0, 0
    first, last, step = int(ts[0]), int(ts[m - 1]), int(ts[1]) - int(ts[0])
    return first, last, step if step > 0 and last - first == (m - 1) * step else 0
