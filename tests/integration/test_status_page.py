"""The status page in a real headless Chromium against a daemon on the simulator (issue 15).

The page's numbers are held against /metrics of the same tick: the test holds the daemon's
`swap_lock` (the evaluation loop ticks under it), so /metrics, the page's refresh and
`perpmon status` all read one frozen `Figures`; every number cell on the page then carries the
scraped value and reads as its column formats that value; held past the page's limit, the stalled
loop turns the page's banner red. The browser also shows the page at a
phone's width (390 px) without sideways scrolling, and at a desktop's; the screenshots are
written to the test's tmp dir and copied to $PERPMON_SCREENSHOTS (default
/tmp/perpmon-status-screenshots), whose path the test prints. Last, the daemon's HTTP goes away
and the page must say so in red instead of showing its last numbers as if they were live.
"""

from __future__ import annotations

import asyncio
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import urllib.request
import zlib
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from monitor.app import Daemon
from monitor.config import parse_config
from monitor.figures import CATALOG
from monitor.status.columns import ACCOUNT, ASSET, FEED, MARKET, POSITION, Column
from monitor.status.model import ABSENT, CLEAR, PAST, UNKNOWN
from tests.support.chromium import Browser, chromium
from tests.support.perpmon import sim_config
from tests.support.status_dom import Bar, bars, cells

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ACCOUNTS = {
    "hedge": (400_000.0, -50.0, "cross", 0.0),
    "degen": (9_000.0, 2.0, "cross", 0.0),
    "iso": (20_000.0, 1.0, "isolated", 15_000.0),  # LP far below the crash: a row that stays
    "calm": (60_000.0, -1.0, "cross", 0.0),  # a short whose LP is far above: a safe, clear bar
    # past the last leverage bracket's cap (500 M): no tier prices it, its distance is NaN (missing_tier)
    "whale": (5_000_000_000.0, 20_000.0, "cross", 0.0),
}
RULES = [
    {
        "name": "MarginRatio",
        "figure": "margin_ratio",
        "op": ">",
        "levels": [{"severity": "warning", "threshold": 0.01}],
    },
    {
        "name": "LiquidationDistance",
        "figure": "liquidation_distance_ratio",
        "op": "<",
        "levels": [{"severity": "warning", "threshold": 0.5}, {"severity": "critical", "threshold": 0.1}],
    },
]
SECTIONS: dict[str, tuple[Column, ...]] = {
    "positions": tuple(POSITION),
    "accounts": tuple(ACCOUNT),
    "book": tuple(ASSET),
    "markets": tuple(MARKET),
    "feeds": tuple(FEED),
}
ROOT = Path(__file__).resolve().parents[2]
WIDTHS = {"phone": (390, 844, True, 2.0), "desktop": (1280, 900, False, 1.0)}


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as r:
        return str(r.read().decode())


def _scrape(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, frozenset(s.labels.items()))] = s.value
    return out


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b


def _png(path: Path) -> tuple[int, int, int]:
    """(width, height, distinct byte values of the pixels): a blank page has a handful."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    idat, i = b"", 8
    while i < len(data):
        (n,) = struct.unpack(">I", data[i : i + 4])
        if data[i + 4 : i + 8] == b"IDAT":
            idat += data[i + 8 : i + 8 + n]
        i += 12 + n
    return width, height, len(set(zlib.decompress(idat)))


async def _wait(browser: Browser, expression: str, want: object, limit_s: float = 20.0) -> object:
    got: object = None
    for _ in range(int(limit_s / 0.1)):
        got = await browser.evaluate(expression)
        if got == want:
            return got
        await asyncio.sleep(0.1)
    raise AssertionError(f"{expression} = {got!r}, not {want!r} after {limit_s} s")


async def _ready(d: Daemon) -> None:
    """Until every position but the whale's has a distance, the whale's is NaN, and some alert
    fires (the page then has all it shows)."""
    for _ in range(600):
        figs = d.latest
        if figs is not None and d.engine.firing():
            dist = {k.account: f for k, f in figs.items.items() if k.name == "liquidation_distance_ratio"}
            whale = dist.pop("whale", None)
            if len(dist) >= 3 and all(f.available for f in dist.values()) and whale and not whale.available:
                return
        await asyncio.sleep(0.1)
    raise AssertionError("the daemon never produced the figures the page shows")


def _check_bars(html: str) -> dict[str, Bar]:
    """Near, unknown and safe legs each in their own state, marked with the rules' levels."""
    drawn = bars(html)
    by = {b.row["data-account"]: b for b in drawn}
    levels = sorted((lv["severity"], lv["threshold"]) for lv in RULES[1]["levels"])
    near = min(
        (b for b in drawn if b.state not in (UNKNOWN, "not_liquidatable")),
        key=lambda b: (b.state != PAST, b.fill),
    )
    assert near.state in (PAST, "warning", "critical"), near
    if near.state == PAST:  # the crash took it: full red, in words
        assert (near.width, near.caption, near.marks) == (100.0, "PAST LIQUIDATION", []), near
    else:  # inside a level: short of that level's mark
        assert 0 < near.width < 100 * min(v for sev, v in levels if sev == near.state) / near.scale + 1e-6
    whale = by["whale"]
    assert (whale.state, whale.width, whale.marks) == (UNKNOWN, 100.0, []), whale
    assert whale.caption.startswith("unknown: missing_tier"), whale.caption
    calm = by["calm"]
    assert calm.state == CLEAR and calm.width > 100 * 0.5 / calm.scale, calm
    for bar in (calm, near) if near.state != PAST else (calm,):  # the rules' levels, where they are
        assert sorted((sev, v) for sev, v, _ in bar.marks) == levels
        assert all(abs(left - 100 * v / bar.scale) < 0.01 for _sev, v, left in bar.marks)
    order = [b.row["data-account"] for b in drawn]
    assert order.index("whale") < order.index("calm")  # unknown before known-safe
    return by


