"""The daemon's HTTP face: /metrics for Prometheus, /healthz for service managers.

/healthz answers 503 when the evaluation loop has not ticked for a while, because a daemon whose
process is alive but whose loop is stuck is exactly the silent stall an operator must see.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

__all__ = ["HttpServer"]


class HttpServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        registry: CollectorRegistry,
        health: Callable[[], tuple[bool, dict[str, object]]],
    ) -> None:
        self._host = host
        self._port = port
        self._registry = registry
        self._health = health
        self._runner: web.AppRunner | None = None
        self.bound_port = 0

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/-/healthy", self._healthz)
        app.router.add_get("/", self._index)
        return app

    async def _metrics(self, _req: web.Request) -> web.Response:
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _req: web.Request) -> web.Response:
        ok, detail = self._health()
        return web.json_response({"status": "ok" if ok else "unhealthy", **detail}, status=200 if ok else 503)

    async def _index(self, _req: web.Request) -> web.Response:
        return web.Response(text="perpmon: see /metrics and /healthz\n")

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port)
        await site.start()
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self._port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
