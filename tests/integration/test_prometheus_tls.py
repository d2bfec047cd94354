"""A real Prometheus (Debian's) scrapes a running daemon over TLS with basic auth, through a SIGHUP
that rotates the server certificate.

Five jobs scrape the same target every second: the right login, no login, a wrong password, plain
HTTP, and a job that verifies the name only the renewed certificate carries. Only the first gets
series until the rotation; after it the renewed-name job gets in too, and the right-login job,
scraping on its kept-alive connection, never records a failed scrape (`up` stays 1 throughout).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from monitor.app import Daemon
from monitor.config import parse_config
from tests.support.perpmon import sim_config, to_toml
from tests.support.servers import prom_query, prometheus
from tests.support.tls import make_pki, reissue_server
from tests.support.webconfig import write_web_config

pytestmark = [pytest.mark.integration, pytest.mark.slow]

USER, PASSWORD = "prometheus", "scrape-pw-41d7e0"
ROTATED = "perpmon.rotated"  # a name only the renewed certificate is valid for


def scrape_config(port: int, ca: Path) -> str:
    def job(name: str, scheme: str = "https", auth: str | None = PASSWORD, server_name: str = "") -> str:
        text = f"  - job_name: {name}\n    scheme: {scheme}\n"
        text += f"    tls_config:\n      ca_file: {ca}\n"
        if server_name:
            text += f"      server_name: {server_name}\n"
        if auth is not None:
            text += f"    basic_auth:\n      username: {USER}\n      password: {auth}\n"
        return text + f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n"

    return (
        "global:\n  scrape_interval: 1s\n  scrape_timeout: 900ms\nscrape_configs:\n"
        + job("good")
        + job("anonymous", auth=None)
        + job("wrong_password", auth="not-" + PASSWORD)
        + job("plain_http", scheme="http")
        + job("renewed_name", server_name=ROTATED)
    )


def targets(url: str) -> dict[str, dict[str, Any]]:
    with urllib.request.urlopen(f"{url}/api/v1/targets", timeout=5) as r:
        active = json.load(r)["data"]["activeTargets"]
    return {t["labels"]["job"]: t for t in active}


async def until(cond: Any, what: str, limit_s: float = 30.0) -> Any:
    for _ in range(int(limit_s / 0.2)):
        got = await asyncio.to_thread(cond)
        if got:
            return got
        await asyncio.sleep(0.2)
    raise AssertionError(f"not in {limit_s} s: {what}")


def up_samples(url: str, job: str, window: str) -> list[float]:
    rows = prom_query(url, f'up{{job="{job}"}}[{window}]')
    return [float(v) for row in rows for _t, v in row["values"]]  # type: ignore[attr-defined]


async def test_prometheus_scrapes_over_tls_with_basic_auth_through_a_certificate_rotation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pki = make_pki(tmp_path)
    web = write_web_config(tmp_path / "web-config.yml", pki, {USER: PASSWORD})
    data, env = sim_config(tmp_path, {"hedge": (400_000.0, -50.0, "cross", 0.0)})
    data["http"] = {"host": "127.0.0.1", "port": 0, "web_config_file": str(web)}
    for name, value in env.items():  # the SIGHUP re-reads the file, and its secrets from the environment
        monkeypatch.setenv(name, value)
    (tmp_path / "perpmon.toml").write_text(to_toml(data))
    d = Daemon(*parse_config(data, env), config_path=str(tmp_path / "perpmon.toml"))
    await d.start()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, d.request_reload)  # as `perpmon run` installs it
    try:
        with prometheus(tmp_path, scrape_config(d.http.bound_port, pki.ca)) as url:
            await until(lambda: prom_query(url, 'perpmon_margin_ratio{job="good"}'), "series via TLS + auth")

            def settled() -> dict[str, dict[str, Any]] | None:
                t = targets(url)
                return t if all(x["lastScrape"] != "0001-01-01T00:00:00Z" for x in t.values()) else None

            before = await until(settled, "every job scraped once")
            assert before["good"]["health"] == "up"
            for job in ("anonymous", "wrong_password"):
                assert before[job]["health"] == "down" and "401" in before[job]["lastError"], before[job]
            assert before["plain_http"]["health"] == "down", "plain HTTP gets no answer from a TLS port"
            renewed = before["renewed_name"]
            assert renewed["health"] == "down" and ROTATED in renewed["lastError"], "the old pair is served"
            for job in ("anonymous", "wrong_password", "plain_http", "renewed_name"):
                assert not prom_query(url, f'perpmon_build_info{{job="{job}"}}'), job

            reissue_server(pki, (ROTATED,))
            reloads = d.reload_stats.last_success_ns
            os.kill(os.getpid(), signal.SIGHUP)
            await until(lambda: d.reload_stats.last_success_ns != reloads, "the SIGHUP reload")
            assert d.reload_stats.ok
            await until(
                lambda: targets(url)["renewed_name"]["health"] == "up", "Prometheus verifies the renewed pair"
            )
            await asyncio.sleep(3)  # three more scrapes of every job after the rotation
            assert set(up_samples(url, "good", "60s")) == {1.0}, "no failed scrape across the rotation"
            assert prom_query(url, 'perpmon_margin_ratio{job="renewed_name"}')
            after = targets(url)
            for job in ("anonymous", "wrong_password", "plain_http"):
                assert after[job]["health"] == "down", job
    finally:
        loop.remove_signal_handler(signal.SIGHUP)
        await d.stop()
