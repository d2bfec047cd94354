"""Venue collectors. `COLLECTORS` is the one place venue kinds are listed.

`binanceusdm` is the native Binance USDⓈ-M collector (fast streams, user data stream), `bybit` the
native Bybit v5 one (linear USDT perpetuals + spot, private stream); `ccxt` is the generic ccxt.pro
collector for any other venue ccxt supports (`exchange = "okx"` …).
"""

from __future__ import annotations

from monitor.clock import Clock
from monitor.collectors.base import Collector, RecordSink
from monitor.collectors.binance.collector import BinanceEndpoints, BinanceUsdmCollector, account_access
from monitor.collectors.bybit.collector import BybitCollector, BybitEndpoints
from monitor.collectors.generic.collector import CcxtProCollector
from monitor.config import Config, Secrets, VenueConfig

__all__ = ["COLLECTORS", "Endpoints", "build_collector"]

COLLECTORS: dict[str, type[BinanceUsdmCollector] | type[BybitCollector] | type[CcxtProCollector]] = {
    "binanceusdm": BinanceUsdmCollector,
    "bybit": BybitCollector,  # takes BybitEndpoints; the others BinanceEndpoints (ccxt: Binance hosts only)
    "ccxt": CcxtProCollector,
}
Endpoints = BinanceEndpoints | BybitEndpoints


def build_collector(
    v: VenueConfig, cfg: Config, secrets: Secrets, endpoints: Endpoints, sink: RecordSink, clock: Clock
) -> Collector:
    """The collector for one configured venue (`endpoints` point its clients elsewhere)."""
    if v.kind == "bybit":
        if not isinstance(endpoints, BybitEndpoints):
            raise TypeError("a bybit venue needs BybitEndpoints")
        return BybitCollector(
            venue=v,
            cfg=cfg,
            endpoints=endpoints,
            accounts=account_access(cfg, secrets, v.name),
            sink=sink,
            clock=clock,
        )
    if isinstance(endpoints, BybitEndpoints) != (v.kind == "ccxt" and v.exchange == "bybit"):
        raise TypeError(f"a {v.kind} venue needs {'Bybit' if v.exchange == 'bybit' else 'Binance'}Endpoints")
    if v.kind == "ccxt":
        return CcxtProCollector(
            venue=v,
            cfg=cfg,
            endpoints=endpoints,
            accounts=account_access(cfg, secrets, v.name),
            sink=sink,
            clock=clock,
        )
    if isinstance(endpoints, BybitEndpoints):
        raise TypeError(f"a {v.kind} venue needs BinanceEndpoints")
    return BinanceUsdmCollector(
        venue=v,
        cfg=cfg,
        endpoints=endpoints,
        accounts=account_access(cfg, secrets, v.name),
        sink=sink,
        clock=clock,
    )
