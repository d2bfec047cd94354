"""Config reload swaps rules and receivers atomically, keeps unchanged collectors, and refuses bad files.

The in-process tests call `Daemon.reload()` with a new config, as the SIGHUP handler does; the last
test runs `perpmon run` as systemd would (Type=notify, a NOTIFY_SOCKET) and sends it real SIGHUPs.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import msgspec
import pytest
import structlog
from aiohttp import web
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from monitor.app import Daemon
from monitor.config import parse_config
from monitor.log import configure_logging
from tests.support.perpmon import sim_config, to_toml
from tests.support.servers import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ACCOUNTS = {"hedge": (400_000.0, -50.0, "cross", 0.0), "degen": (6_000.0, 2.0, "cross", 0.0)}
MARGIN = {
    "name": "MarginRatio",
    "figure": "margin_ratio",
    "op": ">",
    "levels": [{"severity": "warning", "threshold": 0.01}],
}
HEDGE = {
    "name": "HedgeLow",
    "figure": "hedge_ratio",
    "op": "<",
    "levels": [{"severity": "warning", "threshold": 2.0}],
}


class Hook:
    """A webhook receiver that records every alert it is sent."""

    def __init__(self) -> None:
        self.alerts: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.alerts += (await request.json())["alerts"]
        return web.Response(status=200)

    def seen(self, alertname: str, status: str) -> list[dict[str, Any]]:
        return [a for a in self.alerts if a["labels"]["alertname"] == alertname and a["status"] == status]


@pytest.fixture
async def hook() -> AsyncIterator[tuple[Hook, str]]:
    h = Hook()
    app = web.Application()
    app.router.add_post("/hook", h.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield h, f"http://127.0.0.1:{port}/hook"
    await runner.cleanup()


def config(tmp: Path, url: str, rules: list[dict[str, Any]], **changes: Any) -> tuple[Any, Any]:
    data, env = sim_config(
        tmp,
        ACCOUNTS,
        holdings={"custody": 50.0},
        rules=rules,
        receivers=[{"name": "desk", "type": "webhook", "url_env": "HOOK_URL", "timeout_s": 5.0}],
    )
    data.update(changes)
    return parse_config(data, {**env, "HOOK_URL": url})


async def wait_for(cond: Callable[[], object], limit_s: float, what: str) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + limit_s
    while not cond():
        if loop.time() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def test_reload_swaps_rules_and_keeps_collectors_and_alert_state(
    tmp_path: Path, hook: tuple[Hook, str]
) -> None:
    """Unchanged collectors and firing alerts survive; a new rule fires; a changed rule resolves first."""
    h, url = hook
    d = Daemon(*config(tmp_path, url, [MARGIN]))
    await d.start()
    try:
        await wait_for(lambda: len(h.seen("MarginRatio", "firing")) == 2, 15, "MarginRatio for both accounts")
        collectors, tasks = list(d.collectors), d._health()[1]["tasks"]
        started = {e.labels["account"]: e.starts_at_ns for e in d.engine.firing()}
        before_ns = d.reload_stats.last_success_ns
        new_eval = {"interval_s": 0.2, "volatility_sample_s": 1.0, "horizon_s": 144.0}

        assert await d.reload(config(tmp_path, url, [MARGIN, HEDGE], evaluation=new_eval))
        assert d.collectors == collectors and all(
            a is b for a, b in zip(d.collectors, collectors, strict=True)
        )
        assert d._health()[1]["tasks"] == tasks
        assert d.cfg.evaluation.interval_s == 0.2 and d.reload_stats.ok
        assert d.reload_stats.last_success_ns > before_ns
        await wait_for(lambda: h.seen("HedgeLow", "firing"), 10, "the new rule to fire")
        kept = {
            e.labels["account"]: e.starts_at_ns
            for e in d.engine.firing()
            if e.labels["alertname"] == "MarginRatio"
        }
        assert kept == started, "firing alerts of an unchanged rule keep their state"
        assert h.seen("MarginRatio", "resolved") == [] and len(h.seen("MarginRatio", "firing")) == 2

        changed = {**MARGIN, "levels": [{"severity": "critical", "threshold": 0.02}]}
        assert await d.reload(config(tmp_path, url, [changed, HEDGE], evaluation=new_eval))
        await wait_for(lambda: len(h.seen("MarginRatio", "resolved")) == 2, 10, "the changed rule to resolve")
        reasons = {a["annotations"].get("resolved_reason") for a in h.seen("MarginRatio", "resolved")}
        assert reasons == {"rule changed or removed by a config reload"}
        assert h.seen("HedgeLow", "resolved") == []
    finally:
        await d.stop()


async def test_bad_or_restart_only_configs_are_refused(tmp_path: Path, hook: tuple[Hook, str]) -> None:
    """A refused reload keeps the old config running and reports 0; the next good one reports 1."""
    _, url = hook
    d = Daemon(*config(tmp_path, url, [MARGIN]))
    await d.start()
    try:
        running = d.cfg
        cfg, secrets = config(tmp_path, url, [MARGIN])
        refused = [
            msgspec.structs.replace(cfg, http=msgspec.structs.replace(cfg.http, port=1)),
            msgspec.structs.replace(cfg, venues=()),
            msgspec.structs.replace(cfg, state_dir=str(tmp_path / "elsewhere")),
        ]
        for bad in refused:
            assert not await d.reload((bad, secrets))
            assert d.cfg is running and d.reload_stats.ok is False
        d.config_path = str(tmp_path / "missing.toml")
        assert not await d.reload()
        assert d.cfg is running
        assert await d.reload((cfg, secrets))
        assert d.reload_stats.ok is True
    finally:
        await d.stop()


async def test_a_changed_venue_restarts_only_its_collector(tmp_path: Path, hook: tuple[Hook, str]) -> None:
    """A new poll interval rebuilds that venue's collector; its feeds come back and stay fresh."""
    _, url = hook
    data_cfg, secrets = config(tmp_path, url, [MARGIN])
    d = Daemon(data_cfg, secrets)
    await d.start()
    try:
        old = d.collectors[0]
        await wait_for(lambda: old.stats.messages, 10, "the first messages")
        venue = msgspec.structs.replace(data_cfg.venues[0], poll_s=0.3)
        assert await d.reload((msgspec.structs.replace(data_cfg, venues=(venue,)), secrets))
        new = d.collectors[0]
        assert new is not old and len(d.collectors) == 1 and d._collector_stats[0] is new.stats
        old_count = sum(old.stats.messages.values())
        await wait_for(lambda: sum(new.stats.messages.values()) > 5, 10, "the new collector's messages")
        assert sum(old.stats.messages.values()) == old_count, "the old collector stopped"

        def stale() -> list[tuple[str, str]]:
            figs = d.latest
            assert figs is not None
            return [
                (k.stream, f.reason)
                for k, f in figs.items.items()
                if k.name == "feed_stale" and f.value != 0.0
            ]

        await wait_for(lambda: not stale(), 10, "every feed fresh again")
    finally:
        await d.stop()


