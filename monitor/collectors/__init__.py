"""Venue collectors. `COLLECTORS` is the one place venue kinds are listed.

`binanceusdm` is the native Binance USDⓈ-M collector (fast streams, user data stream); `ccxt` is
the generic ccxt.pro collector for any other venue ccxt supports (`exchange = "okx"` …).
"""

from __future__ import annotations

from monitor.clock import Clock
from monitor.collectors.base import Collector, RecordSink
from monitor.collectors.binanceusdm import BinanceEndpoints, BinanceUsdmCollector, account_access
from monitor.collectors.ccxtpro import CcxtProCollector
from monitor.config import Config, Secrets, VenueConfig

__all__ = ["COLLECTORS", "build_collector"]

COLLECTORS: dict[str, type[BinanceUsdmCollector] | type[CcxtProCollector]] = {
    "binanceusdm": BinanceUsdmCollector,
    "ccxt": CcxtProCollector,
}


def build_collector(
    v: VenueConfig, cfg: Config, secrets: Secrets, endpoints: BinanceEndpoints, sink: RecordSink, clock: Clock
) -> Collector:
    """The collector for one configured venue (`endpoints` point a Binance client elsewhere)."""
    cls = COLLECTORS[v.kind]
    return cls(
        venue=v,
        cfg=cfg,
        endpoints=endpoints,
        accounts=account_access(cfg, secrets, v.name),
        sink=sink,
        clock=clock,
    )
