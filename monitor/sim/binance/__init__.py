"""The simulated Binance USDⓈ-M futures and spot hosts: their account engine, REST and WebSocket.

One venue in one place: everything here speaks Binance's wire shapes or applies Binance's margin
model; what every simulated venue rides on (the replayed market, funding, brackets, faults, limits)
stays in `monitor.sim`. No imports here, so naming a module loads only what it needs.
"""
