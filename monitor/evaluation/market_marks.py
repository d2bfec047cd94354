"""The market as a frame tick sees it: the snapshot's marks over the last full tick's market views.

A frame tick (monitor/evaluator.py `Evaluator.frame`) reprices the accounts on the marks that just
arrived (and takes the funding rate that rides on the same record); what else it reads from the
market — the mark feed's freshness, the annualised volatility, the funding interval — moves with time
or with finished bars, not with a mark frame, so it is carried from the last full tick. The
volatility is the EWMA over finished grid bars: it is the same number until the bar being filled
finishes, which the next grid tick takes up.
"""

from __future__ import annotations

from collections.abc import Mapping

from monitor.evaluation.market import MarketView
from monitor.store.state import Snapshot

__all__ = ["mark_views", "new_markets"]


def mark_views(
    snap: Snapshot, carried: Mapping[tuple[str, str], MarketView]
) -> dict[tuple[str, str], MarketView]:
    """`carried` (the last full tick's views) with each market's mark and funding rate from `snap`."""
    marks = snap.marks
    out: dict[tuple[str, str], MarketView] = {}
    for key, view in carried.items():
        m = marks.get(key)
        if m is None or (m.mark == view.mark and m.funding_rate == view.funding_rate):
            out[key] = view
        else:
            out[key] = MarketView(
                m.mark, view.mark_fresh, view.sigma_ann, m.funding_rate, view.funding_interval_h
            )
    return out


def new_markets(snap: Snapshot, carried: Mapping[tuple[str, str], MarketView]) -> bool:
    """True when `snap` has a market the last full tick had no view of (its volatility is not known yet)."""
    return len(snap.marks) != len(carried) or not snap.marks.keys() <= carried.keys()
