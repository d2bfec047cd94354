"""The two Binance USDⓈ-M hosts as aiohttp apps: futures (`/fapi`, fstream) and spot (`/api/v3`).

Split from `server.py`, which builds the world and ticks it: this is only how a host is served,
its routes, its socket paths and its gate (scripted faults first, then the venue's organic
limits, `limits.py`), so a reader finds the serving of Binance beside Binance's handlers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from monitor.sim.binance.rest_account import futures_private_routes
from monitor.sim.binance.rest_extra import futures_extra_routes, spot_extra_routes
from monitor.sim.binance.rest_futures import futures_public_routes
from monitor.sim.binance.rest_spot import spot_routes
from monitor.sim.binance.venue import Venue
from monitor.sim.binance.ws import StreamHub
from monitor.sim.klines import KlineBook
from monitor.sim.limits import WeightLimit, binance_weight
from monitor.sim.replies import VenueError, error_response
from monitor.sim.rest_klines import binance_kline_routes

__all__ = ["futures_app", "spot_app"]

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _gate(v: Venue, limit: WeightLimit) -> Middleware:
    """One host's gate: scripted faults first, then the venue's organic limits (limits.py)."""

    @web.middleware
    async def gate(request: web.Request, handler: _Handler) -> web.StreamResponse:
        now_ns = v.clock.now_ns()
        ip = request.remote or ""
        if request.headers.get("Upgrade", "").lower() == "websocket":
            scripted = v.faults.handshake_refusal(now_ns)
            if scripted is not None:  # the venue's IP limits cover connection attempts too
                retry = {"Retry-After": str(v.faults.retry_after_s)}
                return web.Response(status=scripted, text="Too many requests", headers=retry)
            refused = limit.handshake(ip, now_ns)
            if refused is not None:
                return error_response(refused)
            return await handler(request)
        fault = v.faults.take_rest_fault(now_ns)
        try:
            if fault is not None:
                raise fault
            weight = binance_weight(limit.host, request.path, request.query)
            refused, _used = limit.admit(ip, weight, now_ns, request.path)
            if refused is not None:
                raise refused
            response = await handler(request)
        except VenueError as err:
            response = error_response(err)
        response.headers["X-MBX-USED-WEIGHT-1M"] = str(limit.used(ip, now_ns))
        return response

    return gate


def futures_app(v: Venue, hub: StreamHub, limit: WeightLimit, klines: KlineBook) -> web.Application:
    app = web.Application(middlewares=[_gate(v, limit)])
    app.add_routes(
        futures_public_routes(v)
        + futures_private_routes(v)
        + futures_extra_routes(v)
        + binance_kline_routes(klines, v.now_ms, spot=False)
    )
    for path in (
        "/ws",
        "/ws/{tail:.*}",
        "/stream",
        "/{cat:market|public|private}/ws",
        "/{cat:market|public|private}/ws/{tail:.*}",
        "/{cat:market|public|private}/stream",
    ):
        app.router.add_get(path, hub.handle)
    return app


def spot_app(v: Venue, hub: StreamHub, limit: WeightLimit, klines: KlineBook) -> web.Application:
    app = web.Application(middlewares=[_gate(v, limit)])
    app.add_routes(spot_routes(v) + spot_extra_routes(v) + binance_kline_routes(klines, v.now_ms, spot=True))
    for path in ("/ws", "/ws/{tail:.*}", "/stream", "/stream/ws", "/stream/ws/{tail:.*}"):
        app.router.add_get(path, hub.handle)
    return app
