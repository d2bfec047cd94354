"""OKX USDT-margined swaps: for now the wire format of positions and position tiers (`margin_wire`).

Not registered in `monitor.venues` yet; the native collector comes with issue 18's next part.
"""