async def test_a_new_receiver_is_swapped_in_and_delivered_to(tmp_path: Path, hook: tuple[Hook, str]) -> None:
    """Adding a receiver replaces the dispatcher; the outbox is kept and the new receiver gets alerts."""
    h, url = hook
    cfg, secrets = config(tmp_path, url, [MARGIN])
    d = Daemon(cfg, secrets)
    await d.start()
    try:
        await wait_for(lambda: h.seen("MarginRatio", "firing"), 15, "the first alert")
        old, outbox = d.dispatcher, d.outbox
        second = msgspec.structs.replace(cfg.receivers[0], name="second", match={"asset": "BTC"})
        new_cfg, new_secrets = config(tmp_path, url, [MARGIN, HEDGE])
        new_cfg = msgspec.structs.replace(new_cfg, receivers=(*new_cfg.receivers, second))
        new_secrets = msgspec.structs.replace(
            new_secrets,
            receiver_urls={**new_secrets.receiver_urls, "second": new_secrets.receiver_urls["desk"]},
        )
        assert await d.reload((new_cfg, new_secrets))
        assert d.dispatcher is not old and d.outbox is outbox
        assert d.dispatcher.receiver_names == ["desk", "second"]
        await wait_for(lambda: h.seen("HedgeLow", "firing"), 10, "an alert through the new dispatcher")
        await wait_for(
            lambda: d.dispatcher.sent_total.get("second", 0) > 0, 10, "a delivery to the new receiver"
        )
    finally:
        await d.stop()


