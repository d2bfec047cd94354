"""The routes beside /metrics: the page, its body, the JSON; a bad limit is refused; a stall shows."""

from __future__ import annotations

import asyncio
import gzip
import urllib.error
import urllib.request
from collections.abc import AsyncIterator

import msgspec
import pytest
from prometheus_client import CollectorRegistry

from monitor.http import HttpServer
from monitor.records import Figures, Severity
from monitor.status.model import StatusPage
from monitor.status.routes import StatusRoutes
from tests.unit.status.desk import T0, alert, rules
from tests.unit.status.test_build import NEAR_RULES, _desk

S = 1_000_000_000


class World:
    def __init__(self) -> None:
        self.figures: Figures | None = _desk().figures()
        self.now = T0
        self.firing = [alert("MarginRatio", Severity.WARNING, venue="binance", account="degen")]


@pytest.fixture
async def served() -> AsyncIterator[tuple[World, str]]:
    w = World()
    routes = StatusRoutes(
        figures=lambda: w.figures,
        firing=lambda: w.firing,
        recent=lambda: [],
        now_ns=lambda: w.now,
        stale_after_s=lambda: 10.0,
    )
    server = HttpServer(
        host="127.0.0.1", port=0, registry=CollectorRegistry(), health=lambda: (True, {}), status=routes
    )
    await server.start()
    try:
        yield w, f"http://127.0.0.1:{server.bound_port}"
    finally:
        await server.stop()


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


async def test_page_body_and_json_come_from_the_same_record(served: tuple[World, str]) -> None:
    _, base = served
    status, ctype, raw = await asyncio.to_thread(_get, f"{base}/status.json?limit=2")
    assert (status, ctype) == (200, "application/json")
    page = msgspec.json.decode(raw, type=StatusPage)
    assert (len(page.positions), page.positions_total, page.firing_total) == (2, 4, 1)
    status, ctype, html = await asyncio.to_thread(_get, f"{base}/status")
    assert status == 200 and ctype.startswith("text/html") and html.startswith(b"<!doctype html>")
    status, _, body = await asyncio.to_thread(_get, f"{base}/status/body")
    assert status == 200 and body in html  # the shell wraps exactly what the script re-fetches


async def test_a_browser_that_accepts_gzip_gets_it(served: tuple[World, str]) -> None:
    _, base = served

    def get() -> tuple[str | None, bytes]:
        req = urllib.request.Request(f"{base}/status/body", headers={"Accept-Encoding": "gzip"})
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.headers["Content-Encoding"], r.read()

    encoding, raw = await asyncio.to_thread(get)
    assert encoding == "gzip" and gzip.decompress(raw).startswith(b'<div class="summary"')


@pytest.mark.parametrize("limit", ["0", "-3", "x", "10001"])
async def test_a_bad_limit_is_refused(served: tuple[World, str], limit: str) -> None:
    _, base = served
    status, _, raw = await asyncio.to_thread(_get, f"{base}/status.json?limit={limit}")
    assert status == 400 and b"limit must be an integer from 1 to 10,000" in raw


async def test_a_stalled_loop_shows_its_figures_growing_old(served: tuple[World, str]) -> None:
    """The same tick served later says so: the memo of a built page must not freeze its age."""
    w, base = served
    first = msgspec.json.decode((await asyncio.to_thread(_get, f"{base}/status.json"))[2], type=StatusPage)
    w.now = T0 + 30 * S
    later = msgspec.json.decode((await asyncio.to_thread(_get, f"{base}/status.json"))[2], type=StatusPage)
    assert (first.taken_at_ns, later.taken_at_ns) == (T0, T0)
    assert later.served_at_ns - later.taken_at_ns == 30 * S
    assert later.positions == first.positions


async def test_a_new_alert_on_the_same_tick_is_shown_at_once(served: tuple[World, str]) -> None:
    w, base = served
    await asyncio.to_thread(_get, f"{base}/status.json")
    w.firing = [*w.firing, alert("LiquidationDistance", Severity.CRITICAL, venue="binance", account="hedge")]
    page = msgspec.json.decode((await asyncio.to_thread(_get, f"{base}/status.json"))[2], type=StatusPage)
    assert page.firing_counts == {"warning": 1, "critical": 1}


async def test_perpmon_status_prints_the_page_as_text(
    served: tuple[World, str], capsys: pytest.CaptureFixture[str]
) -> None:
    from monitor.cli import main

    _, base = served
    code = await asyncio.to_thread(main, ["status", "--url", base, "--limit", "3"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("perpmon status · figures of 2026-12-08 00:00:00 UTC (0 s old)\n")
    assert "Positions by distance to liquidation (worst 3 of 4)" in out and "  … and 1 more" in out


async def test_perpmon_status_without_a_daemon_fails_and_says_where_it_looked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from monitor.cli import main
    from tests.support.servers import free_port

    url = f"http://127.0.0.1:{free_port()}"
    code = await asyncio.to_thread(main, ["status", "--url", url])
    captured = capsys.readouterr()
    assert code == 1 and captured.out == ""
    assert captured.err.startswith(f"perpmon: no daemon answers at {url}: ")


async def test_the_bars_carry_the_rules_the_daemon_runs_now_and_follow_a_reload() -> None:
    """A reload swaps the engine's rules: the next page marks the new levels (the memo is keyed
    on the rules too, not only on the tick)."""
    w = World()
    running = [NEAR_RULES]
    routes = StatusRoutes(
        figures=lambda: w.figures,
        firing=lambda: w.firing,
        recent=lambda: [],
        now_ns=lambda: w.now,
        stale_after_s=lambda: 10.0,
        rules=lambda: running[0],
    )
    page = await routes.page(50)
    degen = next(p for p in page.positions if p.account == "degen")
    assert page.rules_known and [t.value for t in degen.gauge.levels] == [0.25, 0.1]
    running[0] = rules(
        {
            "name": "LiquidationDistance",
            "figure": "liquidation_distance_ratio",
            "op": "<",
            "levels": [{"severity": "critical", "threshold": 0.03}],
        }
    )
    page = await routes.page(50)
    degen = next(p for p in page.positions if p.account == "degen")
    assert [t.value for t in degen.gauge.levels] == [0.03] and degen.gauge.state == "clear"
