"""Point an unmodified ccxt client (sync, async_support or pro) at other hosts: the simulator, a
testnet, a proxy. The one place that knows each venue's URL layout inside ccxt (venues.md §4.1).

ccxt bakes its URLs in at construction, so they are rewritten on the instance afterwards; only the
host changes, the paths ccxt knows stay. Binance: every `fapi*` REST URL goes to the futures host
and every `sapi*`/`public`/`private`/`v1` URL to the spot host, keeping `/fapi/v3`, `/sapi/v1` …;
the linear WebSocket base becomes `<ws>/ws` (ccxt adds `/market`, `/public`, `/private`) and the spot
base `<spot ws>/stream/ws` (ccxt tells spot from swap frames by `/stream` in the URL). COIN-M
(`dapi*`) moves only through `point_binance_coinm_at` (its own host: `/dapi/v1`, `/dapi/v2`, and
the dstream base `<ws>/ws`); options and portfolio-margin URLs are never changed. Bybit: one REST
host for every category (`spot`, `futures`, `v2`, `public`, `private`), WebSocket paths
`/v5/public/<category>` and `/v5/private` under one base. OKX: one REST key (`rest`,
`https://{hostname}`) and one socket base (`ws`, to which ccxt adds `/public`, `/private`,
`/business`). A None argument leaves that part alone.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from monitor.venues import Endpoints

__all__ = [
    "point_binance",
    "point_binance_at",
    "point_binance_coinm",
    "point_binance_coinm_at",
    "point_bybit",
    "point_bybit_at",
    "point_hyperliquid",
    "point_hyperliquid_at",
    "point_okx",
    "point_okx_at",
]

_BINANCE_SPOT_KEYS = ("sapi", "public", "private", "v1")
_BYBIT_REST_KEYS = ("spot", "futures", "v2", "public", "private")
_BYBIT_PUBLIC = ("spot", "linear", "inverse", "option")


def point_binance_at(
    exchange: Any,
    futures_rest: str | None,
    spot_rest: str | None = None,
    futures_ws: str | None = None,
    spot_ws: str | None = None,
) -> None:
    """Rewrite a ccxt `binance`/`binanceusdm` client's `urls['api']` in place."""
    api: dict[str, Any] = exchange.urls["api"]
    for key, url in list(api.items()):
        if not isinstance(url, str):
            continue
        if key.startswith("fapi"):
            base = futures_rest
        elif key.startswith(_BINANCE_SPOT_KEYS):
            base = spot_rest
        else:
            continue
        if base:
            api[key] = base.rstrip("/") + urlsplit(url).path
    ws = api.get("ws")
    if isinstance(ws, dict):
        if futures_ws:
            ws["linear"] = futures_ws.rstrip("/") + "/ws"
        if spot_ws:
            ws["spot"] = spot_ws.rstrip("/") + "/stream/ws"
            ws["margin"] = ws["spot"]


def point_binance(exchange: Any, at: Endpoints) -> None:
    """`point_binance_at` from a venue's `Endpoints` (`monitor.venues`: Binance's URL pointer)."""
    point_binance_at(exchange, at.rest, at.spot_rest, at.ws, at.spot_ws)


def point_binance_coinm_at(
    exchange: Any, rest: str | None, ws: str | None = None, spot_rest: str | None = None
) -> None:
    """Rewrite a ccxt `binancecoinm` client's `dapi*` REST URLs, its `inverse` socket base and, when
    given, its `sapi`/spot URLs (the key check; the simulator serves it beside dapi)."""
    api: dict[str, Any] = exchange.urls["api"]
    for key, url in list(api.items()):
        if not isinstance(url, str):
            continue
        base = rest if key.startswith("dapi") else spot_rest if key.startswith(_BINANCE_SPOT_KEYS) else None
        if base:
            api[key] = base.rstrip("/") + urlsplit(url).path
    sockets = api.get("ws")
    if ws and isinstance(sockets, dict):
        sockets["inverse"] = ws.rstrip("/") + "/ws"


def point_binance_coinm(exchange: Any, at: Endpoints) -> None:
    """`point_binance_coinm_at` from a venue's `Endpoints` (COIN-M is a host of its own)."""
    point_binance_coinm_at(exchange, at.rest, at.ws, at.spot_rest)


def point_bybit(exchange: Any, at: Endpoints) -> None:
    """`point_bybit_at` from a venue's `Endpoints` (Bybit serves spot on its one host)."""
    point_bybit_at(exchange, at.rest, at.ws)


def point_bybit_at(exchange: Any, rest: str | None, ws: str | None = None) -> None:
    """Rewrite a ccxt `bybit` client's `urls['api']` in place (REST host, WebSocket base)."""
    api: dict[str, Any] = exchange.urls["api"]
    if rest:
        for key in _BYBIT_REST_KEYS:
            if isinstance(api.get(key), str):
                api[key] = rest.rstrip("/")
    sockets = api.get("ws")
    if ws and isinstance(sockets, dict):
        base = ws.rstrip("/")
        public = sockets.get("public")
        if isinstance(public, dict):
            for category in _BYBIT_PUBLIC:
                public[category] = f"{base}/v5/public/{category}"
        private = sockets.get("private")
        if isinstance(private, dict):
            private["contract"] = f"{base}/v5/private"
            spot = private.get("spot")
            if isinstance(spot, dict):
                spot["unified"] = f"{base}/v5/private"


def point_hyperliquid(exchange: Any, at: Endpoints) -> None:
    """`point_hyperliquid_at` from a venue's `Endpoints` (`ws`: the socket base; the path is `/ws`)."""
    point_hyperliquid_at(exchange, at.rest, at.ws)


def point_hyperliquid_at(exchange: Any, rest: str | None, ws: str | None = None) -> None:
    """Rewrite a ccxt `hyperliquid` client's `urls['api']` in place: `POST /info` (and `/exchange`)
    on `rest`, the socket at `<ws>/ws` (ccxt.pro reads `urls['api']['ws']['public']`)."""
    api: dict[str, Any] = exchange.urls["api"]
    if rest:
        for key in ("public", "private"):
            api[key] = rest.rstrip("/")
    if ws:
        sockets = api.setdefault("ws", {})
        if isinstance(sockets, dict):
            sockets["public"] = f"{ws.rstrip('/')}/ws"


def point_okx_at(exchange: Any, rest: str | None, ws: str | None = None) -> None:
    """Rewrite a ccxt `okx` client's `urls['api']` in place: REST host, socket base (+ `/ws/v5`)."""
    api: dict[str, Any] = exchange.urls["api"]
    if rest:
        api["rest"] = rest.rstrip("/")
    if ws:
        base = ws.rstrip("/")
        api["ws"] = base if base.endswith("/ws/v5") else base + "/ws/v5"


def point_okx(exchange: Any, at: Endpoints) -> None:
    """`point_okx_at` from a venue's `Endpoints`."""
    point_okx_at(exchange, at.rest, at.ws)
