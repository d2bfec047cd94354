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

from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.risk.funding import funding_spread

__all__ = ["funding_spread_figures", "pair_label"]


def pair_label(a: str, b: str) -> str:
    return f"{a}/{b}"


def funding_spread_figures(markets: dict[tuple[str, str], MarketView], sink: FigureSink) -> None:
    by_symbol: dict[str, dict[str, MarketView]] = defaultdict(dict)
    for (venue, symbol), mv in markets.items():
        by_symbol[symbol][venue] = mv
    for symbol, views in sorted(by_symbol.items()):
        for a, b in itertools.combinations(sorted(views), 2):
            va, vb = views[a], views[b]
            spread = float(
                funding_spread(va.funding_rate, va.funding_interval_h, vb.funding_rate, vb.funding_interval_h)
            )
            sink.add(
                "funding_spread_annualized_ratio",
                spread,
                fresh=va.mark_fresh and vb.mark_fresh,
                venue=pair_label(a, b),
                symbol=symbol,
            )
