"""Hyperliquid perpetuals: for now the wire format of account state and asset contexts (`margin_wire`).

Not registered in `monitor.venues` yet; the native collector comes with issue 18's next part.
"""
