"""The funding interval is the venue's, per symbol: until it is known, per-year figures are not guessed."""

from __future__ import annotations

import math

import pytest

from monitor.clock import NS_PER_S
from monitor.config import parse_config
from monitor.evaluator import Evaluator
from monitor.records import Figure, Figures, FundingInfo, MarkPrice
from monitor.store.state import StateStore

T0 = 1_700_000_000 * NS_PER_S
CFG, _ = parse_config({"venues": [{"name": "binance", "symbols": ["BTCUSDT"]}]}, {})


def figures(*interval_s: float) -> Figures:
    st = StateStore()
    st.put(MarkPrice(venue="binance", symbol="BTCUSDT", ts_event_ns=T0, ts_recv_ns=T0,
                     mark=100.0, index=100.0, funding_rate=0.0001))  # fmt: skip
    for i in interval_s:
        st.put(FundingInfo(venue="binance", symbol="BTCUSDT", ts_event_ns=T0, ts_recv_ns=T0, interval_s=i))
    return Evaluator(CFG, started_ns=T0).evaluate(st.snapshot(T0), T0)


def one(figs: Figures, name: str) -> Figure:
    (f,) = [f for k, f in figs.items.items() if k.name == name and k.labels().get("symbol") == "BTCUSDT"]
    return f


def test_before_the_venue_tells_the_interval_funding_per_year_is_not_available() -> None:
    """No FundingInfo yet: the interval and the annualised rate are NaN with a reason, not an 8 h guess."""
    figs = figures()
    for name in ("funding_interval_seconds", "funding_rate_annualized_ratio"):
        f = one(figs, name)
        assert math.isnan(f.value) and f.reason == "funding_interval_unknown"
    assert one(figs, "funding_rate_ratio").value == 0.0001  # the rate per interval is still known


@pytest.mark.parametrize(("hours", "per_year"), [(8, 0.1095), (4, 0.219), (1, 0.876)])
def test_the_venue_interval_sets_the_annualised_rate(hours: int, per_year: float) -> None:
    figs = figures(hours * 3600.0)
    assert one(figs, "funding_interval_seconds").value == hours * 3600.0
    assert one(figs, "funding_rate_annualized_ratio").value == pytest.approx(per_year)
