"""Venue collectors. `COLLECTORS` is the one place venue kinds are listed."""

from monitor.collectors.binanceusdm import BinanceUsdmCollector

__all__ = ["COLLECTORS"]

COLLECTORS = {"binanceusdm": BinanceUsdmCollector}
