"""The simulated Bybit v5 venue: its market on top of the shared one, accounts, REST and WebSocket.

One venue in one place: everything here speaks Bybit's wire shapes or applies Bybit's margin model;
what every simulated venue rides on (the replayed market, funding, faults, limits) stays in
`monitor.sim`. No imports here, so naming a module loads only what it needs.
"""
