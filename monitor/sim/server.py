"""The venue simulator: one aiohttp app per host (futures, spot) on loopback, driven by a tick.

Each tick advances the replayed market, lets the account engine see every mark sample (so it
liquidates at the real lows), settles funding that has come due, expires listenKeys, then fans
the tick's market frames out. Ticks are paced by the event loop (`tick_s`), while every venue
timestamp, the replay's progress and key lifetimes come from the injected `Clock`: a test with a
`ManualClock` moves the market and expires keys by advancing that clock, never by sleeping.

This module builds the world and ticks it; where each host listens is `addresses.py`, how the
Binance hosts are served (routes, socket paths, the rate gate) `binance/hosts.py`, so that no
module carries more than one of those jobs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping

import structlog
from aiohttp import web

from monitor.clock import Clock
from monitor.config import SimAccountConfig, SimulatorConfig
from monitor.secret import Secret
from monitor.sim.addresses import SimAddresses
from monitor.sim.archive import funding_history
from monitor.sim.binance.accounts import AccountEngine
from monitor.sim.binance.auth import KeyRing
from monitor.sim.binance.hosts import futures_app, spot_app
from monitor.sim.binance.open_interest import OpenInterest
from monitor.sim.binance.streams import StreamKind
from monitor.sim.binance.userstream import ListenKeys
from monitor.sim.binance.venue import Venue
from monitor.sim.binance.ws import StreamHub
from monitor.sim.binance_coinm.venue import CoinmVenue
from monitor.sim.bybit.venue import BybitVenue
from monitor.sim.faults import Faults
from monitor.sim.funding import FundingHistory, FundingRecord, historical_rates, last_funding_ms
from monitor.sim.hyperliquid.venue import HyperliquidVenue
from monitor.sim.klines import KlineBook, PastPath
from monitor.sim.limits import WeightLimit
from monitor.sim.listeners import Listeners
from monitor.sim.market import Market
from monitor.sim.okx.venue import OkxVenue
from monitor.sim.replay import load_bars
from monitor.sim.rest_klines import bybit_kline_routes
from monitor.sim.synthetic import synthetic_path
from monitor.sim.universe import brackets_with, universe_accounts, universe_keys

__all__ = ["Simulator"]

_log = structlog.get_logger()


def _secrets(pair: tuple[str, str]) -> tuple[Secret, Secret]:
    return Secret(pair[0]), Secret(pair[1])


class Simulator(SimAddresses):
    """Binance USDⓈ-M (`futures_*_url`) and spot (`spot_*_url`) on two loopback ports, Bybit v5
    (`bybit_rest_url`, `bybit_ws_url`) on a third, OKX v5 (`okx.rest_url`, `okx.ws_url`) on a fourth.

    `keys` maps a simulator account name to its (API key, API secret); keys naming no configured
    account are ignored (their requests get -2015 / 10003). An account lives on the venue its config
    names (`venue`). `engine`, `market`, `faults` and `funding` are Binance's; `bybit.engine`,
    `bybit.market`, `bybit.faults` and `bybit.funding` Bybit's, for tests to read and steer.
    `pause()`/`resume()` freeze the price path (both venues) while accounts answer.
    """

    def __init__(
        self,
        cfg: SimulatorConfig,
        keys: dict[str, tuple[Secret, Secret]],
        clock: Clock,
        passwords: Mapping[str, Secret] | None = None,  # OKX keys' passphrases, by account
    ) -> None:
        self._cfg = cfg
        self._clock = clock
        self.faults = Faults()
        path = (
            synthetic_path(load_bars(cfg.replay)[0].open, cfg.synthetic_days, cfg.seed)
            if cfg.path == "synthetic"
            else None
        )
        self.market = Market(
            replay=cfg.replay, speed=cfg.speed, loop=cfg.loop, seed=cfg.seed, clock=clock, path=path,
            universe_symbols=cfg.universe_symbols,
        )  # fmt: skip
        now_ms = clock.now_ns() // 1_000_000
        generated: tuple[SimAccountConfig, ...] = ()
        if self.market.universe is not None:  # the desk-sized world (universe.py): accounts and keys
            generated = universe_accounts(
                self.market.universe, cfg.universe_accounts, cfg.universe_positions, cfg.seed,
                self.market.first_mark,
            )  # fmt: skip
            keys = {**keys, **{a.name: _secrets(universe_keys(cfg.seed, a.name)) for a in generated}}
        self.engine = AccountEngine(
            (*cfg.accounts, *generated),
            first_mark=self.market.first_mark,
            marks=self.market.marks(),
            now_ms=now_ms,
            brackets=brackets_with(self.market.universe),
            specs=self.market.specs,
        )
        self.universe_keys = {a.name: keys[a.name] for a in generated}  # printed by `perpmon sim`
        self.bybit = BybitVenue(cfg, keys, clock, self.market)
        self.coinm = CoinmVenue(cfg, keys, clock, self.market)  # Binance COIN-M, on a port of its own
        self.hyperliquid = HyperliquidVenue(cfg, clock, self.market)  # reads by address: no keys
        self.okx = OkxVenue(cfg, keys, passwords or {}, clock, self.market)
        self.futures_hub = self._hub("futures", self._is_listen_key)
        self.spot_hub = self._hub("spot", lambda _key: False)
        self.listen_keys = ListenKeys(clock, cfg.listen_key_ttl_s, self.futures_hub)
        self.engine.subscribe(self.listen_keys.deliver)
        history = [
            record
            for spec in self.market.specs.values()
            for record in (
                self._user_funding(spec.symbol, last_funding_ms(now_ms, spec.funding_hours))
                or historical_rates(
                    spec.symbol,
                    self.market.event,
                    spec.funding_hours,
                    last_funding_ms(now_ms, spec.funding_hours),
                )
            )
        ]
        self.funding = FundingHistory(history)
        self.klines, self.bybit_klines = self._kline_books(now_ms)
        self._record_klines(now_ms)
        self.open_interest = OpenInterest()
        self.open_interest.record(self.market.marks(), now_ms)
        self._venue = Venue(
            cfg,
            clock,
            self.market,
            self.engine,
            KeyRing({name: pair for name, pair in keys.items() if name in self.engine.accounts}),
            self.faults,
            self.listen_keys,
            self.funding,
            self.open_interest,
        )
        self.faults.on_disconnect(self._disconnect_all)
        self.faults.on_expire(self.listen_keys.expire_now)
        self.listeners = Listeners(cfg.host)
        self.faults.on_refuse(lambda s: self.listeners.refuse_for(s, clock, min(cfg.tick_s, 0.05)))
        self.bybit_listeners = Listeners(cfg.host)  # its own: a Binance outage leaves Bybit listening
        self.bybit.faults.on_refuse(
            lambda s: self.bybit_listeners.refuse_for(s, clock, min(cfg.tick_s, 0.05))
        )
        self.okx_listeners = Listeners(cfg.host)
        self.ticks = 0
        self._runners: list[web.AppRunner] = []
        self._ports: tuple[int, int, int, int] = (0, 0, 0, 0)
        self._coinm_port = 0
        self._tasks: list[asyncio.Task[None]] = []
        lim = cfg.limits  # the venue's organic limits, one set per host as the venue keeps them
        connects = (lim.ws_connects_per_5min, lim.ws_connects_window_s, lim.inflight_grace_s)
        self.futures_limit = WeightLimit(
            "futures", lim.weight_per_min_futures, lim.ban_s, *connects, funding_per_5min=lim.funding_per_5min
        )
        self.spot_limit = WeightLimit("spot", lim.weight_per_min_spot, lim.ban_s, *connects)

    def _user_funding(self, symbol: str, end_ms: int) -> list[FundingRecord]:
        """A user replay's own settled funding before its first minute, when its files have it."""
        user = self.market.user
        if user is None or symbol not in user.funding:
            return []
        return funding_history(user.funding[symbol], symbol, user.first_ms, end_ms)

    def _kline_books(self, now_ms: int) -> tuple[KlineBook, dict[str, KlineBook]]:
        """Candles (monitor/sim/klines.py): Binance's, and Bybit's per category (linear, spot)."""
        m, cfg = self.market, self._cfg
        path = m.path
        past = PastPath(
            path.times, path.prices, path.cum_volume, start_ms=now_ms, replay_s=m.replay_s,
            speed=cfg.speed, loop=cfg.loop, basis_bps=m.basis_bps, seed=cfg.seed,
        )  # fmt: skip

        def tick(step: str) -> tuple[float, int]:
            return float(step), len(step.partition(".")[2])

        ratio = {s: spec.ratio.get(m.event, 1.0) for s, spec in m.specs.items()}
        binance = KlineBook(past, ratio, {s: tick(spec.spot_tick) for s, spec in m.specs.items()})
        by = self.bybit.market
        spread = {s: ratio[s] * (1 + by.spreads[s].bps / 1e4) for s in by.specs}
        spot_ticks = {s: tick(spec.spot_tick) for s, spec in by.specs.items()}
        linear = KlineBook(past, spread, spot_ticks)
        spot = KlineBook(past, {s: ratio[s] for s in by.specs}, spot_ticks)
        return binance, {"linear": linear, "spot": spot}

    def _record_klines(self, now_ms: int) -> None:
        for s, q in self.market.quotes.items():
            self.klines.record(now_ms, "mark", s, q.mark, q.volume)
            self.klines.record(now_ms, "spot", s, 0.5 * (q.spot_bid + q.spot_ask))
        for s, bq in self.bybit.market.quotes.items():
            self.bybit_klines["linear"].record(now_ms, "mark", s, bq.mark, bq.volume)
            self.bybit_klines["spot"].record(now_ms, "spot", s, 0.5 * (bq.spot_bid + bq.spot_ask))

    def _hub(self, kind: StreamKind, is_listen_key: Callable[[str], bool]) -> StreamHub:
        cfg, lim = self._cfg, self._cfg.limits
        return StreamHub(
            kind=kind,
            market=self.market,
            clock=self._clock,
            faults=self.faults,
            ping_s=cfg.ws_ping_s,
            pong_timeout_s=cfg.ws_pong_timeout_s,
            is_listen_key=is_listen_key,
            max_age_s=cfg.ws_max_age_s,
            messages_per_s=lim.ws_messages_per_s_futures if kind == "futures" else lim.ws_messages_per_s_spot,
        )

    def _is_listen_key(self, key: str) -> bool:
        return self.listen_keys.is_live(key)

    @property
    def cfg(self) -> SimulatorConfig:
        return self._cfg

    @property
    def clock(self) -> Clock:
        return self._clock

    # --- control -----------------------------------------------------------------------------
    def pause(self) -> None:
        self.market.pause()

    def resume(self) -> None:
        self.market.resume()

    def tick(self) -> None:
        """One market step: marks → engine (every sample) → funding → key expiry → frames."""
        now_ms = self._clock.now_ns() // 1_000_000
        samples = self.market.advance()
        for marks in samples:
            self.engine.on_marks(marks, now_ms)
        for st in self.market.due_settlements():
            self.engine.settle_funding(st.symbol, st.rate, st.mark, now_ms)
            self.funding.add(FundingRecord(st.symbol, st.time_ms, st.rate, st.mark))
        self.listen_keys.expire_due()
        self.open_interest.record(self.market.marks(), now_ms)
        self.ticks += 1
        self.futures_hub.broadcast(self.ticks)
        self.spot_hub.broadcast(self.ticks)
        self.bybit.tick(samples)
        self.coinm.tick(samples)
        self.hyperliquid.tick(samples)
        self.okx.tick(samples)
        self._record_klines(now_ms)

    async def _tick_forever(self) -> None:
        # Pace on the loop's own timer (a schedule, not a reading of the time the venue reports), so
        # a slow tick does not stretch the cadence; after a long stall, start the schedule afresh.
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            deadline += self._cfg.tick_s
            delay = deadline - loop.time()
            if delay < -self._cfg.tick_s:
                deadline, delay = loop.time(), 0.0
            await asyncio.sleep(max(0.0, delay))
            self.tick()

    def _disconnect_all(self) -> None:
        for hub in (self.futures_hub, self.spot_hub):
            hub.close_all_soon()

    async def _serve(self, app: web.Application, port: int, listeners: Listeners | None = None) -> int:
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        self._runners.append(runner)
        return await (listeners or self.listeners).serve(runner, port)

    async def start(self) -> None:
        v, klines = self._venue, self.klines
        futures = futures_app(v, self.futures_hub, self.futures_limit, klines)
        spot = spot_app(v, self.spot_hub, self.spot_limit, klines)
        futures_port = await self._serve(futures, self._cfg.futures_port)
        spot_port = await self._serve(spot, self._cfg.spot_port)
        bybit_app = self.bybit.app()
        bybit_app.add_routes(bybit_kline_routes(self.bybit_klines, self.bybit.now_ms, self.bybit.reply))
        bybit_port = await self._serve(bybit_app, self._cfg.bybit_port, self.bybit_listeners)
        hl = self.hyperliquid
        hl_port = await self._serve(hl.app(), self._cfg.hyperliquid_port, hl.listeners)
        self._ports = (futures_port, spot_port, bybit_port, hl_port)
        self._coinm_port = await self._serve(self.coinm.app(), 0)
        self.okx.bound(await self._serve(self.okx.app(), self._cfg.okx_port, self.okx_listeners))
        self._tasks = [
            asyncio.create_task(self._tick_forever(), name="sim-tick"),
            asyncio.create_task(self.futures_hub.ping_forever(), name="sim-ping-futures"),
            asyncio.create_task(self.spot_hub.ping_forever(), name="sim-ping-spot"),
            asyncio.create_task(self.bybit.hub.idle_forever(), name="sim-idle-bybit"),
            asyncio.create_task(self.coinm.hub.ping_forever(), name="sim-ping-coinm"),
            asyncio.create_task(self.hyperliquid.hub.idle_forever(), name="sim-idle-hyperliquid"),
        ]
        _log.info(
            "sim_started",
            futures=self.futures_rest_url,
            spot=self.spot_rest_url,
            bybit=self.bybit_rest_url,
            replay=self._cfg.replay,
            speed=self._cfg.speed,
            accounts=sorted(self.engine.accounts),
            bybit_accounts=sorted(self.bybit.engine.accounts),
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for hub in (self.futures_hub, self.spot_hub):
            await hub.close_where(lambda _c: True)
        for venue_hub in (self.bybit.hub, self.coinm.hub, self.okx.hub):
            await venue_hub.close_where(lambda _c: True)
        await self.hyperliquid.close()
        for listeners in (self.listeners, self.bybit_listeners, self.okx_listeners):
            await listeners.close()
        for runner in self._runners:
            await runner.cleanup()
        self._runners = []
        _log.info("sim_stopped")
