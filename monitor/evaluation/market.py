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
short or mostly flat history), and recomputes whenever the finished bars it saw changed (a
backfill), so it never drifts from the windowed figure by more than rounding.

The figures of all markets are computed as columns (one numpy call per formula) and added with
`FigureSink.add_many`, one column per figure name.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from monitor.evaluation.sink import FigureSink
from monitor.risk._num import quiet
from monitor.risk.basis import basis, basis_bps, premium
from monitor.risk.funding import annualised_funding
from monitor.risk.volatility import annualise_vol, ewma_variance, log_returns, periods_per_year
from monitor.store.state import Grid, Snapshot

__all__ = ["EwmaCache", "MarketView", "market_figures"]

MIN_RETURNS = 10
INIT_RETURNS = 20  # `ewma_variance` starts from the mean r² of this many first returns
BOUND = 1e-13  # a carried EWMA is kept while it is provably this close (relative) to the windowed one


@dataclass(frozen=True, slots=True)
class MarketView:
    """What account and book figures need from the market stage, per (venue, symbol)."""

    mark: float
    mark_fresh: bool
    sigma_ann: float
    funding_rate: float
    funding_interval_h: float


def _ewma_sigma_ann(values: np.ndarray, step_s: float, lam: float) -> tuple[float, str]:
    var, _n, _m, why = _windowed(values, lam)
    return _annualised(var, why, step_s)


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


class _Carried:
    """One market's recursion: where it stands, what it saw, and how far its start may have drifted.

    What it saw is kept as a copy of the finished values' bytes (immune to a store that reuses
    memory, and not keeping a snapshot's arrays alive) and the grid's first time and step: the
    store's grid is a run of consecutive buckets, checked here, so those place every bar.
    """

    __slots__ = ("exact", "first_ts", "lam", "last_ts", "max_r2", "n_low", "seen", "step", "var", "why")

    def __init__(self, grid: Grid, lam: float) -> None:
        self.lam = lam
        ts, v = grid
        m = ts.size - 1  # the newest bucket is still filling
        self.var, self.n_low, self.max_r2, self.why = _windowed(v, lam)
        self.seen = v[:m].tobytes() if m > 0 else b""
        self.first_ts, self.last_ts, self.step = _run(ts, m)
        # the window's start has not moved since the recursion was started from its first returns
        self.exact = self.n_low >= INIT_RETURNS and self.step > 0


def _run(ts: np.ndarray, m: int) -> tuple[int, int, int]:
    """(first, last, step) of the first `m` bucket times; step 0 unless they are consecutive buckets."""
    if m < 2:
        return 0, 0, 0
    first, last, step = int(ts[0]), int(ts[m - 1]), int(ts[1]) - int(ts[0])
    return first, last, step if step > 0 and last - first == (m - 1) * step else 0


class EwmaCache:
    """The EWMA recursion per market kept between ticks (see the module docstring)."""

    def __init__(self) -> None:
        self._state: dict[tuple[str, str], _Carried] = {}

    def variance(self, key: tuple[str, str], grid: Grid, lam: float) -> tuple[float, str]:
        c = self._state.get(key)
        if c is None or c.lam != lam or not self._advance(c, grid):
            c = self._state[key] = _Carried(grid, lam)
        return c.var, c.why

    def _advance(self, c: _Carried, grid: Grid) -> bool:
        """Step `c` to `grid`; False when it cannot be carried there (recompute the window)."""
        if c.why or c.step == 0 or (not c.exact and c.n_low < INIT_RETURNS):
            return False
        ts, v = grid
        m = ts.size - 1  # finished bars
        first, last, step = _run(ts, m)
        if step != c.step or last < c.last_ts or (c.last_ts - first) % step:
            return False
        i = (c.last_ts - first) // step  # where the last bar seen is now
        dropped = (first - c.first_ts) // step  # oldest bars the ring let go since
        if dropped < 0:
            return False  # bars before the first one seen appeared (a backfill)
        nbytes = (i + 1) * 8
        now = v[:m].tobytes()
        if now[:nbytes] != c.seen[dropped * 8 :]:
            return False  # a bar already seen changed (a backfill): start again from the window
        var, n_low, max_r2 = c.var, c.n_low - dropped, c.max_r2
        if i + 1 < m:
            lam = c.lam
            new = log_returns(v[i:m])
            for r in new[np.isfinite(new)].tolist():
                r2 = r * r
                var = lam * var + (1.0 - lam) * r2
                n_low += 1
                if r2 > max_r2:
                    max_r2 = r2
        exact = c.exact and dropped == 0
        if not exact and not (n_low >= INIT_RETURNS and c.lam**n_low * max_r2 <= BOUND * var):
            return False
        c.seen, c.first_ts, c.last_ts = now, first, last
        c.var, c.n_low, c.max_r2, c.exact = var, n_low, max_r2, exact
        return True

    def forget(self, keep: set[tuple[str, str]] | None = None) -> None:
        """Drop markets no longer listed (all with None)."""
        if keep is None:
            self._state.clear()
        else:
            for key in [k for k in self._state if k not in keep]:
                del self._state[key]


