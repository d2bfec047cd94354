"""Market figures per venue and symbol: mark, index, spot, basis, premium, funding, volatility.

Volatility is EWMA on log returns of the mark sampled on the store's regular grid; the bucket
still filling is left out, since its value is not a finished sample yet.

The EWMA is carried between ticks by `EwmaCache` (monitor/evaluation/ewma_cache.py).

The figures of all markets are computed as columns (one numpy call per formula) and added with keys
kept while the markets hold; `market_columns` hands the same figures to later stages as columns.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from operator import attrgetter
from types import MappingProxyType

import msgspec
import numpy as np

from monitor.evaluation.ewma_cache import EwmaCache, windowed_variance
from monitor.evaluation.feeds import fresh_column
from monitor.evaluation.sink import FigureSink
from monitor.records import FigureKey, FundingInfo
from monitor.risk._num import BoolArray, FloatArray, quiet
from monitor.risk.basis import basis, basis_bps, premium
from monitor.risk.funding import annualised_funding
from monitor.risk.volatility import periods_per_year
from monitor.store.marks import MarkTable, mark_keys
from monitor.store.state import Snapshot

__all__ = ["EwmaCache", "MarketColumns", "MarketView", "market_columns", "market_figures"]


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
    table = snap.marks if isinstance(snap.marks, MarkTable) else None
    keys = mark_keys(snap.marks)
    if not keys:
        return {}
    sh = _shape(keys)
    keys = sh.keys  # last tick's tuple while the markets hold: what later stages key their caches on
    n = len(keys)
    if table is not None:  # the store's columns (monitor/store/marks.py), in the same order
        mark, index, rate, nxt_ns = table.mark, table.index_price, table.funding_rate, table.next_funding_ns
    else:
        marks = list(snap.marks.values())
        mark = np.fromiter(map(_MARK, marks), np.float64, n)
        index = np.fromiter(map(_INDEX, marks), np.float64, n)
        rate = np.fromiter(map(_RATE, marks), np.float64, n)
        nxt_ns = np.fromiter(map(_NEXT, marks), np.int64, n)
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
    """Annualised EWMA σ and its reason per market; the variances annualised in one pass ."""
    n = len(keys)
    if cache is not None:
        v, whys = cache.variances(snap, keys, lam)
    else:
        var, whys = [math.nan] * n, ["empty_history"] * n
        grids = snap.mark_grid
        for i, key in enumerate(keys):
            grid = grids.get(key)
            if grid is not None:
                var[i], _n, _m, whys[i] = windowed_variance(grid[1], lam)
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
