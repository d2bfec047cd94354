"""The simulator's admin API: JSON over HTTP on its own loopback port, a thin skin over `SimControl`.

It only ever binds a loopback address, and it is a separate port so a client under test, pointed at
the venue ports, can never reach it by accident. Loopback is not enough on its own: any web page
open in a local browser can send requests to 127.0.0.1. So every request must carry the random
token made at start (`Authorization: Bearer <token>`; `perpmon sim` prints it, the daemon writes it
to `<state_dir>/sim-admin.token`, mode 0600), and a request a browser sent (it carries `Origin` or
`Sec-Fetch-Site`, which pages cannot remove) is refused before the token is even looked at.

    GET    /admin/state                     ticks, replay time, pins, shocks, fault switches
    GET    /admin/market[?venue=bybit]      every symbol's quote (mark, index, book, funding)
    GET    /admin/accounts[/{name}]         summary, positions (liquidationPrice …), liquidations
    POST   /admin/price   {"symbol","price"}            hold a symbol's mark; DELETE /admin/price/{symbol}
    POST   /admin/shock   {"move","over_s"?,"in_s"?}    market-wide move, e.g. -0.2 over 60 replay s
    POST   /admin/pause | /admin/resume
    POST   /admin/advance {"seconds","step_s"?}         manual clock only (409 on the live clock)
    POST   /admin/faults/{name}  {keyword arguments, "venue"?}   see control.FAULTS ("bybit": BYBIT_FAULTS)
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import msgspec
from aiohttp import web

from monitor.sim.control import FAULTS, ControlError, SimControl

__all__ = ["AdminServer"]

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _reply(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=msgspec.json.encode(payload), status=status, content_type="application/json")


async def _body(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    if not raw:
        return {}
    try:
        body = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        raise ControlError(400, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise ControlError(400, "the body must be a JSON object")
    return body


def _number(body: dict[str, Any], key: str, default: float | None = None) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ControlError(400, f"{key!r} must be a number")
    return float(value)


TOKEN_FILE = "sim-admin.token"
_BROWSER_HEADERS = ("Origin", "Sec-Fetch-Site")


class AdminServer:
    def __init__(
        self, control: SimControl, host: str = "127.0.0.1", port: int = 0, token: str | None = None
    ) -> None:
        if not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the admin API binds loopback only, not {host}")
        self._ctl = control
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.token = token or secrets.token_urlsafe(32)  # 256 bits, new every start

    def write_token(self, state_dir: str | Path) -> Path:
        """Write the token where only this user can read it (so `make shock` can send it); its path."""
        path = Path(state_dir) / TOKEN_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            os.fchmod(f.fileno(), 0o600)  # an older file keeps its mode through O_CREAT: set it
            f.write(self.token + "\n")
        return path

    @web.middleware
    async def _gate(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        """Browser first (a page must not learn whether its guess was right), then the token."""
        if any(h in request.headers for h in _BROWSER_HEADERS):
            return _reply({"error": "requests from a web browser are refused"}, 403)
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), self.token.encode()):
            return _reply({"error": "missing or wrong token (Authorization: Bearer <token>)"}, 401)
        return await handler(request)

    @property
    def url(self) -> str:
        return f"http://{self._host}:{self._port}/admin"

    @web.middleware
    async def _errors(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except ControlError as exc:
            return _reply({"error": str(exc)}, exc.status)

    def _app(self) -> web.Application:
        ctl = self._ctl

        async def state(_r: web.Request) -> web.Response:
            return _reply(ctl.state())

        async def market(r: web.Request) -> web.Response:
            return _reply(ctl.market(r.query.get("venue", "binance")))

        async def accounts(_r: web.Request) -> web.Response:
            return _reply(ctl.accounts())

        async def account(r: web.Request) -> web.Response:
            return _reply(ctl.account(r.match_info["name"]))

        async def price(r: web.Request) -> web.Response:
            body = await _body(r)
            symbol = body.get("symbol")
            if not isinstance(symbol, str):
                raise ControlError(400, "'symbol' must be a string")
            return _reply({"symbol": symbol, "mark": ctl.set_price(symbol, _number(body, "price"))})

        async def release(r: web.Request) -> web.Response:
            ctl.release_price(r.match_info["symbol"])
            return _reply({"released": r.match_info["symbol"]})

        async def shock(r: web.Request) -> web.Response:
            body = await _body(r)
            s = ctl.shock(_number(body, "move"), _number(body, "over_s", 60.0), _number(body, "in_s", 0.0))
            return _reply({"at_s": s.at_s, "move": s.move, "over_s": s.over_s})

        async def pause(_r: web.Request) -> web.Response:
            ctl.pause()
            return _reply(ctl.state())

        async def resume(_r: web.Request) -> web.Response:
            ctl.resume()
            return _reply(ctl.state())

        async def advance(r: web.Request) -> web.Response:
            body = await _body(r)
            step = body.get("step_s")
            ticks = ctl.advance(_number(body, "seconds"), None if step is None else _number(body, "step_s"))
            return _reply({"ticks": ticks, **ctl.state()})

        async def fault(r: web.Request) -> web.Response:
            name = r.match_info["name"]
            ctl.fault(name, **await _body(r))
            return _reply({"fault": name, **ctl.state()})

        async def faults(_r: web.Request) -> web.Response:
            return _reply({name: sorted(args) for name, (_fn, args) in FAULTS.items()})

        app = web.Application(middlewares=[self._gate, self._errors])
        app.add_routes(
            [
                web.get("/admin/state", state),
                web.get("/admin/market", market),
                web.get("/admin/accounts", accounts),
                web.get("/admin/accounts/{name}", account),
                web.post("/admin/price", price),
                web.delete("/admin/price/{symbol}", release),
                web.post("/admin/shock", shock),
                web.post("/admin/pause", pause),
                web.post("/admin/resume", resume),
                web.post("/admin/advance", advance),
                web.get("/admin/faults", faults),
                web.post("/admin/faults/{name}", fault),
            ]
        )
        return app

    async def start(self) -> None:
        runner = web.AppRunner(self._app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        if sockets:
            self._port = int(sockets[0].getsockname()[1])
        self._runner = runner

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
