"""Wiring: config → components, and the one evaluation loop.

Data flows one way: collectors put records into the store; every tick the evaluator turns one
snapshot into Figures, the rule engine turns Figures into AlertEvents, and the dispatcher turns
those into durable notifications. Each stage gets the tick's single `now`.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from dataclasses import dataclass, field
from pathlib import Path

import structlog
from prometheus_client import CollectorRegistry

from monitor import __version__
from monitor.clock import NS_PER_S, Clock, LiveClock
from monitor.collectors.binanceusdm import BinanceEndpoints, BinanceUsdmCollector
from monitor.collectors.holdings import holdings_from_config
from monitor.collectors.mqtt_holdings import MqttHoldingsCollector
from monitor.config import Config, Secrets
from monitor.evaluator import Evaluator
from monitor.http import HttpServer
from monitor.log import configure_logging
from monitor.metrics import DeliveryStats, EvaluationStats, PerpmonMetrics
from monitor.notify import Dispatcher, Outbox, build_notifiers
from monitor.records import Figures
from monitor.rules.engine import RuleEngine
from monitor.sim.server import Simulator
from monitor.store.state import StateStore
from monitor.supervise import Supervisor

__all__ = ["Daemon", "run_daemon"]

log = structlog.get_logger(__name__)


@dataclass
class Daemon:
    """A running perpmon: start() brings every part up, stop() takes them down in reverse."""

    cfg: Config
    secrets: Secrets
    clock: Clock = field(default_factory=LiveClock)
    store: StateStore = field(init=False)
    simulator: Simulator | None = field(init=False, default=None)
    collectors: list[BinanceUsdmCollector] = field(init=False, default_factory=list)
    evaluator: Evaluator = field(init=False)
    engine: RuleEngine = field(init=False)
    dispatcher: Dispatcher = field(init=False)
    outbox: Outbox | None = field(init=False, default=None)
    http: HttpServer = field(init=False)
    latest: Figures | None = field(init=False, default=None)
    eval_stats: EvaluationStats = field(init=False, default_factory=EvaluationStats)

    def __post_init__(self) -> None:
        ev = self.cfg.evaluation
        self.store = StateStore(grid_step_s=ev.volatility_sample_s, history_points=ev.history_points)
        self.evaluator = Evaluator(self.cfg, started_ns=self.clock.now_ns())
        self.engine = RuleEngine(self.cfg.rules)
        self.supervisor = Supervisor(self.clock)
        self.started_ns = self.clock.now_ns()
        self.registry = CollectorRegistry(auto_describe=True)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        state_dir = Path(self.cfg.state_dir)
        await asyncio.to_thread(state_dir.mkdir, parents=True, exist_ok=True)
        self.outbox = Outbox(state_dir / "outbox.sqlite3")
        notifiers = build_notifiers(self.cfg.receivers, self.secrets.receiver_urls, clock=self.clock)
        self.dispatcher = Dispatcher(
            self.cfg.receivers, notifiers, self.outbox, self.clock, secrets=self.secrets.all()
        )
        self.supervisor.spawn("notify", self.dispatcher.run)
        if self.cfg.simulator.enabled:
            self.simulator = Simulator(self.cfg.simulator, self.secrets.sim_keys, self.clock)
            await self.simulator.start()
        for v in self.cfg.venues:
            accounts = {a.name: self.secrets.api_keys[a.name] for a in self.cfg.accounts if a.venue == v.name}
            c = BinanceUsdmCollector(
                venue=v.name,
                endpoints=self._endpoints(v.name),
                symbols=v.symbols,
                spot_symbols=v.spot_symbols,
                accounts=accounts,
                sink=self.store,
                clock=self.clock,
                poll_s=v.poll_s,
                stale_after_s=v.stale_after_s,
            )
            self.collectors.append(c)
            for name, factory in c.tasks().items():
                self.supervisor.spawn(name, factory)
        for h in holdings_from_config(self.cfg.holdings, self.clock.now_ns()):
            self.store.put(h)
        collector_stats = [c.stats for c in self.collectors]
        if self.cfg.mqtt.enabled:
            mqtt = MqttHoldingsCollector(
                cfg=self.cfg.mqtt,
                credentials=self.secrets.mqtt_credentials,
                prices={(v.name, s) for v in self.cfg.venues for s in v.spot_symbols},
                sink=self.store,
                clock=self.clock,
            )
            collector_stats.append(mqtt.stats)
            self.supervisor.spawn("mqtt.holdings", mqtt.run)
        self.registry.register(
            PerpmonMetrics(
                figures=lambda: self.latest,
                collectors=collector_stats,
                evaluation=self.eval_stats,
                delivery=self._delivery_stats,
                firing=lambda: [(e.labels, e.value) for e in self.engine.firing()],
                started_ns=self.started_ns,
                version=__version__,
            )
        )
        self.http = HttpServer(
            host=self.cfg.http.host, port=self.cfg.http.port, registry=self.registry, health=self._health
        )
        await self.http.start()
        now = self.clock.now_ns()
        await self.dispatcher.submit(self.engine.started(now), now)
        self.supervisor.spawn("evaluation", self._evaluation_loop)
        log.info(
            "perpmon started",
            version=__version__,
            metrics=f"http://{self.cfg.http.host}:{self.http.bound_port}/metrics",
            simulator=self.simulator is not None,
            venues=[v.name for v in self.cfg.venues],
        )

    async def stop(self) -> None:
        await self.supervisor.stop()
        await self.dispatcher.close()
        if self.outbox is not None:
            self.outbox.close()
        await self.http.stop()
        if self.simulator is not None:
            await self.simulator.stop()
        log.info("perpmon stopped")

    def _endpoints(self, venue: str) -> BinanceEndpoints:
        v = next(x for x in self.cfg.venues if x.name == venue)
        if v.simulator and self.simulator is not None:
            s = self.simulator
            return BinanceEndpoints(s.futures_rest_url, s.futures_ws_url, s.spot_rest_url, s.spot_ws_url)
        defaults = BinanceEndpoints()
        return BinanceEndpoints(
            futures_rest=v.rest_url,
            futures_ws=v.ws_url or defaults.futures_ws,
            spot_rest=v.spot_rest_url,
            spot_ws=v.spot_ws_url or defaults.spot_ws,
        )

    # ------------------------------------------------------------------ the loop
    async def tick(self) -> None:
        """One evaluation cycle with a single `now` for every stage."""
        now = self.clock.now_ns()
        t0 = self.clock.monotonic_ns()
        snapshot = self.store.snapshot(now)
        figures = self.evaluator.evaluate(snapshot, now)
        events = self.engine.step(figures, now)
        self.latest = figures
        if events:
            await self.dispatcher.submit(events, now)
        dt = (self.clock.monotonic_ns() - t0) / NS_PER_S
        st = self.eval_stats
        st.count += 1
        st.last_duration_s = dt
        st.total_duration_s += dt
        st.last_tick_ns = now

    async def _evaluation_loop(self) -> None:
        interval = self.cfg.evaluation.interval_s
        while True:
            try:
                await self.tick()
            except Exception:
                self.eval_stats.errors += 1
                log.exception("evaluation tick failed")
            await self.clock.sleep(interval)

    def _delivery_stats(self) -> list[DeliveryStats]:
        d = self.dispatcher
        return [
            DeliveryStats(
                receiver=name,
                pending=d.pending(name),
                sent=d.sent_total.get(name, 0),
                failed={reason: n for (rcv, reason), n in d.failed_total.items() if rcv == name},
            )
            for name in d.receiver_names
        ]

    def _health(self) -> tuple[bool, dict[str, object]]:
        age_s = (self.clock.now_ns() - self.eval_stats.last_tick_ns) / NS_PER_S
        ok = self.eval_stats.count > 0 and age_s < max(10.0, 5 * self.cfg.evaluation.interval_s)
        return ok, {"last_evaluation_age_s": round(age_s, 3), "tasks": self.supervisor.running()}


async def run_daemon(cfg: Config, secrets: Secrets) -> int:
    configure_logging(cfg.log.level, cfg.log.format, secrets.all())
    daemon = Daemon(cfg, secrets)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await daemon.start()
    try:
        await stop.wait()
    finally:
        await daemon.stop()
    return 0
