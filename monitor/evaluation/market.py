"""Market figures per venue and symbol: mark, index, spot, basis, premium, funding, volatility.

Volatility is EWMA on log returns of the mark sampled on the store's regular grid; the bucket
still filling is left out, since its value is not a finished sample yet.

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

The figures of all markets are computed as columns (one numpy call per formula) and added with keys
kept while the markets hold; `market_columns` hands the same figures to later stages as columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from operator import attrgetter
from types import MappingProxyType

import msgspec
import numpy as np

from monitor.evaluation.feeds import fresh_column
from monitor.evaluation.sink import FigureSink
from monitor.records import FigureKey, FundingInfo
from monitor.risk._num import BoolArray, FloatArray, IntArray, quiet
from monitor.risk.basis import basis, basis_bps, premium
from monitor.risk.funding import annualised_funding
from monitor.risk.volatility import annualise_vol, ewma_variance, log_returns, periods_per_year
from monitor.store.grid_bars import GridBars
from monitor.store.state import Grid, Snapshot

__all__ = ["EwmaCache", "MarketColumns", "MarketView", "market_columns", "market_figures"]

MIN_RETURNS = 10
INIT_RETURNS = 20  # `ewma_variance` starts from the mean r² of this many first returns
BOUND = 1e-13  # a carried EWMA is kept while it is provably this close (relative) to the windowed one


class MarketView(msgspec.Struct, frozen=True, gc=False):
    """What account and book figures need from the market stage, per (venue, symbol).

    A msgspec struct, not a frozen dataclass: the stage makes one per market every tick (865 at
    600 symbols), ~10× faster so; it holds floats only, so the garbage collector need not track it.
    """

    mark: float
    mark_fresh: bool
    sigma_ann: float
    funding_rate: float
    funding_interval_h: float


def _windowed(values: np.ndarray, lam: float) -> tuple[float, int, float, str]:
    """The EWMA variance over the finished window: (var, finite returns, max r², reason)."""
    finished = values[:-1]
    r = log_returns(finished)
    r = r[np.isfinite(r)]
    if r.size < MIN_RETURNS:
        return math.nan, int(r.size), math.nan, "empty_history"
    return ewma_variance(r, lam), int(r.size), float(np.max(r * r)), ""


def _annualised(var: float, why: str, step_s: float) -> tuple[float, str]:
    if why:
        return math.nan, why
    if not (var > 0):
        return math.nan, "zero_volatility"
    return float(annualise_vol(math.sqrt(var), periods_per_year(step_s))), ""


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
        var, n_low, max_r2, why = _windowed(v, lam)
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


class MarketColumns(msgspec.Struct, frozen=True, gc=False):
    """The market views as columns, in `keys` order: what a stage over all markets reads."""

    keys: tuple[tuple[str, str], ...]
    index: Mapping[tuple[str, str], int]
    mark: FloatArray
    mark_fresh: BoolArray
    sigma_ann: FloatArray
    funding_rate: FloatArray
    funding_interval_h: FloatArray


# The columns of the dict `market_figures` returned last, with that dict (held, so never another
# dict at its address). A plain dict, not a subclass carrying them: every later stage asks it by
# key thousands of times a tick, and `get` on a dict subclass is ~30 % slower.
_made: list[tuple[dict[tuple[str, str], MarketView], MarketColumns]] = []


def market_columns(markets: Mapping[tuple[str, str], MarketView]) -> MarketColumns:
    """The columns of the views: the market stage's own for the dict it returned, else built from the views.

    The stage's dict must not have been changed (nothing changes it: it is the tick's market picture).
    """
    if _made and _made[0][0] is markets and len(markets) == len(_made[0][1].keys):
        return _made[0][1]
    keys = tuple(markets)
    views = list(markets.values())

    def col(name: str) -> FloatArray:
        return np.array([getattr(v, name) for v in views], dtype=np.float64)

    return MarketColumns(
        keys=keys,
        index={k: i for i, k in enumerate(keys)},
        mark=col("mark"),
        mark_fresh=np.array([v.mark_fresh for v in views], dtype=bool),
        sigma_ann=col("sigma_ann"),
        funding_rate=col("funding_rate"),
        funding_interval_h=col("funding_interval_h"),
    )


class _Shape:
    """What depends only on which markets there are: labels, figure keys, the streams to ask."""

    def __init__(self, keys: tuple[tuple[str, str], ...]) -> None:
        self.keys = keys
        self.index = MappingProxyType({k: i for i, k in enumerate(keys)})
        self.labs = [{"venue": v, "symbol": s} for v, s in keys]
        self.streams = tuple((v, f"mark:{s}") for v, s in keys)
        self.spot_quotes = [(v, s, "spot") for v, s in keys]
        self.spot_streams = tuple((v, f"book:spot:{s}") for v, s in keys)
        self._figure_keys: dict[tuple[str, tuple[int, ...] | None], tuple[FigureKey, ...]] = {}
        self._intervals: tuple[Mapping[tuple[str, str], FundingInfo], FloatArray, list[str] | str] | None = (
            None
        )

    def intervals(self, funding: Mapping[tuple[str, str], FundingInfo]) -> tuple[FloatArray, list[str] | str]:
        """Each market's funding interval (s) and reason; the store's mapping changes only with a FundingInfo.

        The interval comes from the venue, never a constant: until it has told, per-day and
        annualised funding (and the book's carry) are not available rather than guessed at 8 h.
        """
        got = self._intervals
        if got is not None and got[0] is funding:
            return got[1], got[2]
        infos = list(map(funding.get, self.keys))
        interval_s = np.array(
            [fi.interval_s if fi is not None else math.nan for fi in infos], dtype=np.float64
        )
        interval_s.flags.writeable = False
        unknown: list[str] | str = ""
        if any(fi is None for fi in infos):
            unknown = ["" if fi is not None else "funding_interval_unknown" for fi in infos]
        if isinstance(funding, MappingProxyType):  # the store's: never changed once handed out
            self._intervals = (funding, interval_s, unknown)
        return interval_s, unknown

    def figure_keys(self, name: str, rows: tuple[int, ...] | None = None) -> tuple[FigureKey, ...]:
        """The keys of `name` for every market (`rows` None) or the markets `rows`, the same each tick."""
        got = self._figure_keys.get((name, rows))
        if got is None:
            if len(self._figure_keys) > 64:  # rows that come and go (quotes arriving) must not pile up
                self._figure_keys.clear()
            at = range(len(self.keys)) if rows is None else rows
            got = tuple(FigureKey(name=name, venue=self.keys[i][0], symbol=self.keys[i][1]) for i in at)
            self._figure_keys[(name, rows)] = got
        return got


_last_shape: list[_Shape] = []
_MARK, _INDEX, _RATE, _NEXT = (attrgetter(f) for f in ("mark", "index", "funding_rate", "next_funding_ns"))
_BID, _ASK = attrgetter("bid"), attrgetter("ask")


def _rows(which: BoolArray) -> tuple[int, ...] | None:
    """The rows where `which` holds; None for every row (the usual case: no tuple to hash)."""
    return None if which.all() else tuple(np.flatnonzero(which).tolist())


def _shape(keys: tuple[tuple[str, str], ...]) -> _Shape:
    """Last tick's shape again while the markets are the same (they seldom change)."""
    if _last_shape and _last_shape[0].keys == keys:
        return _last_shape[0]
    got = _Shape(keys)
    _last_shape[:] = [got]
    return got


def market_figures(
    snap: Snapshot,
    fresh: Mapping[tuple[str, str], bool],
    sink: FigureSink,
    *,
    step_s: float,
    lam: float,
    cache: EwmaCache | None = None,
) -> dict[tuple[str, str], MarketView]:
    """`cache`: the EWMA carried between ticks (the evaluator's); None recomputes every window.

    `market_columns` of the dict returned gives the same figures as columns.
    """
    keys = tuple(snap.marks)
    if not keys:
        return {}
    sh = _shape(keys)
    keys = sh.keys  # last tick's tuple while the markets hold: what later stages key their caches on
    marks = list(snap.marks.values())
    n = len(keys)
    mark = np.fromiter(map(_MARK, marks), np.float64, n)
    index = np.fromiter(map(_INDEX, marks), np.float64, n)
    rate = np.fromiter(map(_RATE, marks), np.float64, n)
    mark_ok = fresh_column(fresh, sh.streams)
    mark_ok_l = mark_ok.tolist()
    interval_s, unknown = sh.intervals(snap.funding)
    interval_h = interval_s / 3600.0
    fk = sh.figure_keys
    sink.add_array("mark_price_usd", fk("mark_price_usd"), mark, mark_ok, "")
    sink.add_array("index_price_usd", fk("index_price_usd"), index, mark_ok, "")
    sink.add_array("premium_ratio", fk("premium_ratio"), premium(mark, index), mark_ok, "")
    sink.add_array("funding_rate_ratio", fk("funding_rate_ratio"), rate, mark_ok, "")
    sink.add_array("funding_interval_seconds", fk("funding_interval_seconds"), interval_s, True, unknown)
    annual = annualised_funding(rate, interval_h)
    sink.add_array(
        "funding_rate_annualized_ratio", fk("funding_rate_annualized_ratio"), annual, mark_ok, unknown
    )
    nxt_ns = np.fromiter(map(_NEXT, marks), np.int64, n)
    nxt = _rows(nxt_ns != 0)
    sink.add_array(
        "funding_next_timestamp_seconds",
        fk("funding_next_timestamp_seconds", nxt),
        (nxt_ns if nxt is None else nxt_ns[list(nxt)]) / 1e9,
        True,
        "",
    )
    spot = list(map(snap.quotes.get, sh.spot_quotes))
    at = _rows(np.fromiter((q is not None for q in spot), bool, n))
    if at != ():
        got = spot if at is None else [spot[i] for i in at]
        rows = slice(None) if at is None else list(at)
        mid = 0.5 * (
            np.fromiter(map(_BID, got), np.float64, len(got))
            + np.fromiter(map(_ASK, got), np.float64, len(got))
        )
        perp = mark[rows]
        spot_ok = mark_ok[rows] & fresh_column(fresh, sh.spot_streams)[rows]
        sink.add_array("spot_price_usd", fk("spot_price_usd", at), mid, spot_ok, "")
        sink.add_array("basis_usd", fk("basis_usd", at), basis(mid, perp), spot_ok, "")
        sink.add_array("basis_bps", fk("basis_bps", at), basis_bps(mid, perp), spot_ok, "")
    sigma, whys = _sigmas(snap, keys, step_s, lam, cache)
    sink.add_array("volatility_annualized_ratio", fk("volatility_annualized_ratio"), sigma, mark_ok, whys)
    cols = MarketColumns(
        keys=keys,
        index=sh.index,
        mark=mark,
        mark_fresh=mark_ok,
        sigma_ann=sigma,
        funding_rate=rate,
        funding_interval_h=interval_h,
    )
    views = map(MarketView, mark.tolist(), mark_ok_l, sigma.tolist(), rate.tolist(), interval_h.tolist())
    out = dict(zip(keys, views, strict=True))
    _made[:] = [(out, cols)]
    return out


def _sigmas(
    snap: Snapshot, keys: tuple[tuple[str, str], ...], step_s: float, lam: float, cache: EwmaCache | None
) -> tuple[FloatArray, list[str]]:
    """Annualised EWMA σ and its reason per market; the variances annualised in one pass (`_annualised`)."""
    n = len(keys)
    if cache is not None:
        v, whys = cache.variances(snap, keys, lam)
    else:
        var, whys = [math.nan] * n, ["empty_history"] * n
        grids = snap.mark_grid
        for i, key in enumerate(keys):
            grid = grids.get(key)
            if grid is not None:
                var[i], _n, _m, whys[i] = _windowed(grid[1], lam)
        v = np.array(var, dtype=np.float64)
    given = snap.given_volatility
    if given:  # what-if: an input, not an estimate
        for i, key in enumerate(keys):
            if key in given:
                v[i], whys[i] = given[key], "given"
    periods = periods_per_year(step_s)
    with quiet():
        ann = np.sqrt(v) * math.sqrt(periods) if periods > 0 else np.full(n, np.nan)  # `annualise_vol`
    bad = np.flatnonzero(~(v > 0) | np.fromiter(map(bool, whys), bool, n)).tolist()
    bad = [i for i in bad if whys[i] != "given"]
    if bad:
        for i in bad:
            if not whys[i]:
                whys[i] = "zero_volatility"
        ann[np.array(bad, dtype=np.intp)] = math.nan
    is_given = [i for i, w in enumerate(whys) if w == "given"] if given else []
    if is_given:
        ann[np.array(is_given, dtype=np.intp)] = v[np.array(is_given, dtype=np.intp)]
    return ann, whys