async def test_a_secret_first_read_by_a_reload_never_reaches_the_log(
    tmp_path: Path, hook: tuple[Hook, str], capsys: pytest.CaptureFixture[str]
) -> None:
    """The redactor learns a reloaded receiver's URL: before, it knew only the secrets read at start."""
    h, url = hook
    cfg, secrets = config(tmp_path, url, [MARGIN])
    configure_logging("info", "json", secrets.all())  # as `perpmon run` does
    d = Daemon(cfg, secrets)
    await d.start()
    token = "n3w-r3load3d-t0ken-4b1d"
    new_url = f"{url}/{token}"
    try:
        await wait_for(lambda: h.seen("MarginRatio", "firing"), 15, "the first alert")
        second = msgspec.structs.replace(cfg.receivers[0], name="second", url_env="SECOND_URL")
        data, env = sim_config(
            tmp_path,
            ACCOUNTS,
            holdings={"custody": 50.0},
            rules=[MARGIN],
            receivers=[
                {"name": "desk", "type": "webhook", "url_env": "HOOK_URL", "timeout_s": 5.0},
                {"name": "second", "type": "webhook", "url_env": "SECOND_URL", "timeout_s": 5.0},
            ],
        )
        new_cfg, new_secrets = parse_config(data, {**env, "HOOK_URL": url, "SECOND_URL": new_url})
        assert new_cfg.receivers[1] == second
        assert await d.reload((new_cfg, new_secrets))
        # a library error that echoes the URL, nested as aiohttp's request info would be
        structlog.get_logger("test").warning(
            "receiver error", request={"url": new_url, "history": [new_url]}, error=ValueError(new_url)
        )
    finally:
        await d.stop()
        out = capsys.readouterr().err
        structlog.reset_defaults()
    assert "receiver error" in out and "config reloaded" in out
    assert token not in out


