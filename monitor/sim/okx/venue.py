"""The simulated OKX v5 venue: its market, accounts, keys and one aiohttp app (REST + WS).

It rides on the Simulator's tick: after the Binance market advances, `tick()` turns the same mark
samples into OKX marks (so the engine sees every real low), settles OKX funding on its own 8-hour
grid, and pushes the public and private channels.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web

from monitor.clock import Clock
from monitor.config import SimulatorConfig
from monitor.secret import Secret
from monitor.sim.market import Market
from monitor.sim.okx.accounts import OkxAccountEngine
from monitor.sim.okx.auth import OkxAuthError, OkxKeyRing, verify_rest
from monitor.sim.okx.market import OkxMarket
from monitor.sim.okx.payloads import envelope, error_body
from monitor.sim.okx.rest import okx_routes
from monitor.sim.okx.ws import OkxHub
from monitor.sim.replies import json_reply

__all__ = ["OkxVenue"]

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class OkxVenue:
    def __init__(
        self,
        cfg: SimulatorConfig,
        keys: Mapping[str, tuple[Secret, Secret]],
        passwords: Mapping[str, Secret],
        clock: Clock,
        base: Market,
    ) -> None:
        self.clock = clock
        self.host, self.port = cfg.host, cfg.okx_port
        self.market = OkxMarket(base, clock)
        self.engine = OkxAccountEngine(
            cfg.accounts, self.market.specs, self.market.first_mark, self.market.marks(), self.now_ms()
        )
        self.keys = OkxKeyRing({n: k for n, k in keys.items() if n in self.engine.accounts}, passwords)
        self.settlements: dict[str, list[tuple[int, float]]] = {s: [] for s in self.market.specs}
        self.hub = OkxHub(
            market=self.market, engine=self.engine, keys=self.keys, clock=clock, settled=self.last_settled
        )
        self.engine.subscribe(self.hub.push_private)

    def bound(self, port: int) -> None:
        """The port its app listens on (the Simulator serves it), which the URLs name."""
        self.port = port

    @property
    def rest_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        """The WebSocket base: `/ws/v5/public` and `/ws/v5/private` hang off it."""
        return f"ws://{self.host}:{self.port}"

    def now_ms(self) -> int:
        return self.clock.now_ns() // 1_000_000

    def last_settled(self, symbol: str) -> float | None:
        kept = self.settlements.get(symbol)
        return kept[-1][1] if kept else None

    def tick(self, binance_samples: list[dict[str, float]]) -> None:
        now_ms = self.now_ms()
        for marks in self.market.advance(binance_samples):
            self.engine.on_marks(marks, now_ms)
        for symbol, time_ms, rate, mark in self.market.due_settlements():
            self.engine.settle_funding(symbol, rate, mark, now_ms)
            self.settlements[symbol].append((time_ms, rate))
        self.hub.broadcast()

    # --- what handlers share ----------------------------------------------------------------
    def reply(self, data: list[Any]) -> web.Response:
        return json_reply(envelope(data))

    def signed(self, request: web.Request) -> str:
        """The account of a signed GET (OKX signs the path with its query, `requestPath`)."""
        return verify_rest(self.keys, request.headers, request.method, request.raw_path, "", self.now_ms())

    @web.middleware
    async def _middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except OkxAuthError as err:
            return json_reply(error_body(err.code, err.msg), status=err.status)

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(okx_routes(self))
        app.router.add_get("/ws/v5/{channel:public|private}", self.hub.handle)
        return app
