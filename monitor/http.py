"""The daemon's HTTP face: /metrics for Prometheus, /healthz for service managers.

/healthz answers 503 when the evaluation loop has not ticked for a while, because a daemon whose
process is alive but whose loop is stuck is exactly the silent stall an operator must see.

/metrics is the tick's figures (monitor/exposition.py) followed by the registry (self-health,
reload, shard: a few dozen series). The registry is rendered on the loop, because its collectors
read counters the loop mutates; the figures, tens of thousands of series on a desk's book, are
rendered in a worker thread from the published `Figures` (immutable, so no copy is needed), once
per tick however many scrapes come. Rendering once per tick instead would spend the work on every
tick (each second) for a scrape every 15 s, and it still could not run on the loop.

TLS and basic auth come from an exporter-toolkit web config file (monitor/webconfig.py, checks in
monitor/webauth.py, the listener that swaps certificates in place in monitor/weblistener.py);
/healthz stays open for liveness probes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from monitor.exposition import FigureExposition
from monitor.records import Figures
from monitor.status.routes import StatusRoutes
from monitor.webauth import AUTHENTICATED
from monitor.webconfig import WebConfig
from monitor.weblistener import WebListener

__all__ = ["HttpServer"]


class HttpServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        registry: CollectorRegistry,
        health: Callable[[], tuple[bool, dict[str, object]]],
        figures: Callable[[], Figures | None] = lambda: None,
        web_config_file: str | None = None,
        allow_insecure_bind: bool = False,
        watch_s: float = 60.0,
        status: StatusRoutes | None = None,
    ) -> None:
        self._host = host
        self._port = port
        self._registry = registry
        self._health = health
        self._figures = figures
        self._status = status
        self._exposition = FigureExposition()
        self._pool: ThreadPoolExecutor | None = None  # one thread: a second scrape of a tick hits the memo
        self._runner: web.AppRunner | None = None
        self._listener = WebListener(
            host, port, web_config_file, allow_insecure_bind=allow_insecure_bind, watch_s=watch_s
        )

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/-/healthy", self._healthz)
        app.router.add_get("/", self._index)
        if self._status is not None:  # /status, /status/body, /status.json (monitor/status/)
            self._status.register(app)
        self._listener.gate.install(app)
        return app

    async def _metrics(self, req: web.Request) -> web.StreamResponse:
        rest = generate_latest(self._registry)
        figs = self._figures()
        if figs is None or self._pool is None:
            return web.Response(body=rest, headers={"Content-Type": CONTENT_TYPE_LATEST})
        loop = asyncio.get_running_loop()
        chunks = await loop.run_in_executor(self._pool, self._exposition.chunks, figs)
        resp = web.StreamResponse(headers={"Content-Type": CONTENT_TYPE_LATEST})
        resp.content_length = sum(map(len, chunks)) + len(rest)
        await resp.prepare(req)
        for chunk in (*chunks, rest):  # a few hundred kB at a time: megabytes are never copied at once
            await resp.write(chunk)
        await resp.write_eof()
        return resp

    async def _healthz(self, req: web.Request) -> web.Response:
        ok, detail = self._health()
        if not req.get(AUTHENTICATED, True):  # a probe without the login: ok or not, no task (account) names
            detail = {}
        return web.json_response({"status": "ok" if ok else "unhealthy", **detail}, status=200 if ok else 503)

    async def _index(self, _req: web.Request) -> web.Response:
        return web.Response(text="perpmon: see /status, /metrics and /healthz\n")

    @property
    def scheme(self) -> str:
        return self._listener.scheme

    @property
    def bound_port(self) -> int:
        return self._listener.bound_port

    @property
    def web_config(self) -> WebConfig | None:
        return self._listener.web_config

    async def start(self) -> None:
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="perpmon-metrics")
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        try:
            await self._listener.start(self._runner)
        except BaseException:
            await self.stop()
            raise

    async def reload_web_config(self) -> WebConfig | None:
        """Re-read the web config file and serve it in place; ConfigError keeps the old one serving."""
        return await self._listener.reload()

    async def stop(self) -> None:
        await self._listener.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._pool is not None:  # a render still running finishes on its own; nothing waits for it
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
