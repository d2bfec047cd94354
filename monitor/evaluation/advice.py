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

This module adds the figures, the hedge and the sizing; its parts (issue 16: no module over 400
lines) are the forecast σ (advice_forecast.py), the cost to close (advice_close.py), what the
stage keeps between ticks (advice_kept.py), the legs' columns and top-ups (advice_legs.py,
advice_topups.py).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from monitor.evaluation.advice_close import _close_costs
from monitor.evaluation.advice_forecast import _forecasts
from monitor.evaluation.advice_kept import _SHARED, AdviceKept, _column
from monitor.evaluation.advice_legs import AdviceLegs, LegPrices, advice_legs, leg_prices
from monitor.evaluation.advice_topups import account_topups, isolated_topups
from monitor.evaluation.garch_forecast import GarchNow
from monitor.evaluation.kept_book import book_inputs, same_book
from monitor.evaluation.leg_exposure import account_exposures
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.records import AccountSnapshot, Holding
from monitor.risk._num import BoolArray, FloatArray, IntArray
from monitor.risk.funding import annualised_funding
from monitor.risk.hedge import hedge_deviation, recommended_hedge
from monitor.risk.reasons import Reason
from monitor.risk.sizing import sizing_columns
from monitor.store.state import Snapshot

__all__ = ["advice_figures"]


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
