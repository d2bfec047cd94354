"""The simulated Bybit v5 venue: its market, accounts, keys, faults and one aiohttp app (REST + WS).

It rides on the Simulator's tick: after the Binance market advances, `tick()` turns the same mark
samples into Bybit marks (so the engine sees every real low on both venues), settles Bybit funding
on Bybit's own grid, and pushes ticker frames. It has its own `Faults`, so one venue's feed can be
stalled, dropped or made to fail while the other carries on (the venue-outage scenario).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from aiohttp import web

from monitor.clock import Clock
from monitor.config import SimulatorConfig
from monitor.secret import Secret
from monitor.sim.bybit.accounts import BybitAccountEngine
from monitor.sim.bybit.auth import BybitError, BybitKeyRing, verify_rest
from monitor.sim.bybit.market import BybitMarket
from monitor.sim.bybit.payloads import envelope, error_body
from monitor.sim.bybit.rest import bybit_routes
from monitor.sim.bybit.ws import BybitHub
from monitor.sim.faults import Faults
from monitor.sim.funding import FundingHistory, FundingRecord, historical_rates, last_funding_ms
from monitor.sim.limits import BybitApiLimit, BybitIpLimit, WindowCount
from monitor.sim.market import Market
from monitor.sim.replies import VenueError, json_reply

__all__ = ["BybitVenue"]

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
OI_STEP_MS = 300_000
OI_BACKFILL = 576  # 48 h of 5-minute points


def _as_bybit(fault: VenueError) -> BybitError:
    """The shared fault switches, in Bybit's words: API rate limit is retCode 10006, an IP ban 403."""
    if fault.status == 429:
        return BybitError(10006, "Too many visits!")
    if fault.status == 418:
        return BybitError(0, "403 Forbidden: access too frequent", status=403, plain=True)
    return BybitError(0, fault.msg, status=fault.status, plain=True)


class BybitVenue:
    def __init__(
        self,
        cfg: SimulatorConfig,
        keys: Mapping[str, tuple[Secret, Secret]],
        clock: Clock,
        base: Market,
    ) -> None:
        self.clock = clock
        self.faults = Faults()
        self.market = BybitMarket(base, seed=cfg.seed, speed=cfg.speed, clock=clock)
        now_ms = self.now_ms()
        self.engine = BybitAccountEngine(
            cfg.accounts,
            first_mark=self.market.first_mark,
            marks=self.market.marks(),
            now_ms=now_ms,
        )
        self.keys = BybitKeyRing({n: pair for n, pair in keys.items() if n in self.engine.accounts})
        history = [
            record
            for spec in self.market.specs.values()
            # Bybit's own past: its draw of the calm premium plus its venue spread, on its interval
            for record in historical_rates(
                spec.symbol,
                base.event,
                spec.funding_hours,
                last_funding_ms(now_ms, spec.funding_hours),
                venue="bybit",
                cap=spec.funding_cap,
                offset=spec.spread_mu_bps / 1e4,
            )
        ]
        self.funding = FundingHistory(history)
        self.hub = BybitHub(
            market=self.market,
            keys=self.keys,
            clock=clock,
            faults=self.faults,
            idle_timeout_s=cfg.ws_pong_timeout_s,
            check_s=min(cfg.ws_ping_s, 30.0),
        )
        self.engine.subscribe(self.hub.push_private)
        # synthetic, like the Binance side's: two days of history at the start value, then what it publishes
        first = now_ms // OI_STEP_MS * OI_STEP_MS
        self.open_interest: dict[str, list[tuple[int, float]]] = {
            s: [(first - k * OI_STEP_MS, q.open_interest) for k in range(OI_BACKFILL, 0, -1)]
            for s, q in self.market.quotes.items()
        }
        self._oi_bucket = -1
        self._record_open_interest(now_ms)
        self.faults.on_disconnect(self.hub.close_all_soon)
        self.ip_limit = BybitIpLimit(cfg.limits.bybit_ip_per_5s, cfg.limits.bybit_ban_s)
        self.api_limit = BybitApiLimit(cfg.limits.bybit_api_per_s)
        self.ws_connects = WindowCount(cfg.limits.bybit_ws_connects_per_5min, 300.0)

    def now_ms(self) -> int:
        return self.clock.now_ns() // 1_000_000

    # --- the tick --------------------------------------------------------------------------
    def tick(self, binance_samples: list[dict[str, float]]) -> None:
        now_ms = self.now_ms()
        for marks in self.market.advance(binance_samples):
            self.engine.on_marks(marks, now_ms)
        for symbol, time_ms, rate, mark in self.market.due_settlements():
            self.engine.settle_funding(symbol, rate, mark, now_ms)
            self.funding.add(FundingRecord(symbol, time_ms, rate, mark))
        self._record_open_interest(now_ms)
        self.hub.broadcast()

    def _record_open_interest(self, now_ms: int) -> None:
        """One point per symbol at each 5-minute boundary the clock reaches (what the history serves)."""
        bucket = now_ms // OI_STEP_MS
        if bucket != self._oi_bucket:
            self._oi_bucket = bucket
            for symbol, q in self.market.quotes.items():
                self.open_interest[symbol].append((bucket * OI_STEP_MS, q.open_interest))

    # --- what handlers share ----------------------------------------------------------------
    def reply(self, result: object) -> web.Response:
        return json_reply(envelope(result, self.now_ms()))

    async def private(self, request: web.Request) -> tuple[str, Mapping[str, str]]:
        """Authenticate a signed call over its raw query (GET) or raw body (POST)."""
        if request.method == "GET":
            payload = request.raw_path.partition("?")[2]
        else:
            payload = (await request.read()).decode("utf-8", "replace")
        account = verify_rest(self.keys, request.headers, payload, self.now_ms())
        return account, request.query

    @web.middleware
    async def _middleware(self, request: web.Request, handler: _Handler) -> web.StreamResponse:
        now_ns = self.now_ms() * 1_000_000
        if not self.ip_limit.admit(request.remote or "", now_ns):  # the IP's budget, REST and WS alike
            return web.Response(text="403 Forbidden: access too frequent", status=403)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            refused = self.faults.handshake_refusal(now_ns)
            if refused is not None:  # the venue's IP limits cover connection attempts too
                return web.Response(status=403 if refused == 418 else refused, text="Too many requests")
            if not self.ws_connects.admit(request.remote or "", now_ns)[0]:  # 500 per 5 min per IP
                return web.Response(text="403 Forbidden: access too frequent", status=403)
            return await handler(request)
        fault = self.faults.take_rest_fault(now_ns)
        limit_headers: dict[str, str] = {}
        try:
            if fault is not None:
                raise _as_bybit(fault)
            uid = self.keys.uid_of(request.headers.get("X-BAPI-API-KEY"))
            verdict = None if uid is None else self.api_limit.admit(uid, request.path, now_ns)
            if verdict is not None:
                allowed, limit_headers = verdict
                if not allowed:
                    raise BybitError(10006, "Too many visits!")
            response = await handler(request)
        except BybitError as err:
            if err.plain:
                return web.Response(text=err.msg, status=err.status)
            response = json_reply(error_body(err.ret_code, err.msg, self.now_ms()), status=err.status)
        response.headers.update(limit_headers)
        return response

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._middleware])
        app.add_routes(bybit_routes(self))
        app.router.add_get("/v5/public/{channel:linear|spot|inverse|option}", self.hub.handle)
        app.router.add_get("/v5/private", self.hub.handle)
        return app
