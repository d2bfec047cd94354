"""The simulated Hyperliquid perpetuals venue: `POST /info` and the `/ws` socket on a port of its own.

Driven by the Binance replay (one crash moves every venue): `market.py` turns its quotes into
Hyperliquid asset contexts with hourly funding, `accounts.py` keeps address-keyed cross and
isolated accounts whose `liquidationPx` is perpmon's pure model (`risk/hyperliquid_margin.py`),
`venue.py` serves both over aiohttp.
"""
