"""The simulated Binance COIN-M venue (`/dapi`, `dstream`): inverse perpetuals margined in coin.

It rides on the simulator's replayed market (BTCUSD_PERP follows BTCUSDT's mark, ETHUSD_PERP
ETHUSDT's), serves its REST and WebSocket on a loopback port of its own, and its account engine
holds coin wallets and contracts, liquidating by perpmon's pure inverse model
(`monitor/risk/inverse_margin.py`). See docs/venues/coin-margined.md.
"""
