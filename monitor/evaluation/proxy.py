"""Proxy (beta) hedges: holdings of one asset hedged with another asset's perpetual (risk-formulas §1).

For each `[[evaluation.proxy_hedges]]` pair: β = cov(r_A, r_B) / var(r_B) over the last `window`
aligned grid returns (A: the holdings' spot mids, B: the proxy perpetual's marks), the hedge
q_B = −h·β·V_A / P_B and R², the share of A's variance the hedge removes. Returns are aligned on
exact grid buckets, so a bucket one series lacks drops that pair rather than pairing stale prices.
"""

from __future__ import annotations

import math

from monitor.clock import NS_PER_S
from monitor.config import ProxyHedgeConfig
from monitor.evaluation.exposure import spot_mid
from monitor.evaluation.models import finished
from monitor.evaluation.sink import FigureSink
from monitor.risk.hedge import beta_hedge
from monitor.risk.reasons import Reason
from monitor.risk.volatility import log_returns, resample_last
from monitor.store.state import Snapshot

__all__ = ["proxy_hedge_figures"]


def _emit(sink: FigureSink, lab: dict[str, str], beta: float, r2: float, qty: float, why: str) -> None:
    sink.add("proxy_hedge_beta_ratio", beta, lab, reason=why)
    sink.add("proxy_hedge_r2_ratio", r2, lab, reason=why)
    sink.add("proxy_hedge_quantity", qty, lab, reason=why)


def proxy_hedge_figures(
    snap: Snapshot, hedges: tuple[ProxyHedgeConfig, ...], sink: FigureSink, *, step_s: float
) -> None:
    nan = math.nan
    for ph in hedges:
        lab = {"asset": ph.asset, "venue": ph.venue, "symbol": ph.symbol}
        held = sorted((h for h in snap.holdings.values() if h.asset == ph.asset), key=lambda h: h.name)
        if not held:
            _emit(sink, lab, nan, nan, nan, "no_holdings")
            continue
        value_a = sum(h.quantity * spot_mid(snap, h.price_venue, h.price_symbol) for h in held)
        ga = snap.spot_grid.get((held[0].price_venue, held[0].price_symbol))
        gb = snap.mark_grid.get((ph.venue, ph.symbol))
        mark = snap.marks.get((ph.venue, ph.symbol))
        if ga is None or gb is None or mark is None:
            _emit(sink, lab, nan, nan, nan, "empty_history")
            continue
        (ta, va), (tb, vb) = finished(ga), finished(gb)
        if ta.size < 2 or tb.size < 2:
            _emit(sink, lab, nan, nan, nan, "empty_history")
            continue
        end = int(min(ta[-1], tb[-1]))
        step_ns = int(step_s * NS_PER_S)
        pa = resample_last(ta, va, step_ns, end, ph.window + 1, max_age_ns=0)
        pb = resample_last(tb, vb, step_ns, end, ph.window + 1, max_age_ns=0)
        bh = beta_hedge(log_returns(pa), log_returns(pb), value_a, mark.mark, fraction=ph.fraction)
        why = "" if bh.reason == Reason.OK else bh.reason.name.lower()
        if bh.reason == Reason.OK and not math.isfinite(value_a):
            why = "no_spot_price"
        _emit(sink, lab, bh.beta, bh.r2, bh.qty if not why else nan, why)