def _check_numbers(html: str, scraped: dict[tuple[str, frozenset[tuple[str, str]]], float]) -> int:
    """Every number cell equals the scrape and reads as its column formats it; returns how many."""
    checked = 0
    for section, row, cell, text in cells(html):
        figure = cell.get("data-figure")
        if not figure:
            continue
        col = next(c for c in SECTIONS[section] if c.title == cell["data-label"])
        labels = frozenset((k, row[f"data-{k}"]) for k in CATALOG[figure].labels)
        key = (f"perpmon_{figure}", labels)
        note = cell.get("title", "")
        if note == ABSENT:  # the row has no such figure: nor has /metrics
            assert key not in scraped and text == "—", (section, figure, dict(labels))
            continue
        assert key in scraped, (section, figure, dict(labels))
        value = scraped[key]
        assert _same(float(cell["data-v"]), value), (section, figure, dict(labels), cell["data-v"], value)
        shown = col.text_for(value, note, float(cell["data-tick"]) if "data-tick" in cell else None)
        assert text == shown, (section, figure, text, shown)
        checked += 1
    return checked


async def test_the_status_page_in_chromium_equals_metrics_at_phone_and_desktop_widths(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, env = sim_config(tmp_path, ACCOUNTS, holdings={"custody": 50.0}, rules=RULES)
    for acc in data["simulator"]["accounts"]:
        if acc["name"] == "whale":  # the venue allows 1x at this size
            acc["positions"][0]["leverage"] = 1.0
    d = Daemon(*parse_config(data, env))
    await d.start()
    base = f"http://127.0.0.1:{d.http.bound_port}"
    shots = Path(
        os.environ.get("PERPMON_SCREENSHOTS", Path(tempfile.gettempdir()) / "perpmon-status-screenshots")
    )
    try:
        await _ready(d)
        async with chromium(tmp_path) as browser:
            for name, (width, height, mobile, scale) in WIDTHS.items():
                await browser.viewport(width, height, mobile=mobile, scale=scale)
                await browser.open(f"{base}/status")
                await asyncio.sleep(2.5)  # one refresh by the page's own script
                assert await browser.evaluate("document.documentElement.scrollWidth") <= width, name
                rows = await browser.evaluate("document.querySelectorAll('#positions tbody tr').length")
                assert rows >= 2, rows  # the crash may liquidate degen; hedge and iso stay
                await browser.screenshot(tmp_path / f"status-{name}.png")
                w, h, colours = await asyncio.to_thread(_png, tmp_path / f"status-{name}.png")
                assert (w, colours > 16, h > height // 2) == (int(width * scale), True, True), (name, w, h)

            # the same tick everywhere: the loop ticks under swap_lock
            async with d.swap_lock:
                assert d.latest is not None and d.full is not None
                taken = d.latest.taken_at_ns  # a frame tick's, when one ran after the last full tick
                scraped = _scrape(await asyncio.to_thread(_get, f"{base}/metrics"))
                # the health timestamp is the last FULL evaluation's: a frame tick redoes only the
                # account figures, so it must not make a stalled full evaluation look current
                last_full = scraped[("perpmon_evaluation_last_timestamp_seconds", frozenset())]
                assert abs(last_full - d.full.taken_at_ns / 1e9) < 1e-6
                await _wait(
                    browser, "document.querySelector('[data-taken]').getAttribute('data-taken')", str(taken)
                )
                html = await browser.evaluate("document.getElementById('live').innerHTML")
                cli = await asyncio.to_thread(
                    subprocess.run,
                    [sys.executable, "-m", "monitor", "status", "--url", base],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    timeout=60,
                )
                # still under the lock, the loop cannot tick: past stale_after_s the page says so
                banner = "document.getElementById('banner').textContent"
                await _wait(browser, f"{banner}.slice(0, 16)", "The figures are ", limit_s=30.0)
                assert (await browser.evaluate(banner)).endswith("old: the evaluation loop has stalled.")
                await browser.screenshot(tmp_path / "status-desktop-stalled.png")
            checked = _check_numbers(html, scraped)
            _check_bars(html)
            assert checked >= 30, checked  # positions x 8, accounts x 5, the market, the book, the feeds
            first = next(
                c for sec, _, c, _ in cells(html) if c.get("data-figure") == "liquidation_distance_ratio"
            )
            text = cli.stdout
            assert cli.returncode == 0 and text.startswith("perpmon status · figures of "), cli.stderr
            distance = next(c for c in POSITION if c.title == "Distance")
            assert distance.show(float(first["data-v"])) in text  # the terminal says what the page says
            assert "░" in text and "│ marks LiquidationDistance: " in text  # the whale's bar, the marks

            # the daemon goes away: the page must say its numbers are frozen
            await d.http.stop()
            await _wait(browser, f"{banner}.slice(0, 27)", "The daemon does not answer ")
            await browser.screenshot(tmp_path / "status-desktop-daemon-gone.png")
    finally:
        await d.stop()
    await asyncio.to_thread(shots.mkdir, parents=True, exist_ok=True)
    for png in ("status-phone.png", "status-desktop.png"):
        await asyncio.to_thread(shutil.copy, tmp_path / png, shots / png)
    with capsys.disabled():
        print(f"\nstatus page screenshots: {shots}/status-phone.png, {shots}/status-desktop.png")
