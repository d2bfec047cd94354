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
from collections.abc import Mapping
from typing import ClassVar

import numpy as np

from monitor.evaluation.advice_legs import (
    AdviceLegs,
    LegPrices,
    account_topups,
    advice_legs,
    isolated_topups,
    leg_prices,
)
from monitor.evaluation.dynamics import GarchNow
from monitor.evaluation.exposure import base_asset
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.risk._num import BoolArray
from monitor.risk.funding import annualised_funding
from monitor.risk.hedge import hedge_deviation, recommended_hedge
from monitor.risk.liquidity import BookWalk, close_many
from monitor.risk.reasons import Reason
from monitor.risk.sizing import sizing_columns
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


def advice_figures(
    snap: Snapshot,
    markets: dict[tuple[str, str], MarketView],
    garch: dict[tuple[str, str], GarchNow],
    sink: FigureSink,
    *,
    target_vol: float,
    shock: float,
    bybit_venues: frozenset[str] = frozenset(),
) -> None:
    """`bybit_venues`: venues on Bybit's margin model (their top-ups re-value MM at the shocked mark).

    Every leg's figures are computed over columns (`advice_legs`), then added one name at a time.
    """
    _hedge(snap, markets, garch, sink, target_vol)
    legs = advice_legs(snap, bybit_venues)
    px = leg_prices(legs, markets)
    need, why = account_topups(legs, px, shock)
    sink.add_many("topup_for_shock_usd", legs.acc_lab, need, [True] * len(need), why)
    if not legs.positions:
        return
    _sizing(legs, px, markets, garch, target_vol, sink)
    iso, iso_need, iso_why = isolated_topups(legs, px, shock)
    sink.add_many(
        "position_topup_for_shock_usd",
        [legs.lab[j] for j in iso.tolist()],
        iso_need,
        [True] * iso.size,
        iso_why,
    )
    _close_costs(snap, legs, sink)


_ASSETS: dict[str, str] = {}  # symbol → base asset (`exposure.base_asset`), named once


def _hedge(
    snap: Snapshot,
    markets: dict[tuple[str, str], MarketView],
    garch: dict[tuple[str, str], GarchNow],
    sink: FigureSink,
    target_vol: float,
) -> None:
    held: dict[str, float] = defaultdict(float)
    perp: dict[str, float] = defaultdict(float)
    priced_by: dict[str, tuple[str, str]] = {}
    for h in sorted(snap.holdings.values(), key=lambda x: x.name):
        held[h.asset] += h.quantity
        priced_by.setdefault(h.asset, (h.price_venue, h.price_symbol))
    assets_of = _ASSETS
    for (venue, _account), acct in sorted(snap.accounts.items()):
        for p in acct.positions:
            asset = assets_of.get(p.symbol)
            if asset is None:
                asset = assets_of[p.symbol] = base_asset(p.symbol)
            perp[asset] += p.qty * p.contract_size
            priced_by.setdefault(asset, (venue, p.symbol))
    assets = sorted(set(held) | set(perp))
    if not assets:
        return
    forecasts = [forecast_vol(priced_by[asset], garch, markets) for asset in assets]
    sigma = np.array([f[0] for f in forecasts], dtype=np.float64)
    rec = recommended_hedge(np.full(len(assets), target_vol), sigma)
    current = np.array([-perp[a] / held[a] if held[a] > 0 else math.nan for a in assets], dtype=np.float64)
    dev = hedge_deviation(current, rec)
    labs = [{"asset": asset} for asset in assets]
    every = [True] * len(assets)
    sink.add_many("recommended_hedge_ratio", labs, rec.tolist(), every, [f[1] for f in forecasts])
    dwhy = ["no_holdings" if held[a] <= 0 else f[1] for a, f in zip(assets, forecasts, strict=True)]
    sink.add_many("hedge_deviation_ratio", labs, dev.tolist(), every, dwhy)


def _sizing(
    legs: AdviceLegs,
    px: LegPrices,
    markets: Mapping[tuple[str, str], MarketView],
    garch: dict[tuple[str, str], GarchNow],
    target_vol: float,
    sink: FigureSink,
) -> None:
    """Sizing of every leg: the capital behind it (the isolated margin, or the account's margin
    balance) and its market's forecast σ and funding (the mean forecast, μ = −sign(q)·annual)."""
    n_acc = len(legs.accounts)
    cross, acc, upnl = legs.cross, legs.acc, px.upnl
    upnl_cross = np.bincount(acc[cross], weights=upnl[cross], minlength=n_acc)
    capital = np.where(legs.iso, legs.iw + upnl, legs.wallet[acc] + upnl_cross[acc])
    forecasts = [forecast_vol(k, garch, markets) for k in legs.mkeys]  # `markets.get(k)` is its view

    sigma_m = np.array([f[0] for f in forecasts], dtype=np.float64)
    has_mv = np.array([v is not None for v in px.views], dtype=bool)
    annual = annualised_funding(
        np.array([v.funding_rate if v is not None else math.nan for v in px.views], dtype=np.float64),
        np.array([v.funding_interval_h if v is not None else math.nan for v in px.views], dtype=np.float64),
    )
    mk = legs.mk
    sigma = sigma_m[mk]
    mu = np.where(has_mv[mk], -np.copysign(1.0, legs.q) * annual[mk], math.nan)
    tv, hk, rec, code = sizing_columns(capital, target_vol, sigma, mu, sigma * sigma)
    why = [forecasts[m][1] for m in mk.tolist()]
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
    every = [True] * len(why)
    sink.add_many("sizing_target_vol_notional_usd", legs.lab, tv.tolist(), every, tv_why)
    sink.add_many("sizing_half_kelly_notional_usd", legs.lab, hk.tolist(), every, hk_why)
    sink.add_many("sizing_recommended_notional_usd", legs.lab, rec.tolist(), every, rec_why)


