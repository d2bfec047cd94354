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
monitor/webauth.py); /healthz stays open for liveness probes. A reload (SIGHUP) re-reads that file
and serves the new certificate without closing the listening socket: a new site starts accepting
on a duplicate of the same socket before the old one stops, so no connection attempt is refused
and connections already open (Prometheus keeps its scrape connection alive) carry on.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from monitor.errors import ConfigError
from monitor.exposition import FigureExposition
from monitor.records import Figures
from monitor.webauth import Gate
from monitor.webconfig import WebConfig, bind_problem, load_web_config, server_ssl_context

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
    ) -> None:
        self._host = host
        self._port = port
        self._registry = registry
        self._health = health
        self._figures = figures
        self._exposition = FigureExposition()
        self._pool: ThreadPoolExecutor | None = None  # one thread: a second scrape of a tick hits the memo
        self._runner: web.AppRunner | None = None
        self._web_config_file = web_config_file
        self._allow_insecure_bind = allow_insecure_bind
        self.web_config: WebConfig | None = None
        self._gate = Gate(lambda: self.web_config)
        self._sites: list[web.BaseSite] = []
        self.bound_port = 0

    def _app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/-/healthy", self._healthz)
        app.router.add_get("/", self._index)
        self._gate.install(app)
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

    async def _healthz(self, _req: web.Request) -> web.Response:
        ok, detail = self._health()
        return web.json_response({"status": "ok" if ok else "unhealthy", **detail}, status=200 if ok else 503)

    async def _index(self, _req: web.Request) -> web.Response:
        return web.Response(text="perpmon: see /metrics and /healthz\n")

    @property
    def scheme(self) -> str:
        return "https" if self.web_config is not None and self.web_config.tls is not None else "http"

    def _load(self) -> tuple[WebConfig | None, ssl.SSLContext | None]:
        """The web config and a fresh TLS context from the files as they are now (ConfigError if not)."""
        if self._web_config_file is None:
            return None, None
        cfg = load_web_config(self._web_config_file)
        problem = bind_problem(self._host, cfg, self._allow_insecure_bind)
        if problem:
            raise ConfigError("http.web_config_file", problem)
        return cfg, None if cfg.tls is None else server_ssl_context(cfg.tls)

    async def start(self) -> None:
        self.web_config, ctx = self._load()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="perpmon-metrics")
        self._runner = web.AppRunner(self._app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, ssl_context=ctx)
        await site.start()
        self._sites = [site]
        server = site._server
        sockets = getattr(server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self._port

    async def reload_web_config(self) -> WebConfig | None:
        """Re-read the web config file and serve it; ConfigError leaves the old one serving as it was.

        The listening sockets stay open throughout: each is duplicated under a site with the new
        TLS context, which accepts before the old site closes its own descriptor.
        """
        if self._web_config_file is None or self._runner is None:
            return self.web_config
        cfg, ctx = await asyncio.to_thread(self._load)
        listening = [s for site in self._sites for s in (getattr(site._server, "sockets", None) or ())]
        fresh: list[web.BaseSite] = [web.SockSite(self._runner, s.dup(), ssl_context=ctx) for s in listening]
        try:
            for site in fresh:
                await site.start()
        except OSError:
            for site in fresh:
                if site in self._runner.sites:
                    await site.stop()
            raise
        old, self._sites, self.web_config = self._sites, fresh, cfg
        for site in old:
            await site.stop()
        return cfg

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
            self._sites = []
        self._gate.close()
        if self._pool is not None:  # a render still running finishes on its own; nothing waits for it
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
