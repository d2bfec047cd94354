"""Bybit v5 linear USDT perpetuals (+ spot book tops): the native collector, its accounts, history
and wire format.

Registered in `monitor.venues` (kind `bybit`); nothing here is imported until a venue of that
kind is built.
"""
