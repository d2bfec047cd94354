"""Binance COIN-M (`/dapi`, dstream): inverse perpetuals margined in coin (issue 17)."""
