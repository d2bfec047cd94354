"""The simulated Binance COIN-M venue: market view, accounts, keys, user streams, one aiohttp app.

It rides on the Simulator's tick like the Bybit venue: `tick(samples)` turns the same linear mark
samples into COIN-M marks, lets the engine see every one (so it liquidates at the real lows), and
pushes `@markPrice@1s` frames. Funding history before the start is the calm-premium history of the
linear symbol's process, seeded for this venue; from then on, when a symbol's next funding time
moves on, the rate estimated before it is settled in coin into the wallets (`FUNDING_FEE` on the
user stream) and added to the history.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, cast

from aiohttp import web

from monitor.clock import Clock
from monitor.config import SimulatorConfig
from monitor.secret import Secret
from monitor.sim.binance.auth import KeyRing
from monitor.sim.binance.keyed import KeyedHost
from monitor.sim.binance.userstream import ListenKeys
from monitor.sim.binance_coinm.engine import CoinmAccount, CoinmEngine, CoinmPosition
from monitor.sim.binance_coinm.market import CoinmMarket
from monitor.sim.binance_coinm.payloads import account_update, funding_update, mark_price_frame
from monitor.sim.binance_coinm.rest import coinm_routes
from monitor.sim.binance_coinm.ws import CoinmHub
from monitor.sim.funding import FundingHistory, FundingRecord, historical_rates, last_funding_ms
from monitor.sim.market import Market
from monitor.sim.replies import VenueError, error_response

__all__ = ["CoinmVenue"]

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class CoinmVenue(KeyedHost):
    market: CoinmMarket

    def __init__(
        self, cfg: SimulatorConfig, keys: Mapping[str, tuple[Secret, Secret]], clock: Clock, base: Market
    ) -> None:
        self.clock = clock
        self.weight_per_min = cfg.limits.weight_per_min_futures
        self.market = CoinmMarket(base)
        now_ms = self.now_ms()
        self.engine = CoinmEngine(
            cfg.accounts,
            specs=self.market.specs,
            brackets=self.market.brackets,
            marks=self.market.marks(),
            first_mark=self.market.first_mark,
            now_ms=now_ms,
        )
        self.keys = KeyRing({n: pair for n, pair in keys.items() if n in self.engine.accounts})
        self.hub = CoinmHub(
            clock=clock,
            ping_s=cfg.ws_ping_s,
            pong_timeout_s=cfg.ws_pong_timeout_s,
            is_listen_key=self._is_key,
        )
        # ListenKeys only calls `push_user`, which the COIN-M hub has with the same signature
        self.listen_keys = ListenKeys(clock, cfg.listen_key_ttl_s, cast(Any, self.hub))
        self.engine.subscribe(self._on_liquidation)
        # the settlement each symbol waits for, and the last rate estimated before it
        self._due = {
            s: (self.market.quote(s).next_funding_ms, self.market.quote(s).funding_rate)
            for s in self.market.specs
        }
        end = last_funding_ms(now_ms, 8)
        self.funding = FundingHistory(
            [
                r
                for s, spec in self.market.specs.items()
                for r in historical_rates(s, self.market.event, 8, end, venue="binance_coinm")
            ]
        )

    def _is_key(self, key: str) -> bool:
        return self.listen_keys.is_live(key)

    def _on_liquidation(self, acct: CoinmAccount, closed: CoinmPosition, now_ms: int) -> None:
        coin = self.market.specs[closed.symbol].base
        self.listen_keys.deliver(acct.name, account_update(acct, closed, coin, now_ms))

    def tick(self, samples: Sequence[Mapping[str, float]]) -> None:
        """Every linear mark sample → the engine; then this tick's mark frames and key expiry."""
        now_ms = self.now_ms()
        for linear in samples:
            self.engine.on_marks(self.market.marks_of(linear), now_ms)
        self._settle(now_ms)
        self.listen_keys.expire_due()
        self.hub.broadcast({s: mark_price_frame(self.market.quote(s), now_ms) for s in self.market.specs})

    def _settle(self, now_ms: int) -> None:
        """A symbol whose next funding time has moved on has settled at the rate estimated before."""
        for s, (due_ms, rate) in self._due.items():
            q = self.market.quote(s)
            if q.next_funding_ms > due_ms:
                for acct, coin in self.engine.settle_funding(s, rate, q.mark, now_ms):
                    self.listen_keys.deliver(acct.name, funding_update(acct, coin, now_ms))
                self.funding.add(FundingRecord(s, due_ms, rate, q.mark))
            self._due[s] = (q.next_funding_ms, q.funding_rate)

    def app(self) -> web.Application:
        @web.middleware
        async def errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
            try:
                return await handler(request)
            except VenueError as err:
                return error_response(err)

        app = web.Application(middlewares=[errors])
        app.add_routes(coinm_routes(self))
        for path in ("/ws", "/ws/{tail:.*}", "/stream"):
            app.router.add_get(path, self.hub.handle)
        return app
