"""Market figures per venue and symbol: mark, index, spot, basis, premium, funding, volatility.

Volatility is EWMA on log returns of the mark sampled on the store's regular grid; the bucket
still filling is left out, since its value is not a finished sample yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from monitor.evaluation.sink import FigureSink
from monitor.risk.basis import basis, basis_bps, premium
from monitor.risk.funding import annualised_funding
from monitor.risk.volatility import annualise_vol, ewma_variance, log_returns, periods_per_year
from monitor.store.state import Snapshot

__all__ = ["MarketView", "market_figures"]

MIN_RETURNS = 10


@dataclass(frozen=True, slots=True)
class MarketView:
    """What account and book figures need from the market stage, per (venue, symbol)."""

    mark: float
    mark_fresh: bool
    sigma_ann: float
    funding_rate: float
    funding_interval_h: float


def _ewma_sigma_ann(values: np.ndarray, step_s: float, lam: float) -> tuple[float, str]:
    finished = values[:-1]
    r = log_returns(finished)
    r = r[np.isfinite(r)]
    if r.size < MIN_RETURNS:
        return math.nan, "empty_history"
    var = ewma_variance(r, lam)
    if not (var > 0):
        return math.nan, "zero_volatility"
    return float(annualise_vol(math.sqrt(var), periods_per_year(step_s))), ""


def market_figures(
    snap: Snapshot,
    fresh: dict[tuple[str, str], bool],
    sink: FigureSink,
    *,
    step_s: float,
    lam: float,
) -> dict[tuple[str, str], MarketView]:
    views: dict[tuple[str, str], MarketView] = {}
    for (venue, symbol), m in snap.marks.items():
        mark_ok = fresh.get((venue, f"mark:{symbol}"), False)
        lab = {"venue": venue, "symbol": symbol}
        sink.add("mark_price_usd", m.mark, lab, fresh=mark_ok)
        sink.add("index_price_usd", m.index, lab, fresh=mark_ok)
        sink.add("premium_ratio", float(premium(m.mark, m.index)), lab, fresh=mark_ok)
        fi = snap.funding.get((venue, symbol))
        # the interval comes from the venue, never a constant: until it has told, per-day and
        # annualised funding (and the book's carry) are not available rather than guessed at 8 h
        interval_s = fi.interval_s if fi is not None else math.nan
        unknown = "" if fi is not None else "funding_interval_unknown"
        sink.add("funding_rate_ratio", m.funding_rate, lab, fresh=mark_ok)
        sink.add("funding_interval_seconds", interval_s, lab, reason=unknown)
        sink.add(
            "funding_rate_annualized_ratio",
            float(annualised_funding(m.funding_rate, interval_s / 3600.0)),
            lab,
            fresh=mark_ok,
            reason=unknown,
        )
        if m.next_funding_ns:
            sink.add("funding_next_timestamp_seconds", m.next_funding_ns / 1e9, lab)
        quote = snap.quotes.get((venue, symbol, "spot"))
        if quote is not None:
            spot_ok = mark_ok and fresh.get((venue, f"book:spot:{symbol}"), False)
            mid = 0.5 * (quote.bid + quote.ask)
            sink.add("spot_price_usd", mid, lab, fresh=spot_ok)
            sink.add("basis_usd", float(basis(mid, m.mark)), lab, fresh=spot_ok)
            sink.add("basis_bps", float(basis_bps(mid, m.mark)), lab, fresh=spot_ok)
        grid = snap.mark_grid.get((venue, symbol))
        sigma, why = (
            _ewma_sigma_ann(grid[1], step_s, lam) if grid is not None else (math.nan, "empty_history")
        )
        if (venue, symbol) in snap.given_volatility:  # what-if: an input, not an estimate
            sigma, why = snap.given_volatility[(venue, symbol)], "given"
        sink.add("volatility_annualized_ratio", sigma, lab, fresh=mark_ok, reason=why)
        views[(venue, symbol)] = MarketView(m.mark, mark_ok, sigma, m.funding_rate, interval_s / 3600.0)
    return views


def annualised(var: float, why: str, step_s: float) -> tuple[float, str]:
    """A variance and its reason as the market stage reports σ: annualised, NaN with a reason."""
    if why:
        return math.nan, why
    if not (var > 0):
        return math.nan, "zero_volatility"
    return float(annualise_vol(math.sqrt(var), periods_per_year(step_s))), ""
