"""Advice figures: the volatility-targeted hedge, sizing, the top-up for a shock, the cost to close.

These are information for the desk, not alerts by default (a rule can still name them):
- hedge: exposure = min(1, target vol / forecast vol), recommended hedge ratio = 1 − exposure, and
  its distance from the hedge ratio held now, per asset. The forecast is GARCH when fitted, EWMA
  otherwise (the figure's reason says `ewma_fallback`).
- sizing per position: the notional whose volatility is `target_vol` of the capital behind it
  (the account's margin balance, or the isolated margin), capped at half-Kelly. The only mean
  forecast perpmon has is the funding the position earns (price drift is taken as zero, as in
  the zero-mean GARCH), so μ = −sign(q)·annualised funding and σ² = forecast variance, per year.
- top-up: collateral to add so the account (cross: every position shocked together, in the
  adverse direction, the worse of up and down) or the isolated position survives a `shock` move;
  on a venue with Bybit's margin model, against its MM at the shocked mark (`risk.topup.bybit_topup_*`).
  A leg on a symbol not watched is shocked from the venue's mark (flagged); a NaN names the leg
  it lacks.
- cost to close each position by walking the perpetual book: the levels the venue's collector
  keeps (`BookLevels`, `depth_levels` deep), else the top of book. A position larger than the
  visible depth is `insufficient_depth` (cost not available) while the share the visible levels
  would fill is still reported.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import chain
from operator import attrgetter

import numpy as np

from monitor.evaluation.advice_legs import _SHARED as _SHARED_LEGS  # its own callers' default
from monitor.evaluation.advice_legs import AdviceLegs, LegPrices, LegsKept, advice_legs, leg_prices
from monitor.evaluation.advice_topups import account_topups, isolated_topups
from monitor.evaluation.column_keys import ColumnKeys
from monitor.evaluation.dynamics import garch_kept
from monitor.evaluation.garch_forecast import GarchNow
from monitor.evaluation.kept_book import book_inputs, same_book
from monitor.evaluation.leg_exposure import account_exposures
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.records import AccountSnapshot, Holding
from monitor.risk._num import BoolArray, FloatArray, IntArray, quiet
from monitor.risk.funding import annualised_funding
from monitor.risk.hedge import hedge_deviation, recommended_hedge
from monitor.risk.liquidity import BookWalk, close_many
from monitor.risk.reasons import Reason
from monitor.risk.sizing import sizing_columns
from monitor.store.books import BookLayout, BookTable
from monitor.store.state import Snapshot

__all__ = ["advice_figures", "forecast_vol"]


def forecast_vol(
    key: tuple[str, str],
    garch: Mapping[tuple[str, str], GarchNow],
    markets: Mapping[tuple[str, str], MarketView],
) -> tuple[float, str]:
    """Annualised forecast σ of a market: GARCH, else EWMA (flagged), else not available."""
    g = garch.get(key)
    if g is not None and math.isfinite(g.sigma_ann):
        return g.sigma_ann, ""
    mv = markets.get(key)
    if mv is not None and math.isfinite(mv.sigma_ann):
        return mv.sigma_ann, "ewma_fallback"
    return math.nan, (g.reason if g is not None and g.reason else "no_volatility")


def _forecasts(
    keys: Sequence[tuple[str, str]],
    garch: Mapping[tuple[str, str], GarchNow],
    markets: Mapping[tuple[str, str], MarketView],
    kept: AdviceKept,
) -> tuple[list[float], list[str]]:
    """`forecast_vol` of many markets: their σ and reasons (inlined: a thousand calls a tick).

    A market whose GARCH σ is finite takes it whatever the EWMA says, so while the same `garch`
    record and key tuple come back (dynamics.py hands the same record back until a bar finishes)
    only the other markets are looked up again (`_ForecastPlan`).
    """
    plan = kept.forecast.find(garch, keys)
    sigma, why, rest = list(plan[1]), list(plan[2]), plan[3]
    isfinite = math.isfinite
    for j in rest:
        key = keys[j]
        mv = markets.get(key)
        if mv is not None and isfinite(mv.sigma_ann):
            sigma[j] = mv.sigma_ann
            why[j] = "ewma_fallback"
            continue
        g = garch.get(key)
        why[j] = g.reason if g is not None and g.reason else "no_volatility"
    return sigma, why


_Plan = tuple[Sequence[tuple[str, str]], list[float], list[str], list[int]]


class _ForecastPlan:
    """The GARCH part of `_forecasts` per key tuple (hedge assets, legs' markets), for one garch record.

    Kept only for the mapping dynamics.py keeps and never writes (`garch_kept`); a few key tuples,
    the newest first.
    """

    _SLOTS = 4

    def __init__(self) -> None:
        self.garch: object = None
        self.plans: tuple[_Plan, ...] = ()

    def find(self, garch: Mapping[tuple[str, str], GarchNow], keys: Sequence[tuple[str, str]]) -> _Plan:
        kept = garch_kept(garch)
        if self.garch is not garch or not kept:
            self.garch, self.plans = (garch if kept else None), ()
        for plan in self.plans:
            if plan[0] is keys:
                return plan
        plan = (keys, *_garch_part(keys, garch))
        if kept:
            self.plans = (plan, *self.plans[: self._SLOTS - 1])
        return plan


def _garch_part(
    keys: Sequence[tuple[str, str]], garch: Mapping[tuple[str, str], GarchNow]
) -> tuple[list[float], list[str], list[int]]:
    """Per market its finite GARCH σ and "" (else NaN and ""), and the markets without one."""
    sigma: list[float] = []
    why: list[str] = []
    rest: list[int] = []
    isfinite = math.isfinite
    for j, key in enumerate(keys):
        g = garch.get(key)
        if g is not None and isfinite(g.sigma_ann):
            sigma.append(g.sigma_ann)
        else:
            sigma.append(math.nan)
            rest.append(j)
        why.append("")
    return sigma, why, rest


def advice_figures(
    snap: Snapshot,
    markets: dict[tuple[str, str], MarketView],
    garch: dict[tuple[str, str], GarchNow],
    sink: FigureSink,
    *,
    target_vol: float,
    shock: float,
    bybit_venues: frozenset[str] = frozenset(),
    kept: AdviceKept | None = None,
) -> None:
    """`bybit_venues`: venues on Bybit's margin model (their top-ups re-value MM at the shocked mark);
    `kept`: what the stage carries between ticks (the evaluator's own; None: one shared default).

    Every leg's figures are computed over columns (`advice_legs`), then added one name at a time.
    """
    kept = _SHARED if kept is None else kept
    _hedge(snap, markets, garch, sink, target_vol, kept)
    legs = advice_legs(snap, bybit_venues, kept.legs)
    px = leg_prices(legs, markets)
    need, why = account_topups(legs, px, shock, kept.legs)
    _column(kept, sink, "topup_for_shock_usd", legs.acc_lab, np.array(need, dtype=np.float64), why)
    if not legs.positions:
        return
    _sizing(legs, px, markets, garch, target_vol, sink, kept)
    iso, iso_need, iso_why = isolated_topups(legs, px, shock)
    labs = _iso_labels(legs, iso, kept)
    _column(kept, sink, "position_topup_for_shock_usd", labs, np.array(iso_need, np.float64), iso_why)
    _close_costs(snap, legs, sink, kept)


class AdviceKept:
    """What the advice stage keeps between ticks, per evaluator (two daemons in one process share none).

    Each entry is keyed by what it was made from (records by content or identity), so a miss is only
    slower: the legs' columns (`legs`), the GARCH part of the forecasts, the hedge book, the isolated
    legs' labels, the checked books of odd markets, the legs' books' keys and rows, the column keys.
    """

    def __init__(self, legs: LegsKept | None = None) -> None:
        self.legs = LegsKept() if legs is None else legs
        self.forecast = _ForecastPlan()
        self.hedge: _HedgeBook | None = None
        self.iso_labels: tuple[AdviceLegs, tuple[dict[str, str], ...]] | None = None
        self.walks: dict[tuple[str, str], tuple[object, object, BookWalk | None]] = {}
        self.perp_keys: tuple[tuple[tuple[str, str], ...], tuple[tuple[str, str, str], ...]] | None = None
        self.table_rows: (
            tuple[object, BookLayout, dict[int, tuple[list[int], IntArray]], list[int]] | None
        ) = None
        self.keys = ColumnKeys()  # the per-leg and per-account columns' keys, while the book keeps its shape


_SHARED = AdviceKept(_SHARED_LEGS)  # for a caller with none of its own (tests, benches, what-if)


@dataclass(frozen=True, slots=True)
class _HedgeBook:
    """What the hedge figures read from the book: per asset, its market and the hedge ratio held now.

    Kept while the holdings and the accounts' records say the same (`same_accounts`): only the
    forecasts change tick to tick.
    """

    holdings: tuple[Holding, ...]
    names: tuple[tuple[str, str], ...]
    records: tuple[AccountSnapshot, ...]
    assets: tuple[str, ...]
    priced_by: tuple[tuple[str, str], ...]  # per asset
    current: FloatArray  # −perp / held, NaN without holdings
    no_holdings: tuple[bool, ...]
    labs: tuple[dict[str, str], ...]


def _hedge_book(snap: Snapshot, kept: AdviceKept) -> _HedgeBook:
    inputs = book_inputs(snap)  # in the snapshot's order, as the other stages compare them
    old = kept.hedge
    if same_book(old, inputs):
        return old
    names, holdings, records = inputs
    held: dict[str, float] = defaultdict(float)
    perp: dict[str, float] = defaultdict(float)
    priced_by: dict[str, tuple[str, str]] = {}
    for h in sorted(holdings, key=lambda x: x.name):
        held[h.asset] += h.quantity
        priced_by.setdefault(h.asset, (h.price_venue, h.price_symbol))
    for (venue, _account), acct in sorted(snap.accounts.items()):
        # the leg's coin and exposure in it: an inverse leg's with its coin margin (`leg_exposure`)
        for p, (asset, x) in zip(acct.positions, account_exposures(acct), strict=True):
            perp[asset] += x
            priced_by.setdefault(asset, (venue, p.symbol))
    assets = sorted(set(held) | set(perp))
    kept.hedge = _HedgeBook(
        holdings=holdings,
        names=names,
        records=records,
        assets=tuple(assets),
        priced_by=tuple(priced_by[a] for a in assets),
        current=np.array([-perp[a] / held[a] if held[a] > 0 else math.nan for a in assets], dtype=np.float64),
        no_holdings=tuple(held[a] <= 0 for a in assets),
        labs=tuple({"asset": asset} for asset in assets),
    )
    return kept.hedge


def _hedge(
    snap: Snapshot,
    markets: dict[tuple[str, str], MarketView],
    garch: dict[tuple[str, str], GarchNow],
    sink: FigureSink,
    target_vol: float,
    kept: AdviceKept,
) -> None:
    hb = _hedge_book(snap, kept)
    if not hb.assets:
        return
    sig, fwhy = _forecasts(hb.priced_by, garch, markets, kept)
    rec = recommended_hedge(np.full(len(hb.assets), target_vol), np.array(sig, dtype=np.float64))
    dev = hedge_deviation(hb.current, rec)
    _column(kept, sink, "recommended_hedge_ratio", hb.labs, rec, fwhy)
    dwhy = ["no_holdings" if none else w for none, w in zip(hb.no_holdings, fwhy, strict=True)]
    _column(kept, sink, "hedge_deviation_ratio", hb.labs, dev, dwhy)


def _sizing(
    legs: AdviceLegs,
    px: LegPrices,
    markets: Mapping[tuple[str, str], MarketView],
    garch: dict[tuple[str, str], GarchNow],
    target_vol: float,
    sink: FigureSink,
    kept: AdviceKept,
) -> None:
    """Sizing of every leg: the capital behind it (the isolated margin, or the account's margin
    balance) and its market's forecast σ and funding (the mean forecast, μ = −sign(q)·annual)."""
    n_acc = len(legs.accounts)
    cross, acc, upnl = legs.cross, legs.acc, px.upnl
    upnl_cross = np.bincount(acc[cross], weights=upnl[cross], minlength=n_acc)
    capital = np.where(legs.iso, legs.iw + upnl, legs.wallet[acc] + upnl_cross[acc])
    sig, fwhy = _forecasts(legs.mkeys, garch, markets, kept)  # `markets.get(k)` is its view

    sigma_m = np.array(sig, dtype=np.float64)
    has_mv = np.array([v is not None for v in px.views], dtype=bool)
    annual = annualised_funding(
        np.array([v.funding_rate if v is not None else math.nan for v in px.views], dtype=np.float64),
        np.array([v.funding_interval_h if v is not None else math.nan for v in px.views], dtype=np.float64),
    )
    mk = legs.mk
    sigma = sigma_m[mk]
    mu = np.where(has_mv[mk], -np.copysign(1.0, legs.q) * annual[mk], math.nan)
    tv, hk, rec, code = sizing_columns(capital, target_vol, sigma, mu, sigma * sigma)
    why = [fwhy[m] for m in mk.tolist()]
    tv_why, hk_why, rec_why = list(why), list(why), list(why)
    odd = ~(np.isfinite(tv) & np.isfinite(hk) & np.isfinite(rec))
    if odd.any():
        lacking = _lacking(legs, np.isnan(upnl))
        tvl, hkl, recl, codes, mul = tv.tolist(), hk.tolist(), rec.tolist(), code.tolist(), mu.tolist()
        for j in np.flatnonzero(odd).tolist():
            miss = lacking[j]
            unpriced = f"leg_unpriced: {', '.join(miss)} (no UPnL, live or from the venue)" if miss else ""
            c = codes[j]
            missing = unpriced or why[j] or (Reason(c).name.lower() if c != Reason.OK else "not_available")
            hk_missing = "no_funding_estimate" if not math.isfinite(mul[j]) else missing
            if not math.isfinite(tvl[j]):
                tv_why[j] = missing
            if not math.isfinite(hkl[j]):
                hk_why[j] = hk_missing
            if not math.isfinite(recl[j]):
                rec_why[j] = hk_missing
    _column(kept, sink, "sizing_target_vol_notional_usd", legs.lab, tv, tv_why)
    _column(kept, sink, "sizing_half_kelly_notional_usd", legs.lab, hk, hk_why)
    _column(kept, sink, "sizing_recommended_notional_usd", legs.lab, rec, rec_why)


def _iso_labels(legs: AdviceLegs, iso: IntArray, kept: AdviceKept) -> tuple[dict[str, str], ...]:
    """The isolated legs' labels, kept with the columns they were taken from."""
    held = kept.iso_labels
    if held is not None and held[0] is legs:
        return held[1]
    labs = tuple(legs.lab[j] for j in iso.tolist())
    kept.iso_labels = (legs, labs)
    return labs


def _lacking(legs: AdviceLegs, no_upnl: BoolArray) -> list[list[str]]:
    """Per leg, the legs its capital lacks a UPnL for: itself if isolated, else its account's cross legs."""
    by_acc: list[list[str]] = [[] for _ in legs.accounts]
    for j in np.flatnonzero(no_upnl & legs.cross).tolist():
        by_acc[legs.acc[j]].append(legs.positions[j].symbol)
    out = [by_acc[a] for a in legs.acc.tolist()]
    for j in np.flatnonzero(legs.iso).tolist():
        out[j] = [legs.positions[j].symbol] if no_upnl[j] else []
    return out


def _walk(snap: Snapshot, key: tuple[str, str], kept: AdviceKept) -> BookWalk | None:
    """Each perpetual book checked and sorted once, kept while the store hands back the same records."""
    levels = snap.books.get((*key, "perp"))
    book = snap.quotes.get((*key, "perp"))
    held = kept.walks.get(key)
    if held is not None and held[0] is levels and held[1] is book:
        return held[2]
    if levels is not None and levels.bid_px and levels.ask_px:
        walk = BookWalk(levels.bid_px, levels.bid_qty, levels.ask_px, levels.ask_qty)
    elif book is not None:
        walk = BookWalk([book.bid], [book.bid_size], [book.ask], [book.ask_size])
    else:
        walk = None
    if len(kept.walks) > 8192:
        kept.walks.clear()
    kept.walks[key] = (levels, book, walk)
    return walk


def _close_costs(snap: Snapshot, legs: AdviceLegs, sink: FigureSink, kept: AdviceKept) -> None:
    """Cost to close every leg by walking its market's perpetual book (levels, else the top of book).

    The legs on valid books are walked together (`liquidity.close_many`), grouped by the depth and
    side of their book. Books of one shape are checked together as one array (`_Books`): building a
    `BookWalk` per market each tick (every book is a new record each second) was most of the stage.
    The rest (a bad, odd or unsorted book, a quantity that is not a number) goes to `BookWalk`.
    """
    n = len(legs.positions)
    nan = math.nan
    cost, slip, fill = np.full(n, nan), np.full(n, nan), np.full(n, nan)
    why, fill_why = ["no_perp_book"] * n, ["no_perp_book"] * n
    ok_fill = (Reason.OK, Reason.INSUFFICIENT_DEPTH)
    books = _Books(snap, legs.mkeys, kept)
    mk, qc = legs.mk, legs.qc
    long = qc > 0
    shape = books.shape[mk]
    fast = (
        (shape >= 0)
        & np.isfinite(qc)
        & (qc != 0)
        & np.where(long, books.bids_first[mk], books.asks_first[mk])
    )
    batches: list[tuple[list[int], FloatArray, FloatArray, FloatArray]] = []
    for s in range(len(books.cols)):
        for side in (True, False):
            js = np.flatnonzero(fast & (shape == s) & (long == side))
            if js.size:
                batches.append((js.tolist(), *books.side(s, side, books.row[mk[js]])))
    groups: dict[tuple[int, bool], list[int]] = {}
    walks: dict[int, BookWalk | None] = {}
    for j in np.flatnonzero(~fast & ~books.none[mk]).tolist():
        m, q = int(mk[j]), float(qc[j])
        walk = walks[m] if m in walks else walks.setdefault(m, _walk(snap, legs.mkeys[m], kept))
        if walk is None:
            continue
        if walk.problem is None and q != 0 and math.isfinite(q):
            groups.setdefault((len(walk.levels(q > 0)[0]), q > 0), []).append(j)
            continue
        cc = walk.close(q)
        w = "" if cc.reason == Reason.OK else cc.reason.name.lower()
        f = cc.filled_qty / abs(q) if cc.reason in ok_fill else math.nan
        cost[j], slip[j], fill[j], why[j] = cc.cost, cc.slippage_bps, f, w
        fill_why[j] = "" if math.isfinite(f) else w
    for (_depth, side), js_walked in groups.items():
        at_walk: dict[int, int] = {}
        walked: list[BookWalk] = []
        for j in js_walked:
            m = int(mk[j])
            walk = walks[m]
            if m not in at_walk and walk is not None:
                at_walk[m] = len(walked)
                walked.append(walk)
        at = np.array([at_walk[int(mk[j])] for j in js_walked], dtype=np.intp)
        levels = [b.levels(side) for b in walked]
        batches.append((
            js_walked,
            np.array([x[0] for x in levels], dtype=np.float64)[at],
            np.array([x[1] for x in levels], dtype=np.float64)[at],
            np.array([b.mid for b in walked], dtype=np.float64)[at],
        ))  # fmt: skip
    for js_batch, px, qty, mid in batches:
        qb = qc[js_batch]
        c, sl, filled, code = close_many(qb, px, qty, mid)
        frac = filled / np.abs(qb)
        cost[js_batch], slip[js_batch], fill[js_batch] = c, sl, frac
        short = (code != Reason.OK).tolist()
        finite = np.isfinite(frac).tolist()
        for j, s_, fin in zip(js_batch, short, finite, strict=True):
            w = "insufficient_depth" if s_ else ""
            why[j] = w
            fill_why[j] = "" if fin else w
    _column(kept, sink, "close_cost_usd", legs.lab, cost, why)
    _column(kept, sink, "close_slippage_bps", legs.lab, slip, why)
    _column(kept, sink, "close_visible_fill_ratio", legs.lab, fill, fill_why)


def _column(
    kept: AdviceKept,
    sink: FigureSink,
    name: str,
    labels: Sequence[Mapping[str, str]],
    values: FloatArray,
    why: list[str],
) -> None:
    """One column of fresh figures, keyed by the label tuple the stage keeps (`ColumnKeys`)."""
    sink.add_array(name, kept.keys(name, labels), values, True, why)


def _perp_keys(
    mkeys: tuple[tuple[str, str], ...], kept: AdviceKept | None = None
) -> tuple[tuple[str, str, str], ...]:
    """(venue, symbol, "perp") per market of the kept legs: the books' keys, made once per book shape."""
    kept = _SHARED if kept is None else kept
    held = kept.perp_keys
    if held is not None and held[0] is mkeys:
        return held[1]
    keys = tuple((v, s, "perp") for v, s in mkeys)
    kept.perp_keys = (mkeys, keys)
    return keys


_SIDES = attrgetter("bid_px", "bid_qty", "ask_px", "ask_qty")


Stacked = list[tuple[tuple[int, int], list[int], FloatArray]]  # per book shape: its markets, their rows


def _gather(
    snap: Snapshot, keys: tuple[tuple[str, str, str], ...], kept: AdviceKept | None = None
) -> tuple[list[bool], Stacked]:
    """Per market whether it has no book; per shape (bid depth, ask depth) its markets and their sides.

    Each market's row is its bid prices, bid sizes, ask prices and ask sizes side by side. The
    store's `BookTable` holds the rows already (`_table_rows`); a snapshot built from plain records
    (what-if, tests) has them stacked here, in a few C-level passes when every book is levels of one
    depth (a desk's usual case), else market by market.
    """
    n = len(keys)
    table = snap.books
    if isinstance(table, BookTable):
        by_shape, rest = _table_rows(table.layout, keys, _SHARED if kept is None else kept)
        shape = table.layout.shapes
        out: Stacked = [(shape[s], ms, table.arrays[s][rows]) for s, (ms, rows) in by_shape.items()]
        none, shapes = _by_market(snap, keys, rest)
        return none, out + _stack(shapes)
    books = list(map(table.get, keys))
    if books and None not in books:
        flat: list[Sequence[float]] = list(chain.from_iterable(map(_SIDES, books)))
        lens = list(map(len, flat))
        nb, na = lens[0], lens[2]
        if nb and na and lens == [nb, nb, na, na] * n:
            return [False] * n, _stack({(nb, na): (list(range(n)), flat)})
    none, shapes = _by_market(snap, keys, range(n))
    return none, _stack(shapes)


def _stack(shapes: dict[tuple[int, int], tuple[list[int], list[Sequence[float]]]]) -> Stacked:
    out: Stacked = []
    for (nb, na), (ms, sides) in shapes.items():
        width = 2 * (nb + na)
        a = np.fromiter(chain.from_iterable(sides), np.float64, len(ms) * width).reshape(len(ms), width)
        out.append(((nb, na), ms, a))
    return out


def _by_market(
    snap: Snapshot, keys: tuple[tuple[str, str, str], ...], ms: Iterable[int]
) -> tuple[list[bool], dict[tuple[int, int], tuple[list[int], list[Sequence[float]]]]]:
    """Markets `ms` one at a time: levels with both sides, else the top of book, else no book."""
    quotes, books = snap.quotes.get, snap.books.get
    none = [False] * len(keys)
    shapes: dict[tuple[int, int], tuple[list[int], list[Sequence[float]]]] = {}
    for m in ms:
        key = keys[m]
        lv = books(key)
        if lv is not None and lv.bid_px and lv.ask_px:
            sides: tuple[Sequence[float], ...] = (lv.bid_px, lv.bid_qty, lv.ask_px, lv.ask_qty)
        else:
            qt = quotes(key)
            if qt is None:
                none[m] = True
                continue
            sides = ((qt.bid,), (qt.bid_size,), (qt.ask,), (qt.ask_size,))
        nb, na = len(sides[0]), len(sides[2])
        if len(sides[1]) != nb or len(sides[3]) != na:
            continue  # `BookWalk` says insufficient_depth
        got = shapes.get((nb, na))
        if got is None:
            got = shapes[(nb, na)] = ([], [])
        got[0].append(m)
        got[1].extend(sides)
    return none, shapes


def _table_rows(
    layout: BookLayout, keys: tuple[tuple[str, str, str], ...], kept: AdviceKept
) -> tuple[dict[int, tuple[list[int], IntArray]], list[int]]:
    """Per array of the layout, the markets in it and their rows; and the markets with no row (kept
    while the markets and the layout are the same)."""
    held = kept.table_rows
    if held is not None and held[0] is keys and held[1] is layout:
        return held[2], held[3]
    by_shape: dict[int, tuple[list[int], list[int]]] = {}
    rest: list[int] = []
    for m, key in enumerate(keys):
        at = layout.at.get(key)
        if at is None:
            rest.append(m)
            continue
        got = by_shape.setdefault(at[0], ([], []))
        got[0].append(m)
        got[1].append(at[1])
    rows = {s: (ms, np.array(r, dtype=np.intp)) for s, (ms, r) in by_shape.items()}
    kept.table_rows = (keys, layout, rows, rest)
    return rows, rest


class _Books:
    """The perpetual books of the legs' markets, as one array per book shape, checked as `BookWalk` checks.

    A market's book is its levels (`BookLevels`, both sides non-empty), else its top of book; its
    shape is the two sides' depths. Books whose price and size columns have equal lengths are
    stacked per shape and checked together: every value finite, no price ≤ 0 nor size < 0, not
    crossed; the mid is (best bid + best ask)/2, and a side is ordered when strictly best first, as
    in `BookWalk`. Per market: `shape` (−1 unless its book passed), `row` in that shape's arrays,
    whether each side is best first, and `none` (no book at all). The rest go to `BookWalk`.
    """

    def __init__(self, snap: Snapshot, mkeys: tuple[tuple[str, str], ...], kept: AdviceKept) -> None:
        n = len(mkeys)
        shape, row = np.full(n, -1, dtype=np.intp), np.zeros(n, dtype=np.intp)
        none, stacked = _gather(snap, _perp_keys(mkeys, kept), kept)
        self.cols: list[tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray]] = []
        bids_first, asks_first = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        for s, ((nb, na), ms, a) in enumerate(stacked):
            bp, bq, ap, aq = a[:, :nb], a[:, nb : 2 * nb], a[:, 2 * nb : 2 * nb + na], a[:, 2 * nb + na :]
            with quiet():
                best_bid, best_ask = bp.max(axis=1), ap.min(axis=1)
                positive = (bp.min(axis=1) > 0) & (ap.min(axis=1) > 0)
                sized = (bq.min(axis=1) >= 0) & (aq.min(axis=1) >= 0)
                good = np.isfinite(a).all(axis=1) & positive & sized & (best_bid < best_ask)
            self.cols.append((bp, bq, ap, aq, 0.5 * (best_bid + best_ask)))
            at = np.array(ms, dtype=np.intp)
            shape[at] = np.where(good, s, -1)
            row[at] = np.arange(len(ms))
            bids_first[at] = np.all(np.diff(bp, axis=1) < 0, axis=1)
            asks_first[at] = np.all(np.diff(ap, axis=1) > 0, axis=1)
        self.shape, self.row, self.none = shape, row, np.array(none, dtype=bool)
        self.bids_first, self.asks_first = bids_first, asks_first

    def side(self, shape: int, long: bool, rows: IntArray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(prices, sizes, mid) of the given rows' side a long (bids) or short (asks) closes into."""
        bp, bq, ap, aq, mid = self.cols[shape]
        return (bp[rows], bq[rows], mid[rows]) if long else (ap[rows], aq[rows], mid[rows])
