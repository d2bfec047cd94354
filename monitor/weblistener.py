"""The HTTP listener under the web config: TLS from its files, swapped in place on reload.

A reload (SIGHUP, or a changed file seen by the watch) re-reads the web config and its
certificate files and serves them without closing the listening socket: each socket is duplicated
under a new aiohttp site with the new TLS context, which accepts before the old site closes its
own descriptor. So no connection attempt is refused, and connections already open (Prometheus
keeps its scrape connection alive) carry on with the session they negotiated.

The watch exists for Kubernetes: cert-manager renews the Secret, the kubelet swaps the mounted
files, and nobody sends a signal. Polling a handful of `stat`s every minute costs nothing and
needs no inotify (which misses the kubelet's symlink swap anyway). A file that fails to load is
logged once per change, not once per poll, and the old pair keeps serving.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl

import structlog
from aiohttp import web

from monitor.errors import ConfigError
from monitor.webauth import Gate
from monitor.webconfig import WebConfig, bind_problem, load_web_config, server_ssl_context

__all__ = ["WebListener"]

log = structlog.get_logger(__name__)

_Signature = tuple[tuple[str, int, int, int], ...]


class WebListener:
    def __init__(
        self,
        host: str,
        port: int,
        web_config_file: str | None = None,
        *,
        allow_insecure_bind: bool = False,
        watch_s: float = 60.0,  # 0: only a SIGHUP reloads
    ) -> None:
        self._host = host
        self._port = port
        self._file = web_config_file
        self._allow_insecure_bind = allow_insecure_bind
        self._watch_s = watch_s
        self.web_config: WebConfig | None = None
        self.gate = Gate(lambda: self.web_config)
        self._runner: web.AppRunner | None = None
        self._sites: list[web.BaseSite] = []
        self._lock = asyncio.Lock()  # a SIGHUP and the watch never swap sites at once
        self._watch: asyncio.Task[None] | None = None
        self._seen: _Signature = ()
        self.bound_port = 0

    @property
    def scheme(self) -> str:
        return "https" if self.web_config is not None and self.web_config.tls is not None else "http"

    def _load(self) -> tuple[WebConfig | None, ssl.SSLContext | None, _Signature]:
        """The web config, a fresh TLS context and the files' signature as they are now."""
        if self._file is None:
            return None, None, ()
        cfg = load_web_config(self._file)
        problem = bind_problem(self._host, cfg, self._allow_insecure_bind)
        if problem:
            raise ConfigError("http.web_config_file", problem)
        ctx = None if cfg.tls is None else server_ssl_context(cfg.tls)
        # stat after reading: a change in between is seen at the next change (the kubelet swaps all at once)
        return cfg, ctx, self._signature(self._file, cfg)

    @staticmethod
    def _signature(path: str, cfg: WebConfig | None) -> _Signature:
        """(path, mtime, size, inode) of the web config and the files it names; a missing file is zeros."""
        files = [path]
        if cfg is not None and cfg.tls is not None:
            files += [cfg.tls.cert_file, cfg.tls.key_file]
            files += [cfg.tls.client_ca_file] if cfg.tls.client_ca_file else []
        out = []
        for f in files:
            try:
                st = os.stat(f)  # follows symlinks: the kubelet swaps a `..data` link
                out.append((f, st.st_mtime_ns, st.st_size, st.st_ino))
            except OSError:
                out.append((f, 0, 0, 0))
        return tuple(out)

    async def start(self, runner: web.AppRunner) -> None:
        self.web_config, ctx, self._seen = self._load()
        self._runner = runner
        site = web.TCPSite(runner, self._host, self._port, ssl_context=ctx)
        await site.start()
        self._sites = [site]
        sockets = getattr(site._server, "sockets", None) or []
        self.bound_port = sockets[0].getsockname()[1] if sockets else self._port
        if self._file is not None and self._watch_s > 0:
            self._watch = asyncio.create_task(self._watch_files(), name="web-config-watch")

    async def reload(self) -> WebConfig | None:
        """Re-read the web config and serve it; ConfigError leaves the old one serving as it was."""
        async with self._lock:
            if self._file is None or self._runner is None:
                return self.web_config
            try:
                cfg, ctx, seen = await asyncio.to_thread(self._load)
            except ConfigError:
                self._seen = await asyncio.to_thread(self._signature, self._file, self.web_config)
                raise
            runner = self._runner
            listening = [s for site in self._sites for s in (getattr(site._server, "sockets", None) or ())]
            fresh: list[web.BaseSite] = [web.SockSite(runner, s.dup(), ssl_context=ctx) for s in listening]
            try:
                for site in fresh:
                    await site.start()
            except OSError:
                for site in fresh:
                    if site in runner.sites:
                        await site.stop()
                raise
            old, self._sites, self.web_config, self._seen = self._sites, fresh, cfg, seen
            for site in old:
                await site.stop()
            return cfg

    async def _watch_files(self) -> None:
        assert self._file is not None
        while True:
            await asyncio.sleep(self._watch_s)
            now = await asyncio.to_thread(self._signature, self._file, self.web_config)
            if now == self._seen:
                continue
            try:
                web_cfg = await self.reload()
            except (ConfigError, OSError) as exc:  # logged once: the signature is remembered
                log.error("changed web config refused; the running TLS and users stay", error=str(exc))
                continue
            log.info("web config changed on disk and reloaded", **(web_cfg.describe() if web_cfg else {}))

    async def stop(self) -> None:
        """Stop the watch (the runner's cleanup closes the sites)."""
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
        self._sites = []
        self._runner = None
        self.gate.close()
