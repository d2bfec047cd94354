"""Venue collectors: one package per venue (`binance`, `bybit`, `generic` for any other ccxt.pro
venue) beside the parts they share. Which collector runs a venue is its entry in `monitor.venues`;
a venue's package is imported only when a venue of its kind is built.
"""

from __future__ import annotations

from monitor.clock import Clock
from monitor.collectors.base import Collector, RecordSink, account_access
from monitor.config import Config, Secrets, VenueConfig
from monitor.venues import Endpoints, venue_of

__all__ = ["build_collector"]


def build_collector(
    v: VenueConfig, cfg: Config, secrets: Secrets, endpoints: Endpoints, sink: RecordSink, clock: Clock
) -> Collector:
    """The collector for one configured venue (`endpoints` point its clients elsewhere)."""
    return venue_of(v).new_collector(
        venue=v,
        cfg=cfg,
        endpoints=endpoints,
        accounts=account_access(cfg, secrets, v.name),
        sink=sink,
        clock=clock,
    )
