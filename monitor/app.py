"""Wiring: config → components, and the one evaluation loop.

Data flows one way: collectors put records into the store; every tick the evaluator turns one
snapshot into Figures, the rule engine turns Figures into AlertEvents, and the dispatcher turns
those into durable notifications. Each stage gets the tick's single `now`. The tick itself is
`monitor/ticking.py`; this module keeps the wiring: start/stop, reload, metrics, health and status.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import structlog
from prometheus_client import CollectorRegistry

from monitor import __version__
from monitor.clock import NS_PER_S, Clock, LiveClock
from monitor.collectors import build_collector
from monitor.collectors.base import Collector, CollectorStats
from monitor.collectors.holdings import holdings_from_config
from monitor.collectors.listing import default_fetch, follows_listing, resolve_listings
from monitor.collectors.mqtt_holdings import MqttHoldingsCollector
from monitor.config import Config, Secrets, ShardConfig, VenueConfig
from monitor.evaluator import Evaluator
from monitor.frames import FrameSignal
from monitor.http import HttpServer
from monitor.log import configure_logging
from monitor.loop import evaluation_loop
from monitor.looplag import LoopLag, LoopLagMetrics, probe_loop
from monitor.metrics import DeliveryStats, EvaluationStats, PerpmonMetrics
from monitor.notify import Dispatcher, Outbox, build_notifiers
from monitor.records import AlertEvent, Figures
from monitor.refit import ModelRefresher
from monitor.reload import ReloadMetrics, ReloadStats, reload_daemon
from monitor.rules.engine import RuleEngine
from monitor.sdnotify import SdNotify
from monitor.shard import ShardMetrics, select_shard
from monitor.status.recent import RecentEvents
from monitor.status.routes import StatusRoutes
from monitor.store.state import StateStore
from monitor.supervise import Supervisor
from monitor.ticking import Ticking
from monitor.venues import Endpoints, endpoints

if TYPE_CHECKING:  # the simulator is imported only when it is enabled: production never loads it
    from monitor.sim.admin import AdminServer
    from monitor.sim.server import Simulator

__all__ = ["Daemon", "run_daemon"]

log = structlog.get_logger(__name__)


@dataclass
class Daemon(Ticking):
    """A running perpmon: start() brings every part up, stop() takes them down in reverse."""

    cfg: Config
    secrets: Secrets
    clock: Clock = field(default_factory=LiveClock)
    store: StateStore = field(init=False)
    simulator: Simulator | None = field(init=False, default=None)
    sim_admin: AdminServer | None = field(init=False, default=None)  # simulator.admin_port > 0
    collectors: list[Collector] = field(init=False, default_factory=list)
    evaluator: Evaluator = field(init=False)
    engine: RuleEngine = field(init=False)
    dispatcher: Dispatcher = field(init=False)
    outbox: Outbox | None = field(init=False, default=None)
    http: HttpServer = field(init=False)
    latest: Figures | None = field(init=False, default=None)
    full: Figures | None = field(init=False, default=None)  # the last full tick's: a frame tick's base
    eval_stats: EvaluationStats = field(init=False, default_factory=EvaluationStats)
    heap_settled: bool = field(init=False, default=False)  # settle_heap ran (gc.freeze)
    frames: FrameSignal = field(init=False)  # what the store's records moved (monitor/frames.py)
    config_path: str | None = None  # re-read on SIGHUP (see monitor/reload.py)
    shard_override: ShardConfig | None = None  # from `--shard`; survives reloads
    notify: SdNotify = field(default_factory=SdNotify.from_env)
    reload_stats: ReloadStats = field(init=False, default_factory=ReloadStats)
    unsent: list[AlertEvent] = field(init=False, default_factory=list)  # decided, not yet in the outbox
    recent: RecentEvents = field(init=False, default_factory=RecentEvents)  # the status page's transitions

    def __post_init__(self) -> None:
        if self.shard_override is not None:
            self.cfg = msgspec.structs.replace(self.cfg, shard=self.shard_override)
        self.cfg = select_shard(self.cfg)
        ev = self.cfg.evaluation
        self.store = StateStore(grid_step_s=ev.volatility_sample_s, history_points=ev.history_points)
        self.evaluator = Evaluator(
            self.cfg, started_ns=self.clock.now_ns(), monotonic_ns=self.clock.monotonic_ns
        )
        self.refresher = ModelRefresher(  # GARCH/OU/VaR history/Monte Carlo, off the loop (monitor/refit.py)
            self.clock, self.store.snapshot, lambda: self.latest, lambda: self.cfg.evaluation
        )
        self.engine = RuleEngine(
            self.cfg.rules,
            heartbeat_s=ev.heartbeat_s,
            unavailable_for_s=ev.unavailable_for_s,
            unavailable_warmup_s=ev.unavailable_warmup_s,
        )
        self.supervisor = Supervisor(self.clock)
        self.started_ns = self.clock.now_ns()
        self.registry = CollectorRegistry(auto_describe=True)
        self.swap_lock = asyncio.Lock()  # a tick and a config swap never interleave
        self.reload_stats.last_success_ns = self.started_ns
        self._reload_requested = asyncio.Event()
        self._notify_sup = Supervisor(self.clock)  # its own, so a reload can replace the dispatcher
        self._venue_sups: dict[str, Supervisor] = {}  # one per venue, so a reload restarts only that one
        self._collector_stats: list[CollectorStats] = []
        self.frames = FrameSignal(self.clock.monotonic_ns)

    # ------------------------------------------------------------------ lifecycle
    async def start(self) -> None:
        state_dir = Path(self.cfg.state_dir)
        await asyncio.to_thread(state_dir.mkdir, parents=True, exist_ok=True)
        self.outbox = Outbox(state_dir / "outbox.sqlite3")
        notifiers = build_notifiers(
            self.cfg.receivers,
            self.secrets.receiver_urls,
            clock=self.clock,
            credentials=self.secrets.receiver_credentials,
        )
        self.dispatcher = Dispatcher(
            self.cfg.receivers, notifiers, self.outbox, self.clock, secrets=self.secrets.all()
        )
        self._notify_sup.spawn("notify", self.dispatcher.run)
        if self.cfg.simulator.enabled:
            from monitor.sim.admin import AdminServer
            from monitor.sim.control import SimControl
            from monitor.sim.server import Simulator

            self.simulator = Simulator(
                self.cfg.simulator, self.secrets.sim_keys, self.clock, self.secrets.sim_passwords
            )
            await self.simulator.start()
            if self.cfg.simulator.admin_port:  # so `make run` can take a shock: loopback, token
                self.sim_admin = AdminServer(
                    SimControl(self.simulator), "127.0.0.1", self.cfg.simulator.admin_port
                )
                await self.sim_admin.start()
                token_file = await asyncio.to_thread(self.sim_admin.write_token, state_dir)
                log.info("simulator admin API", url=self.sim_admin.url, token_file=str(token_file))
        if any(follows_listing(v) for v in self.cfg.venues):  # symbols = ["*"] (collectors/listing.py)
            self.cfg = await resolve_listings(self.cfg, default_fetch(self._rest_url))
            self.evaluator = Evaluator(  # expects the listed streams; times its stages as the first did
                self.cfg, started_ns=self.started_ns, monotonic_ns=self.clock.monotonic_ns
            )
        for v in self.cfg.venues:
            self._start_venue(v)
        for c in self.collectors:  # a key that can trade, transfer or withdraw stops start-up (exit 2)
            await c.check_keys()
        for h in holdings_from_config(self.cfg.holdings, self.clock.now_ns()):
            self.store.put(h)
        collector_stats = self._collector_stats  # a reload swaps a restarted venue's entry in place
        if self.cfg.mqtt.enabled:
            mqtt = MqttHoldingsCollector(
                cfg=self.cfg.mqtt,
                credentials=self.secrets.mqtt_credentials,
                prices={(v.name, s) for v in self.cfg.venues for s in v.spot_symbols},
                sink=self.store,
                clock=self.clock,
                declared=lambda: {h.name for h in self.cfg.holdings},  # self.cfg: swapped by a reload
            )
            collector_stats.append(mqtt.stats)
            self.supervisor.spawn("mqtt.holdings", mqtt.run)
        self.registry.register(
            PerpmonMetrics(  # its figures are served by the HttpServer below (monitor/exposition.py)
                collectors=collector_stats,
                evaluation=self.eval_stats,
                delivery=self._delivery_stats,
                firing=lambda: [(e.labels, e.value) for e in self.engine.firing()],
                started_ns=self.started_ns,
                version=__version__,
                reload_ok=lambda: self.reload_stats.ok,
            )
        )
        self.registry.register(ReloadMetrics(self.reload_stats))
        self.loop_lag = LoopLag()
        self.registry.register(LoopLagMetrics(self.loop_lag))
        self.registry.register(ShardMetrics(self.cfg.shard))
        self.http = HttpServer(
            host=self.cfg.http.host,
            port=self.cfg.http.port,
            registry=self.registry,
            health=self._health,
            figures=lambda: self.latest,
            web_config_file=self.cfg.http.web_config_file,
            allow_insecure_bind=self.cfg.http.allow_insecure_bind,
            status=StatusRoutes(
                figures=lambda: self.latest,
                firing=lambda: self._annotate(self.engine.firing(), self.latest),  # in the alerts' words
                recent=self.recent.latest,
                now_ns=self.clock.now_ns,
                stale_after_s=lambda: max(10.0, 5 * self.cfg.evaluation.interval_s),  # as /healthz
                ticks=self.store.ticks,
                rules=lambda: self.engine.rules,  # the bars mark the running rules' levels
            ),
        )
        await self.http.start()
        now = self.clock.now_ns()
        started = self.engine.started(now)
        self.recent.record(started)
        await self.dispatcher.submit(started, now)
        self.supervisor.spawn("evaluation", self._evaluation_loop)
        self.supervisor.spawn("refit", self.refresher.run)
        self.supervisor.spawn("reload", self._reload_loop)
        self.supervisor.spawn("looplag", lambda: probe_loop(self.loop_lag))
        log.info(
            "perpmon started",
            version=__version__,
            metrics=f"{self.http.scheme}://{self.cfg.http.host}:{self.http.bound_port}/metrics",
            simulator=self.simulator is not None,
            venues=[v.name for v in self.cfg.venues],
        )
        self.notify.ready("monitoring")

    def settle_heap(self) -> None:
        """Collect once, then move what survives out of the garbage collector's sight (`gc.freeze`).

        Why: after warm-up the daemon holds a large, long-lived heap (configs, tier tables, records,
        label tuples, the figures' keys); at desk scale a full collection walked all of it every
        few seconds, ~100–300 ms with the loop held (a tick's p99, and every frame behind it).
        Frozen objects are still freed by reference counting; only a cycle among them that dies later
        waits for `stop`, which unfreezes (a test process runs many daemons).
        """
        gc.collect()
        gc.freeze()
        self.heap_settled = True

    def release_heap(self) -> None:
        """Undo `settle_heap`: what was frozen is the collector's again (at stop)."""
        if self.heap_settled:
            gc.unfreeze()
            self.heap_settled = False

    async def stop(self) -> None:
        self.release_heap()
        self.notify.stopping()
        await self.supervisor.stop()
        for sup in (*self._venue_sups.values(), self._notify_sup):
            await sup.stop()
        if hasattr(self, "dispatcher"):  # absent when a signal stopped start-up before it was built
            await self.dispatcher.close()
        if self.outbox is not None:
            self.outbox.close()
        if hasattr(self, "http"):
            await self.http.stop()
        if self.sim_admin is not None:
            await self.sim_admin.stop()
        if self.simulator is not None:
            await self.simulator.stop()
        log.info("perpmon stopped")

    def build_venue(self, v: VenueConfig, cfg: Config, secrets: Secrets) -> Collector:
        """The collector for `v` under `cfg` (a reload builds and key-checks it before swapping)."""
        return build_collector(v, cfg, secrets, self._endpoints(v.name, cfg), self.store, self.clock)

    def _start_venue(self, v: VenueConfig) -> None:
        self._spawn_venue(self.build_venue(v, self.cfg, self.secrets))

    def _spawn_venue(self, c: Collector) -> None:
        self.collectors.append(c)
        self._collector_stats.append(c.stats)
        sup = self._venue_sups[c.venue] = Supervisor(self.clock)
        for name, factory in c.tasks().items():
            sup.spawn(name, factory)

    # ------------------------------------------------------------------ reload (monitor/reload.py)
    def request_reload(self) -> None:
        """Ask for a reload from a signal handler; several requests before it runs make one reload."""
        self._reload_requested.set()

    async def reload(self, given: tuple[Config, Secrets] | None = None) -> bool:
        """Re-read `config_path` (or take `given`) and swap it in; False keeps the old config running."""
        return await reload_daemon(self, given)

    async def _reload_loop(self) -> None:
        while True:
            await self._reload_requested.wait()
            self._reload_requested.clear()
            await self.reload()

    async def replace_dispatcher(self, new: Dispatcher) -> None:
        """Stop the old delivery workers before the new ones lease, so no row is sent twice at once."""
        await self._notify_sup.stop()
        await self.dispatcher.close()
        self.dispatcher = new
        self._notify_sup.spawn("notify", new.run)

    async def restart_venue(self, new: Collector) -> None:
        """Stop the venue's old collector tasks (if any) and run `new` in their place."""
        old = [c for c in self.collectors if c.venue == new.venue]
        sup = self._venue_sups.pop(new.venue, None)
        if sup is not None:
            await sup.stop()
        self.collectors = [c for c in self.collectors if c.venue != new.venue]
        self._collector_stats[:] = [s for s in self._collector_stats if all(s is not c.stats for c in old)]
        self._spawn_venue(new)

    def _endpoints(self, venue: str, cfg: Config | None = None) -> Endpoints:
        v = next(x for x in (cfg or self.cfg).venues if x.name == venue)
        return endpoints(v, self.simulator)

    def _rest_url(self, v: VenueConfig) -> str | None:
        """Where venue `v`'s REST lives (the simulator's, an override, or None: production)."""
        return self._endpoints(v.name).rest

    async def _evaluation_loop(self) -> None:
        """Tick on the `interval_s` grid, and at once when a frame moved an input (monitor/loop.py)."""
        await evaluation_loop(self)

    def _delivery_stats(self) -> list[DeliveryStats]:
        d = self.dispatcher
        return [
            DeliveryStats(
                receiver=name,
                pending=d.pending(name),
                sent=d.sent_total.get(name, 0),
                failed={reason: n for (rcv, reason), n in d.failed_total.items() if rcv == name},
                given_up=d.given_up_total.get(name, 0),
                superseded=d.superseded_total.get(name, 0),
                merged=d.merged_total.get(name, 0),
            )
            for name in d.receiver_names
        ]

    def _health(self) -> tuple[bool, dict[str, object]]:
        age_s = (self.clock.now_ns() - self.eval_stats.last_tick_ns) / NS_PER_S
        ok = self.eval_stats.count > 0 and age_s < max(10.0, 5 * self.cfg.evaluation.interval_s)
        sups = (self.supervisor, self._notify_sup, *self._venue_sups.values())
        tasks = sorted(t for sup in sups for t in sup.running())
        return ok, {"last_evaluation_age_s": round(age_s, 3), "tasks": tasks}


async def run_daemon(
    cfg: Config, secrets: Secrets, *, config_path: str | None = None, shard: ShardConfig | None = None
) -> int:
    configure_logging(cfg.log.level, cfg.log.format, secrets.all())
    daemon = Daemon(cfg, secrets, config_path=config_path, shard_override=shard)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    with contextlib.suppress(NotImplementedError):
        loop.add_signal_handler(signal.SIGHUP, daemon.request_reload)
    starting = asyncio.ensure_future(daemon.start())
    stopped = asyncio.ensure_future(stop.wait())
    try:  # a signal during start-up (a venue slow to answer a key check) stops it, not waits it out
        await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            log.warning("stopped during start-up")
        await starting  # its failure (a refused key: exit 2) or its cancellation surfaces here
        await stopped
    except asyncio.CancelledError:
        if not stop.is_set():
            raise
    finally:
        stopped.cancel()
        await daemon.stop()
    return 0
