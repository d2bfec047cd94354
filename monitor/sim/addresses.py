"""Where each simulated host listens: the URLs a collector, ccxt or a test points at.

Split from `server.py` so the Simulator holds the world and its tick while this holds only the
arithmetic of addresses; a host's port is 0 until `start()` has bound it (the OS picks one when
the config asks for port 0), so these read the bound ports, never the configured ones.
"""

from __future__ import annotations

from monitor.config import SimulatorConfig

__all__ = ["SimAddresses"]


class SimAddresses:
    """The URL properties of the Simulator: REST is `http://`, sockets `ws://`, on the same port."""

    _cfg: SimulatorConfig
    _ports: tuple[int, int, int, int]  # futures, spot, Bybit, Hyperliquid (bound in `start()`)
    _coinm_port: int

    def _at(self, scheme: str, port: int) -> str:
        return f"{scheme}://{self._cfg.host}:{port}"

    @property
    def futures_rest_url(self) -> str:
        return self._at("http", self._ports[0])

    @property
    def futures_ws_url(self) -> str:
        return self._at("ws", self._ports[0])

    @property
    def spot_rest_url(self) -> str:
        return self._at("http", self._ports[1])

    @property
    def spot_ws_url(self) -> str:
        return self._at("ws", self._ports[1])

    @property
    def bybit_rest_url(self) -> str:
        return self._at("http", self._ports[2])

    @property
    def bybit_ws_url(self) -> str:
        """The WebSocket base: `/v5/public/linear`, `/v5/public/spot` and `/v5/private` hang off it."""
        return self._at("ws", self._ports[2])

    @property
    def coinm_rest_url(self) -> str:
        """Binance COIN-M: `/dapi/...` REST and the dstream sockets (`/ws`, `/stream`) on one port."""
        return self._at("http", self._coinm_port)

    @property
    def coinm_ws_url(self) -> str:
        return self._at("ws", self._coinm_port)

    @property
    def hyperliquid_url(self) -> str:  # POST /info and the socket GET /ws (ws://) hang off it
        return self._at("http", self._ports[3])
