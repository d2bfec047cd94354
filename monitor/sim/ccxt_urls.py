"""Point an unmodified ccxt Binance client (sync, async_support or pro) at other hosts.

The recipe of venues.md §4.1, measured against ccxt 4.5.90: after construction, replace the host
of every `fapi*` REST URL with the futures URL and of every `sapi*`/`public`/`private`/`v1` URL with
the spot URL, keeping each original path (`/fapi/v3`, `/sapi/v1`, …); set the linear WebSocket base
to `<futures ws>/ws` (ccxt rewrites it to `/market/ws/<n>`, `/public/ws/<n>`, `/private/ws`) and
the spot base to `<spot ws>/stream/ws` (ccxt tells spot from swap frames by `/stream` in the URL).
URLs left as None are not touched, so production code can call this with real overrides or none.
COIN-M (`dapi*`), options and portfolio-margin URLs are never changed: a `ccxt.binance` used
against the simulator should load only `options={'fetchMarkets': {'types': ['spot', 'linear']}}`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol
from urllib.parse import urlsplit

__all__ = ["SimUrls", "point_ccxt_at"]

_SPOT_KEYS = ("public", "private", "v1")


class SimUrls(Protocol):
    @property
    def futures_rest_url(self) -> str: ...

    @property
    def futures_ws_url(self) -> str: ...

    @property
    def spot_rest_url(self) -> str: ...

    @property
    def spot_ws_url(self) -> str: ...


def _pick(source: SimUrls | Mapping[str, str | None] | None, name: str, override: str | None) -> str | None:
    if override is not None:
        return override
    if source is None:
        return None
    if isinstance(source, Mapping):
        return source.get(name)
    value = getattr(source, name, None)
    return value if isinstance(value, str) else None


def _rehost(url: str, base: str) -> str:
    return base.rstrip("/") + urlsplit(url).path


def point_ccxt_at(
    exchange: Any,
    sim_or_urls: SimUrls | Mapping[str, str | None] | None = None,
    *,
    futures_rest_url: str | None = None,
    futures_ws_url: str | None = None,
    spot_rest_url: str | None = None,
    spot_ws_url: str | None = None,
) -> None:
    """Override `exchange.urls['api']` in place.

    `sim_or_urls` is a `Simulator` (anything with the four `*_url` attributes) or a mapping with
    those keys; keyword arguments win over it. Call after constructing the exchange and before its
    first request.
    """
    fut_rest = _pick(sim_or_urls, "futures_rest_url", futures_rest_url)
    fut_ws = _pick(sim_or_urls, "futures_ws_url", futures_ws_url)
    spot_rest = _pick(sim_or_urls, "spot_rest_url", spot_rest_url)
    spot_ws = _pick(sim_or_urls, "spot_ws_url", spot_ws_url)
    api: dict[str, Any] = exchange.urls["api"]
    for key, url in list(api.items()):
        if not isinstance(url, str):
            continue
        if key.startswith("fapi") and fut_rest is not None:
            api[key] = _rehost(url, fut_rest)
        elif (key.startswith("sapi") or key in _SPOT_KEYS) and spot_rest is not None:
            api[key] = _rehost(url, spot_rest)
    ws = api.get("ws")
    if isinstance(ws, dict):
        if fut_ws is not None:
            ws["linear"] = fut_ws.rstrip("/") + "/ws"
        if spot_ws is not None:
            ws["spot"] = spot_ws.rstrip("/") + "/stream/ws"
            ws["margin"] = ws["spot"]
