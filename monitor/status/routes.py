"""The status page's routes beside /metrics: /status (HTML), /status/body (what it refreshes), /status.json.

Read-only: every handler reads the daemon's published state and changes nothing. The alerts are
read on the loop (the engine's state is the loop's); the page is built from the immutable
`Figures` and rendered in a worker thread, because at a desk's 85,000 figures each is tens of
milliseconds the loop should spend ticking (bench/status_page.py). A built page is kept until the
tick or the alerts change, so several viewers of one tick cost one build.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import msgspec
from aiohttp import web

from monitor.records import AlertEvent, Figures
from monitor.rules.model import Rule
from monitor.status.build import DEFAULT_LIMIT, build_status
from monitor.status.html import render_body, render_page
from monitor.status.model import StatusPage

__all__ = ["MAX_LIMIT", "StatusRoutes"]

MAX_LIMIT = 10_000
_JSON = msgspec.json.Encoder()
_NO_STORE = {"Cache-Control": "no-store"}


@dataclass
class StatusRoutes:
    """Serves the page from `figures()` (the latest tick), `firing()` and `recent()` (alert events)."""

    figures: Callable[[], Figures | None]
    firing: Callable[[], Sequence[AlertEvent]]
    recent: Callable[[], Sequence[AlertEvent]]
    now_ns: Callable[[], int]
    stale_after_s: Callable[[], float]  # figures older than this: the page shows a red banner
    # (venue, symbol) → price tick (the store's `ticks()`, one object until a tick changes)
    ticks: Callable[[], Mapping[tuple[str, str], float]] = field(default=lambda: MappingProxyType({}))
    # the rules the daemon runs (the engine's: a reload replaces them), whose distance levels the
    # bars mark; None: not wired, and the page says its bars carry no thresholds
    rules: Callable[[], Sequence[Rule]] | None = None
    _memo: tuple[object, StatusPage] | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def register(self, app: web.Application) -> None:
        app.router.add_get("/status", self._page)
        app.router.add_get("/status/", self._page)
        app.router.add_get("/status/body", self._body)
        app.router.add_get("/status.json", self._json)

    async def page(self, limit: int) -> StatusPage:
        figs, firing, recent, ticks = self.figures(), list(self.firing()), list(self.recent()), self.ticks()
        rules = tuple(self.rules()) if self.rules is not None else None
        stamp = (
            id(figs),
            ticks,  # held, not its id: a new mapping may reuse a freed one's id
            rules,  # frozen records: equal rules, equal marks
            figs.taken_at_ns if figs is not None else 0,
            limit,
            tuple((e.fingerprint, e.severity, e.event_ns) for e in firing),
            tuple(id(e) for e in recent),
        )
        now = self.now_ns()
        with self._lock:
            memo = self._memo
        if memo is not None and memo[0] == stamp:
            # served now: a stalled loop must show its figures growing old, not the memo's age
            return msgspec.structs.replace(memo[1], served_at_ns=now)
        page = await asyncio.to_thread(build_status, figs, firing, recent, now, limit, ticks, rules)
        with self._lock:
            self._memo = (stamp, page)
        return page

    async def _page(self, req: web.Request) -> web.Response:
        page = await self.page(_limit(req))
        html = await asyncio.to_thread(render_page, page, stale_after_s=self.stale_after_s())
        return _send(html.encode(), "text/html")

    async def _body(self, req: web.Request) -> web.Response:
        page = await self.page(_limit(req))
        return _send((await asyncio.to_thread(render_body, page)).encode(), "text/html")

    async def _json(self, req: web.Request) -> web.Response:
        page = await self.page(_limit(req))
        return _send(_JSON.encode(page), "application/json")


def _send(body: bytes, content_type: str) -> web.Response:
    """Compressed when the client accepts it: a desk's page is a few hundred kB every 2 s."""
    charset = "utf-8" if content_type.startswith("text/") else None  # JSON is UTF-8 by definition
    resp = web.Response(body=body, content_type=content_type, charset=charset, headers=_NO_STORE)
    resp.enable_compression()
    return resp


def _limit(req: web.Request) -> int:
    raw = req.query.get("limit", "")
    if not raw:
        return DEFAULT_LIMIT
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if not 1 <= n <= MAX_LIMIT:
        raise web.HTTPBadRequest(text=f"limit must be an integer from 1 to {MAX_LIMIT:,}\n")
    return n