def market_figures(
    snap: Snapshot,
    fresh: dict[tuple[str, str], bool],
    sink: FigureSink,
    *,
    step_s: float,
    lam: float,
    cache: EwmaCache | None = None,
) -> dict[tuple[str, str], MarketView]:
    """`cache`: the EWMA carried between ticks (the evaluator's); None recomputes every window."""
    keys = list(snap.marks)
    if not keys:
        return {}
    marks = [snap.marks[k] for k in keys]
    labs = [{"venue": v, "symbol": s} for v, s in keys]
    mark = np.array([m.mark for m in marks], dtype=np.float64)
    index = np.array([m.index for m in marks], dtype=np.float64)
    rate = np.array([m.funding_rate for m in marks], dtype=np.float64)
    mark_ok = [fresh.get((v, f"mark:{s}"), False) for v, s in keys]
    infos = [snap.funding.get(k) for k in keys]
    # the interval comes from the venue, never a constant: until it has told, per-day and
    # annualised funding (and the book's carry) are not available rather than guessed at 8 h
    interval_s = np.array([fi.interval_s if fi is not None else math.nan for fi in infos], dtype=np.float64)
    unknown = ["" if fi is not None else "funding_interval_unknown" for fi in infos]
    interval_h = interval_s / 3600.0
    n = len(keys)
    none = [""] * n
    sink.add_many("mark_price_usd", labs, mark.tolist(), mark_ok, none)
    sink.add_many("index_price_usd", labs, index.tolist(), mark_ok, none)
    sink.add_many("premium_ratio", labs, premium(mark, index).tolist(), mark_ok, none)
    sink.add_many("funding_rate_ratio", labs, rate.tolist(), mark_ok, none)
    sink.add_many("funding_interval_seconds", labs, interval_s.tolist(), [True] * n, unknown)
    annual = annualised_funding(rate, interval_h)
    sink.add_many("funding_rate_annualized_ratio", labs, annual.tolist(), mark_ok, unknown)
    nxt = [i for i, m in enumerate(marks) if m.next_funding_ns]
    sink.add_many(
        "funding_next_timestamp_seconds",
        [labs[i] for i in nxt],
        [marks[i].next_funding_ns / 1e9 for i in nxt],
        [True] * len(nxt),
        [""] * len(nxt),
    )
    quoted = [(i, q) for i, k in enumerate(keys) if (q := snap.quotes.get((k[0], k[1], "spot"))) is not None]
    if quoted:
        at = [i for i, _q in quoted]
        mid = 0.5 * (np.array([q.bid for _i, q in quoted]) + np.array([q.ask for _i, q in quoted]))
        perp = mark[np.array(at, dtype=np.intp)]
        spot_ok = [mark_ok[i] and fresh.get((keys[i][0], f"book:spot:{keys[i][1]}"), False) for i in at]
        qlabs, qnone = [labs[i] for i in at], [""] * len(at)
        sink.add_many("spot_price_usd", qlabs, mid.tolist(), spot_ok, qnone)
        sink.add_many("basis_usd", qlabs, basis(mid, perp).tolist(), spot_ok, qnone)
        sink.add_many("basis_bps", qlabs, basis_bps(mid, perp).tolist(), spot_ok, qnone)
    sigmas, whys = _sigmas(snap, keys, step_s, lam, cache)
    if cache is not None:
        cache.forget(set(snap.mark_grid))
    sink.add_many("volatility_annualized_ratio", labs, sigmas, mark_ok, whys)
    return {
        k: MarketView(m, ok, sg, r, h)
        for k, m, ok, sg, r, h in zip(
            keys, mark.tolist(), mark_ok, sigmas, rate.tolist(), interval_h.tolist(), strict=True
        )
    }


def _sigmas(
    snap: Snapshot, keys: list[tuple[str, str]], step_s: float, lam: float, cache: EwmaCache | None
) -> tuple[list[float], list[str]]:
    """Annualised EWMA σ and its reason per market; the variances annualised in one pass (`_annualised`)."""
    n = len(keys)
    var, whys = [math.nan] * n, [""] * n
    given = snap.given_volatility
    grids = snap.mark_grid
    for i, key in enumerate(keys):
        if key in given:  # what-if: an input, not an estimate
            var[i], whys[i] = given[key], "given"
            continue
        grid = grids.get(key)
        if grid is None:
            whys[i] = "empty_history"
        elif cache is None:
            var[i], _n, _m, whys[i] = _windowed(grid[1], lam)
        else:
            var[i], whys[i] = cache.variance(key, grid, lam)
    v = np.array(var, dtype=np.float64)
    periods = periods_per_year(step_s)
    with quiet():
        ann = np.sqrt(v) * math.sqrt(periods) if periods > 0 else np.full(n, np.nan)  # `annualise_vol`
    out = ann.tolist()
    positive = (v > 0).tolist()
    for i, w in enumerate(whys):
        if w == "given":
            out[i] = var[i]
        elif w:
            out[i] = math.nan
        elif not positive[i]:
            out[i], whys[i] = math.nan, "zero_volatility"
    return out, whys
