"""Config reload (SIGHUP): check the new file fully, then swap in what can change without losing state.

A reload is all or nothing. The new file goes through the same checks as at start; then
`plan_reload` compares it with the running config. Rules, receivers, thresholds and evaluation
settings swap atomically between two ticks. Collectors keep running (and keep their sockets,
history and feed state) when their venue and accounts are unchanged, and only a changed or new
venue's collectors are (re)started; an account the new file no longer lists is dropped from the
store once its collector has stopped (its alerts then resolve as "figure gone"). What cannot
change under a running process (HTTP bind, state dir, simulator, MQTT, log, shard, the volatility
grid, or removing a venue or a symbol whose state would linger in the book) refuses the reload
with the reason. The file `[http] web_config_file` names is re-read on every reload: a rotated
certificate or changed users are served without closing the listener (monitor/http.py). A refused
reload leaves the old config running and sets `perpmon_config_last_reload_successful` to 0, as
Prometheus and Alertmanager do.

Alert state carries over for every rule whose config is unchanged; a firing alert of a rule the
reload removed or changed is resolved (`resolved_reason`), so no receiver keeps an orphan.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from monitor.clock import NS_PER_S
from monitor.collectors.holdings import cleared_holding, holdings_from_config
from monitor.collectors.listing import keep_listed
from monitor.config import Config, EvaluationConfig, Secrets, load_config
from monitor.errors import ConfigError
from monitor.evaluator import Evaluator
from monitor.log import add_secrets
from monitor.notify import Dispatcher, build_notifiers
from monitor.records import AlertEvent
from monitor.rules.engine import RuleEngine
from monitor.shard import select_shard

if TYPE_CHECKING:
    from monitor.app import Daemon

__all__ = ["ReloadMetrics", "ReloadPlan", "ReloadStats", "plan_reload", "reload_daemon"]

log = structlog.get_logger(__name__)

# Sections a reload swaps; every other section (http, state_dir, simulator, mqtt, log, shard, and
# any added later) is read once at start, so a change there needs a restart.
_RELOADABLE = frozenset({"venues", "accounts", "holdings", "evaluation", "rules", "receivers"})
_GRID = ("volatility_sample_s", "history_points")  # the store's ring buffers are shaped by these


@dataclass
class ReloadStats:
    """Read at scrape time; the start counts as the first successful load, as in Prometheus."""

    ok: bool = True
    last_success_ns: int = 0


class ReloadMetrics(Collector):
    def __init__(self, stats: ReloadStats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "perpmon_config_last_reload_success_timestamp_seconds",
            "Time of the last successful config load, Unix time.",
            value=self._stats.last_success_ns / NS_PER_S,
        )


@dataclass(frozen=True)
class ReloadPlan:
    venues: tuple[str, ...]  # venues whose collectors (re)start: changed or new
    rules_changed: bool
    receivers_changed: bool
    forgotten: tuple[tuple[str, str], ...] = ()  # (venue, account) no longer watched: state dropped


def plan_reload(old: Config, new: Config) -> ReloadPlan:
    """What the swap from `old` to `new` touches; ConfigError when it needs a restart instead."""
    for section in Config.__struct_fields__:
        if section not in _RELOADABLE and getattr(old, section) != getattr(new, section):
            raise ConfigError(section, "changes here need a restart (systemctl restart perpmon)")
    for key in _GRID:
        if getattr(old.evaluation, key) != getattr(new.evaluation, key):
            raise ConfigError(f"evaluation.{key}", "changes the history buffers; needs a restart")
    new_accounts = {(a.venue, a.name) for a in new.accounts}
    return ReloadPlan(
        venues=_venues_to_restart(old, new),
        rules_changed=old.rules != new.rules
        or _engine_settings(old.evaluation) != _engine_settings(new.evaluation),
        receivers_changed=old.receivers != new.receivers,
        forgotten=tuple(sorted({(a.venue, a.name) for a in old.accounts} - new_accounts)),
    )


def _engine_settings(ev: EvaluationConfig) -> tuple[float, float, float]:
    """The `[evaluation]` keys the rule engine is built with: changing one rebuilds it (state adopted)."""
    return (ev.heartbeat_s, ev.unavailable_for_s, ev.unavailable_warmup_s)


def _venues_to_restart(old: Config, new: Config) -> tuple[str, ...]:
    old_v, new_v = {v.name: v for v in old.venues}, {v.name: v for v in new.venues}
    linger = "needs a restart: its state would linger in the book"
    for name in sorted(old_v.keys() - new_v.keys()):
        raise ConfigError("venues", f"removing venue {name!r} {linger}")
    # a removed (or moved) account restarts its venue's collector and is forgotten by the store
    out: list[str] = []
    for name, v in new_v.items():
        before = old_v.get(name)
        if before is not None:
            lost = (set(before.symbols) - set(v.symbols)) | (set(before.spot_symbols) - set(v.spot_symbols))
            if lost:
                raise ConfigError("venues", f"removing symbols {sorted(lost)} from {name!r} {linger}")
        accounts_before = {a.name: a for a in old.accounts if a.venue == name}
        accounts_now = {a.name: a for a in new.accounts if a.venue == name}
        if before != v or accounts_before != accounts_now:
            out.append(name)
    return tuple(out)


async def reload_daemon(d: Daemon, given: tuple[Config, Secrets] | None = None) -> bool:
    """Re-read `d.config_path` (or take `given`) and swap it in; False leaves the old config running."""
    d.notify.reloading(d.clock.monotonic_ns())
    try:
        ok = await _reload(d, given)
        ok = await _reload_web_config(d) and ok  # certificates and users: whatever the rest decided
    finally:
        d.notify.ready("reloaded")
    d.reload_stats.ok = ok
    if ok:
        d.reload_stats.last_success_ns = d.clock.now_ns()
    return ok


async def _reload(d: Daemon, given: tuple[Config, Secrets] | None) -> bool:
    try:
        if given is None:
            if d.config_path is None:
                raise ConfigError("", "the daemon was started without a config file to re-read")
            given = await asyncio.to_thread(load_config, d.config_path)
        cfg, secrets = given
        add_secrets(secrets.all())  # first: anything below may log them, refused reload or not
        if d.shard_override is not None:
            cfg = msgspec.structs.replace(cfg, shard=d.shard_override)
        cfg = select_shard(cfg)
        cfg = keep_listed(d.cfg, cfg)  # "*" keeps what start-up resolved (collectors/listing.py)
        plan = plan_reload(d.cfg, cfg)
        ev = cfg.evaluation
        engine = (
            RuleEngine(
                cfg.rules,
                heartbeat_s=ev.heartbeat_s,
                unavailable_for_s=ev.unavailable_for_s,
                unavailable_warmup_s=ev.unavailable_warmup_s,
            )
            if plan.rules_changed
            else None
        )
        evaluator = Evaluator(cfg, started_ns=d.started_ns, monotonic_ns=d.clock.monotonic_ns)
        collectors = [d.build_venue(v, cfg, secrets) for v in cfg.venues if v.name in plan.venues]
        for c in collectors:  # a key that can trade refuses the reload before anything changes
            await c.check_keys()
        dispatcher = None  # built last: nothing after it can fail and leave its sessions open
        if plan.receivers_changed and d.outbox is not None:
            notifiers = build_notifiers(
                cfg.receivers, secrets.receiver_urls, clock=d.clock, credentials=secrets.receiver_credentials
            )
            dispatcher = Dispatcher(cfg.receivers, notifiers, d.outbox, d.clock, secrets=secrets.all())
    except (ConfigError, ValueError) as exc:
        log.error("config reload refused; the running config stays", error=str(exc), path=d.config_path)
        return False
    async with d.swap_lock:  # between two ticks: no tick sees half a config
        now = d.clock.now_ns()
        resolved: list[AlertEvent] = []
        if engine is not None:
            resolved = engine.adopt(d.engine, now)
            d.engine = engine
        old_holdings = {h.name for h in d.cfg.holdings}
        d.cfg, d.secrets, d.evaluator = cfg, secrets, evaluator
        if dispatcher is not None:
            await d.replace_dispatcher(dispatcher)
        for c in collectors:
            await d.restart_venue(c)
        for venue, account in plan.forgotten:  # after its collector stopped: nothing puts it back
            d.store.forget(venue, account)
        _put_holdings(d, old_holdings, now)
        if resolved:
            try:
                await d.submit(resolved, now)
            except Exception:  # the swap is done; the resolutions are held and go with the next tick
                log.exception("outbox refused the reload's resolutions; the next tick retries them")
    log.info(
        "config reloaded",
        path=d.config_path,
        restarted_venues=list(plan.venues),
        rules_changed=plan.rules_changed,
        receivers_changed=plan.receivers_changed,
    )
    return True


async def _reload_web_config(d: Daemon) -> bool:
    """Re-read `[http] web_config_file` (rotated certificate, changed users); False keeps the old one."""
    try:
        web = await d.http.reload_web_config()
    except (ConfigError, OSError) as exc:
        log.error("web config reload refused; the running TLS and users stay", error=str(exc))
        return False
    if web is not None:
        log.info("web config reloaded", **web.describe())
    return True


def _put_holdings(d: Daemon, before: set[str], now_ns: int) -> None:
    for h in holdings_from_config(d.cfg.holdings, now_ns):
        d.store.put(h)
    for name in sorted(before - {h.name for h in d.cfg.holdings}):
        d.store.put(cleared_holding("config", name, now_ns))
