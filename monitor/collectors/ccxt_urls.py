"""Point a ccxt Binance client at other hosts (the simulator, a testnet, a proxy).

ccxt bakes its URLs in at construction, so they must be rewritten on the instance afterwards;
only the host changes, the version paths (/fapi/v1, /fapi/v3, /sapi/v1 …) stay as ccxt knows
them (venues.md §4.1).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

__all__ = ["point_binance_at"]


def point_binance_at(
    exchange: Any,
    futures_rest: str | None,
    spot_rest: str | None = None,
    futures_ws: str | None = None,
    spot_ws: str | None = None,
) -> None:
    """Rewrite `exchange.urls['api']` in place; a None argument leaves that part alone."""
    api: dict[str, Any] = exchange.urls["api"]
    for key, url in list(api.items()):
        if not isinstance(url, str):
            continue
        base = futures_rest if key.startswith("fapi") else spot_rest
        if key.startswith(("fapi", "sapi", "public", "private", "v1")) and base:
            api[key] = base.rstrip("/") + urlsplit(url).path
    ws = api.get("ws")
    if isinstance(ws, dict):
        if futures_ws:
            ws["linear"] = futures_ws.rstrip("/") + "/ws"  # ccxt adds /market, /public, /private
        if spot_ws:
            ws["spot"] = spot_ws.rstrip("/") + "/stream/ws"  # ccxt tells spot by '/stream'
