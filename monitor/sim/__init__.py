"""A Binance USDⓈ-M / spot venue simulator that unmodified ccxt clients talk to over loopback.

`server.Simulator` wires it together; `ccxt_urls.point_ccxt_at` points a ccxt client at it;
`testing` holds helpers for tests that need a running simulator.
"""
