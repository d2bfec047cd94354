"""Who may read the HTTP face: basic auth against bcrypt hashes, client-certificate names, open paths.

bcrypt is slow on purpose (tens of milliseconds a check at cost 10), and Prometheus sends the same
credentials on every scrape, so a successful check is remembered (as exporter-toolkit does) under
a SHA-256 of user, hash and password: the same login costs one hash after the first, and a changed
hash (a reload) misses the cache. Checks run on one worker thread: the event loop never waits on
bcrypt, and a flood of wrong passwords queues behind that one thread instead of taking the CPU.
An unknown user costs a bcrypt check too, so timing does not tell which user names exist.

Nothing here logs or echoes what a client sent: a refused request gets a bare 401 or 403.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from concurrent.futures import ThreadPoolExecutor

import bcrypt
from aiohttp import web

from monitor.webconfig import WebConfig

__all__ = ["AUTHENTICATED", "OPEN_PATHS", "Gate"]

# liveness probes (kubelet, systemd, compose healthcheck) carry no credentials; /healthz says ok or not
OPEN_PATHS = frozenset({"/healthz", "/-/healthy"})
# request key on an open path: False for a caller without the login
AUTHENTICATED = web.RequestKey("perpmon_authenticated", bool)
_CACHE = 100
# a valid cost-10 hash of a random string: what an unknown user is checked against
_DUMMY = b"$2b$10$P0s5X4KoB9Q8Ez4Qgpda9OmxFrsUdtMTpMusAPZnnhBggfXRDP5ZO"
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class Gate:
    """The middleware and response headers for the current web config (swapped by a reload)."""

    def __init__(self, current: Callable[[], WebConfig | None], open_paths: Collection[str] = OPEN_PATHS):
        self._current = current
        self._open = frozenset(open_paths)
        self._ok: OrderedDict[bytes, None] = OrderedDict()
        self._pool: ThreadPoolExecutor | None = None

    def install(self, app: web.Application) -> None:
        app.middlewares.append(self._middleware)
        app.on_response_prepare.append(self._headers)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def _headers(self, _req: web.Request, resp: web.StreamResponse) -> None:
        cfg = self._current()
        if cfg is not None:
            for name, value in cfg.headers.items():
                resp.headers[name] = value

    @web.middleware
    async def _middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        cfg = self._current()
        if cfg is None:
            return await handler(request)
        if request.path in self._open:  # served either way; the handler may say less to a stranger
            request[AUTHENTICATED] = await self._authenticated(cfg, request)
            return await handler(request)
        if cfg.tls is not None and cfg.tls.client_allowed_sans and not _san_allowed(request, cfg):
            return web.Response(status=403, text="client certificate not allowed\n")
        if cfg.users and not await self._password_ok(cfg, request.headers.get("Authorization", "")):
            return web.Response(
                status=401, text="unauthorized\n", headers={"WWW-Authenticate": 'Basic realm="perpmon"'}
            )
        return await handler(request)

    async def _authenticated(self, cfg: WebConfig, request: web.Request) -> bool:
        """Whether the request would pass the gate; a probe without a login costs no bcrypt check."""
        if cfg.tls is not None and cfg.tls.client_allowed_sans and not _san_allowed(request, cfg):
            return False
        if not cfg.users:
            return True
        header = request.headers.get("Authorization", "")
        return bool(header) and await self._password_ok(cfg, header)

    async def _password_ok(self, cfg: WebConfig, header: str) -> bool:
        login = _basic(header)
        if login is None:
            return False
        user, password = login
        hashed = cfg.users.get(user)
        key = hashlib.sha256(b"\0".join((user.encode(), hashed or b"", password))).digest()
        if hashed is not None and key in self._ok:
            self._ok.move_to_end(key)
            return True
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="perpmon-bcrypt")
        loop = asyncio.get_running_loop()
        check = loop.run_in_executor(self._pool, _check, password, hashed)
        # remembered even when the client gave up waiting: a scrape that timed out during its first
        # check (a slow, loaded box) must not leave the next scrape to pay for bcrypt all over again
        check.add_done_callback(lambda done: self._remember(key, done))
        return await asyncio.shield(check)

    def _remember(self, key: bytes, done: asyncio.Future[bool]) -> None:
        if done.cancelled() or done.exception() is not None or not done.result():
            return
        self._ok[key] = None
        while len(self._ok) > _CACHE:
            self._ok.popitem(last=False)


def _check(password: bytes, hashed: bytes | None) -> bool:
    try:
        matched = bcrypt.checkpw(password, hashed or _DUMMY)
    except ValueError:  # bcrypt refuses some inputs (e.g. a NUL byte): a refusal, not a crash
        return False
    return matched and hashed is not None


def _basic(header: str) -> tuple[str, bytes] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = raw.partition(b":")
    if not sep:
        return None
    try:
        return user.decode("utf-8"), password
    except UnicodeDecodeError:
        return None


def _san_allowed(request: web.Request, cfg: WebConfig) -> bool:
    """exporter-toolkit's client_allowed_sans: one of the verified certificate's SANs must be listed."""
    assert cfg.tls is not None
    peer = request.transport.get_extra_info("peercert") if request.transport is not None else None
    if not peer:
        return False
    names = {str(value) for _kind, value in peer.get("subjectAltName", ())}
    return bool(names & set(cfg.tls.client_allowed_sans))
