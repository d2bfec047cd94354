"""Binance USDⓈ-M (+ its spot books): the native collector, its accounts, history and wire format.

Registered in `monitor.venues` (kind `binanceusdm`); nothing here is imported until a venue of
that kind is built.
"""