def _lacking(legs: AdviceLegs, no_upnl: BoolArray) -> list[list[str]]:
    """Per leg, the legs its capital lacks a UPnL for: itself if isolated, else its account's cross legs."""
    by_acc: list[list[str]] = [[] for _ in legs.accounts]
    for j in np.flatnonzero(no_upnl & legs.cross).tolist():
        by_acc[legs.acc[j]].append(legs.positions[j].symbol)
    out = [by_acc[a] for a in legs.acc.tolist()]
    for j in np.flatnonzero(legs.iso).tolist():
        out[j] = [legs.positions[j].symbol] if no_upnl[j] else []
    return out


class _Walks:
    """Each perpetual book checked and sorted once, kept while the store hands back the same records."""

    by_market: ClassVar[dict[tuple[str, str], tuple[object, object, BookWalk | None]]] = {}


def _walk(snap: Snapshot, key: tuple[str, str]) -> BookWalk | None:
    levels = snap.books.get((*key, "perp"))
    book = snap.quotes.get((*key, "perp"))
    held = _Walks.by_market.get(key)
    if held is not None and held[0] is levels and held[1] is book:
        return held[2]
    if levels is not None and levels.bid_px and levels.ask_px:
        walk = BookWalk(levels.bid_px, levels.bid_qty, levels.ask_px, levels.ask_qty)
    elif book is not None:
        walk = BookWalk([book.bid], [book.bid_size], [book.ask], [book.ask_size])
    else:
        walk = None
    if len(_Walks.by_market) > 8192:
        _Walks.by_market.clear()
    _Walks.by_market[key] = (levels, book, walk)
    return walk


def _close_costs(snap: Snapshot, legs: AdviceLegs, sink: FigureSink) -> None:
    """Cost to close every leg by walking its market's perpetual book (levels, else the top of book).

    The legs on valid books are walked together (`liquidity.close_many`), grouped by the depth and
    side of their book; the rest (no book, a bad book, a quantity that is not a number) one by one.
    """
    walks = [_walk(snap, key) for key in legs.mkeys]
    n = len(legs.positions)
    nan = math.nan
    cost, slip, fill = [nan] * n, [nan] * n, [nan] * n
    why, fill_why = ["no_perp_book"] * n, ["no_perp_book"] * n
    ok_fill = (Reason.OK, Reason.INSUFFICIENT_DEPTH)
    groups: dict[tuple[int, bool], list[int]] = {}
    qs = legs.qc.tolist()
    for j, (m, q) in enumerate(zip(legs.mk.tolist(), qs, strict=True)):
        walk = walks[m]
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
    for (_depth, long), js in groups.items():
        rows: dict[int, int] = {}
        books: list[BookWalk] = []
        for j in js:
            m = int(legs.mk[j])
            walk = walks[m]
            if m not in rows and walk is not None:
                rows[m] = len(books)
                books.append(walk)
        at = np.array([rows[int(legs.mk[j])] for j in js], dtype=np.intp)
        sides = [b.levels(long) for b in books]
        px = np.array([x[0] for x in sides], dtype=np.float64)[at]
        qty = np.array([x[1] for x in sides], dtype=np.float64)[at]
        mid = np.array([b.mid for b in books], dtype=np.float64)[at]
        q = legs.qc[js]
        c, sl, filled, code = close_many(q, px, qty, mid)
        frac = filled / np.abs(q)
        for j, cj, sj, fj, k in zip(js, c.tolist(), sl.tolist(), frac.tolist(), code.tolist(), strict=True):
            w = "" if k == Reason.OK else "insufficient_depth"
            cost[j], slip[j], fill[j], why[j] = cj, sj, fj, w
            fill_why[j] = "" if math.isfinite(fj) else w
    every = [True] * n
    sink.add_many("close_cost_usd", legs.lab, cost, every, why)
    sink.add_many("close_slippage_bps", legs.lab, slip, every, why)
    sink.add_many("close_visible_fill_ratio", legs.lab, fill, every, fill_why)