async def test_heartbeat_follows_config_and_a_removed_account_is_forgotten(
    tmp_path: Path, hook: tuple[Hook, str]
) -> None:
    """The watchdog reaches only the receiver that asks for it, every heartbeat_s; a reload turning it
    off stops it; a reload dropping an account resolves that account's alerts and nothing else's."""
    h, url = hook
    deadman = {"name": "deadman", "type": "webhook", "url_env": "HOOK_URL"}
    deadman["match"] = {"alertname": "PerpmonWatchdog"}
    desk = {"name": "desk", "type": "webhook", "url_env": "HOOK_URL"}
    data, env = sim_config(tmp_path, ACCOUNTS, rules=[MARGIN], receivers=[desk, deadman])
    data["evaluation"]["heartbeat_s"] = 0.3
    env["HOOK_URL"] = url
    d = Daemon(*parse_config(data, env))
    await d.start()
    try:
        await wait_for(lambda: len(h.seen("PerpmonWatchdog", "firing")) >= 3, 15, "three heartbeats")
        await wait_for(lambda: len(h.seen("MarginRatio", "firing")) == 2, 15, "both accounts' alerts")

        data["evaluation"]["heartbeat_s"] = 0.0
        assert await d.reload(parse_config(data, env))
        await wait_for(lambda: d.dispatcher.pending() == 0, 5, "the outbox to drain")
        beats = len(h.seen("PerpmonWatchdog", "firing"))
        await asyncio.sleep(1.2)  # four heartbeat periods
        assert len(h.seen("PerpmonWatchdog", "firing")) == beats, "heartbeat off after the reload"
        assert h.seen("MarginRatio", "resolved") == [], "the rebuilt engine kept the firing alerts"
        assert d.dispatcher.sent_total["deadman"] == beats, "the watchdog went to deadman only"
        exposed = {
            (s.name, s.labels.get("receiver")): s.value
            for fam in text_string_to_metric_families(generate_latest(d.registry).decode())
            for s in fam.samples
        }
        assert exposed[("perpmon_notifications_sent_total", "deadman")] == beats
        assert exposed[("perpmon_notifications_superseded_total", "deadman")] == 0
        assert exposed[("perpmon_notifications_given_up_total", "desk")] == 0

        data["accounts"] = [a for a in data["accounts"] if a["name"] != "degen"]
        assert await d.reload(parse_config(data, env))
        await wait_for(lambda: h.seen("MarginRatio", "resolved"), 10, "the dropped account's alert resolving")
        [resolved] = h.seen("MarginRatio", "resolved")
        assert (resolved["labels"]["account"], resolved["annotations"]["resolved_reason"]) == (
            "degen",
            "figure gone",
        )
        assert [k for k in d.store.snapshot(0).accounts] == [("binance", "hedge")]
        assert not [f for f in d.store.snapshot(0).feeds if f[1] == "account:degen"]
    finally:
        await d.stop()


def _metric(port: int, name: str) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
    raise KeyError(name)


def test_sighup_under_a_notify_socket(tmp_path: Path) -> None:
    """`perpmon run` says READY, pets the watchdog, reloads on SIGHUP (refusing a bad file), says STOPPING."""
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(20)
    port = free_port()
    data, env = sim_config(tmp_path, ACCOUNTS, holdings={"custody": 50.0}, rules=[MARGIN])
    data["http"]["port"] = port
    path = tmp_path / "config.toml"
    path.write_text(to_toml(data))
    proc = subprocess.Popen(
        [sys.executable, "-m", "monitor", "run", "--config", str(path)],
        env={**os.environ, **env, "NOTIFY_SOCKET": str(tmp_path / "notify.sock"), "WATCHDOG_USEC": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).resolve().parents[2],
    )

    def next_state(*want: str) -> str:
        while True:
            msg = notify.recv(4096).decode()
            if msg.split("\n", 1)[0] in want:
                return msg

    try:
        assert next_state("READY=1").startswith("READY=1")
        assert next_state("WATCHDOG=1") == "WATCHDOG=1"
        start = _metric(port, "perpmon_config_last_reload_success_timestamp_seconds")

        path.write_text(to_toml({**data, "rules": [MARGIN, HEDGE]}))
        proc.send_signal(signal.SIGHUP)
        assert next_state("RELOADING=1").startswith("RELOADING=1\nMONOTONIC_USEC=")
        assert next_state("READY=1").startswith("READY=1")
        assert _metric(port, "perpmon_config_last_reload_successful") == 1.0
        assert _metric(port, "perpmon_config_last_reload_success_timestamp_seconds") > start

        path.write_text(to_toml(data).replace("poll_s", "pol_s"))  # a typo: refused
        proc.send_signal(signal.SIGHUP)
        assert next_state("RELOADING=1").startswith("RELOADING=1")
        assert next_state("READY=1").startswith("READY=1")
        assert _metric(port, "perpmon_config_last_reload_successful") == 0.0
        assert next_state("WATCHDOG=1") == "WATCHDOG=1", "the old config keeps running"

        proc.send_signal(signal.SIGTERM)
        assert next_state("STOPPING=1") == "STOPPING=1"
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        notify.close()
