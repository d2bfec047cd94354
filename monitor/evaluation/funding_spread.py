"""Cross-venue funding spread per symbol: what a long here / short there earns, annualised.

Why annualised with each venue's own interval: the same symbol can settle hourly on one venue and
every 8 h on another, and comparing the raw rates would overstate or hide the spread by the ratio
of the intervals (`risk.funding.funding_spread`). One figure per unordered pair of venues quoting
the symbol, labelled `venue="<a>/<b>"` with a < b by name: its value is annualised(a) −
annualised(b), so a positive spread means shorts on `a` are paid more than on `b`. The figure is
not fresh unless both venues' marks are.
"""

from __future__ import annotations

import itertools
from collections import defaultdict

import numpy as np

from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.risk.funding import funding_spread

__all__ = ["funding_spread_figures", "pair_label"]


def pair_label(a: str, b: str) -> str:
    return f"{a}/{b}"


def funding_spread_figures(markets: dict[tuple[str, str], MarketView], sink: FigureSink) -> None:
    """Every pair at once: one `funding_spread` over the columns of all pairs, then one column of figures."""
    by_symbol: dict[str, dict[str, MarketView]] = defaultdict(dict)
    for (venue, symbol), mv in markets.items():
        by_symbol[symbol][venue] = mv
    pairs = [
        (symbol, a, b, views[a], views[b])
        for symbol, views in sorted(by_symbol.items())
        for a, b in itertools.combinations(sorted(views), 2)
    ]
    if not pairs:
        return
    spread = funding_spread(
        np.array([va.funding_rate for *_x, va, _vb in pairs], dtype=np.float64),
        np.array([va.funding_interval_h for *_x, va, _vb in pairs], dtype=np.float64),
        np.array([vb.funding_rate for *_x, vb in pairs], dtype=np.float64),
        np.array([vb.funding_interval_h for *_x, vb in pairs], dtype=np.float64),
    )
    sink.add_many(
        "funding_spread_annualized_ratio",
        [{"venue": pair_label(a, b), "symbol": symbol} for symbol, a, b, _va, _vb in pairs],
        spread.tolist(),
        [va.mark_fresh and vb.mark_fresh for *_x, va, vb in pairs],
        [""] * len(pairs),
    )
