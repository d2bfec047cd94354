"""OKX USDT-margined swaps: wire formats (`wire`: public frames, positions, balances, account mode;
`margin_wire`: positions and position tiers for the margin model).

The native collector (`collector.py`, `account.py`) is not written yet (issue 18, see
docs/venues/okx.md); until then OKX runs through the generic ccxt collector.
"""
