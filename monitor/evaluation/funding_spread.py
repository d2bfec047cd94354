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
from collections.abc import Mapping

import numpy as np

from monitor.evaluation.market import MarketView, market_columns
from monitor.evaluation.sink import FigureSink
from monitor.records import FigureKey
from monitor.risk.funding import funding_spread

__all__ = ["funding_spread_figures", "pair_label"]


def pair_label(a: str, b: str) -> str:
    return f"{a}/{b}"


class _Pairs:
    """Every pair of venues quoting a symbol, as rows of the market columns, with its figure keys."""

    def __init__(self, keys: tuple[tuple[str, str], ...]) -> None:
        self.keys = keys
        by_symbol: dict[str, dict[str, int]] = defaultdict(dict)
        for i, (venue, symbol) in enumerate(keys):
            by_symbol[symbol][venue] = i
        pairs = [
            (symbol, a, b, rows[a], rows[b])
            for symbol, rows in sorted(by_symbol.items())
            for a, b in itertools.combinations(sorted(rows), 2)
        ]
        self.a = np.array([ia for *_x, ia, _ib in pairs], dtype=np.intp)
        self.b = np.array([ib for *_x, ib in pairs], dtype=np.intp)
        self.figure_keys = tuple(
            FigureKey(name=NAME, venue=pair_label(a, b), symbol=symbol) for symbol, a, b, _ia, _ib in pairs
        )


NAME = "funding_spread_annualized_ratio"
_last: list[_Pairs] = []


def _pairs(keys: tuple[tuple[str, str], ...]) -> _Pairs:
    """Last tick's pairs again while the markets are the same."""
    if _last and (_last[0].keys is keys or _last[0].keys == keys):
        return _last[0]
    got = _Pairs(keys)
    _last[:] = [got]
    return got


def funding_spread_figures(markets: Mapping[tuple[str, str], MarketView], sink: FigureSink) -> None:
    """Every pair at once: one `funding_spread` over the columns of all pairs, then one column of figures."""
    cols = market_columns(markets)
    pr = _pairs(cols.keys)
    if not pr.figure_keys:
        return
    a, b = pr.a, pr.b
    rate, hours = cols.funding_rate, cols.funding_interval_h
    spread = funding_spread(rate[a], hours[a], rate[b], hours[b])
    sink.add_array(NAME, pr.figure_keys, spread, cols.mark_fresh[a] & cols.mark_fresh[b], "")
