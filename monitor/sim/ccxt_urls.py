"""Aim an unmodified ccxt client at a running simulator (or at any set of URLs), whatever its venue.

A convenience over `monitor.collectors.ccxt_urls`, which holds the one URL recipe per venue: this
only picks the simulator's addresses that fit the client (`bybit` → the Bybit host, `binancecoinm`
→ the COIN-M host plus Binance's spot host for `sapi`, `hyperliquid` → its host, `okx` → the OKX
host, anything else → the Binance futures and spot hosts).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from monitor.collectors.ccxt_urls import (
    point_binance_at,
    point_binance_coinm_at,
    point_bybit_at,
    point_hyperliquid_at,
    point_okx_at,
)

__all__ = ["SimUrls", "point_ccxt_at"]

# `Simulator` (or anything with these `*_url` attributes), or a mapping with these keys
SimUrls = Any


def _pick(source: SimUrls | Mapping[str, str | None] | None, name: str, override: str | None) -> str | None:
    if override is not None:
        return override
    if source is None:
        return None
    if isinstance(source, Mapping):
        return source.get(name)
    value = getattr(source, name, None)
    return value if isinstance(value, str) else None


def point_ccxt_at(
    exchange: Any,
    sim_or_urls: SimUrls | Mapping[str, str | None] | None = None,
    *,
    futures_rest_url: str | None = None,
    futures_ws_url: str | None = None,
    spot_rest_url: str | None = None,
    spot_ws_url: str | None = None,
    bybit_rest_url: str | None = None,
    bybit_ws_url: str | None = None,
    coinm_rest_url: str | None = None,
    coinm_ws_url: str | None = None,
    hyperliquid_url: str | None = None,
    okx_rest_url: str | None = None,
    okx_ws_url: str | None = None,
) -> None:
    """Override `exchange.urls['api']` in place; keyword arguments win over `sim_or_urls`.

    Call after constructing the exchange and before its first request.
    """
    if getattr(exchange, "id", "") == "hyperliquid":  # one host: POST /info, the socket at /ws
        url = _pick(sim_or_urls, "hyperliquid_url", hyperliquid_url)
        point_hyperliquid_at(exchange, url, url.replace("http", "ws", 1) if url else None)
        return
    if getattr(exchange, "id", "") == "bybit":
        point_bybit_at(
            exchange,
            _pick(sim_or_urls, "bybit_rest_url", bybit_rest_url),
            _pick(sim_or_urls, "bybit_ws_url", bybit_ws_url),
        )
        return
    if getattr(exchange, "id", "") == "binancecoinm":  # COIN-M's own host; spot (sapi) on Binance's
        point_binance_coinm_at(
            exchange,
            _pick(sim_or_urls, "coinm_rest_url", coinm_rest_url),
            _pick(sim_or_urls, "coinm_ws_url", coinm_ws_url),
        )
    if getattr(exchange, "id", "") == "okx":
        okx = getattr(sim_or_urls, "okx", None)  # a Simulator: its OKX venue knows its URLs
        rest = okx_rest_url or (okx.rest_url if okx else _pick(sim_or_urls, "okx_rest_url", None))
        ws = okx_ws_url or (okx.ws_url if okx else _pick(sim_or_urls, "okx_ws_url", None))
        point_okx_at(exchange, rest, ws)
        return
    point_binance_at(
        exchange,
        _pick(sim_or_urls, "futures_rest_url", futures_rest_url),
        _pick(sim_or_urls, "spot_rest_url", spot_rest_url),
        _pick(sim_or_urls, "futures_ws_url", futures_ws_url),
        _pick(sim_or_urls, "spot_ws_url", spot_ws_url),
    )
