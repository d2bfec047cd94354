"""The status page, its JSON and `perpmon status` write each price at its symbol's tick on its venue."""

from __future__ import annotations

import asyncio
import urllib.request

import msgspec
from prometheus_client import CollectorRegistry

from monitor.http import HttpServer
from monitor.status.build import build_status
from monitor.status.html import render_body
from monitor.status.model import StatusPage
from monitor.status.routes import StatusRoutes
from monitor.status.text import render_text
from tests.support.status_dom import cells
from tests.unit.status.desk import T0, Book

# BTCUSDT above 100,000: six significant digits would drop its tick's tenths
TICKS = {("binance", "BTCUSDT"): 0.1, ("bybit", "XRPUSDT"): 0.0001}


def _book() -> Book:
    b = Book()
    b.position("binance", "degen", "BTCUSDT", qty=2.0, mark=104_251.37, lp=99_122.57, distance=0.0492)
    b.position("bybit", "alt", "XRPUSDT", qty=1_000.0, mark=0.5234, lp=0.4, distance=0.236)
    b.position("bybit", "eth", "ETHUSDT", qty=1.0, mark=2_512.34, lp=2_000.0, distance=0.2)  # no tick known
    b.market("binance", "BTCUSDT", mark=104_251.37, funding=0.0001)
    b.market("bybit", "XRPUSDT", mark=0.5234, funding=0.0001)
    return b


def _prices(html: str) -> dict[tuple[str, str, str], tuple[str, str]]:
    """(section row's venue, symbol, figure) → (shown text, data-tick) of every price cell."""
    out = {}
    for _, row, cell, text in cells(html):
        if cell.get("data-figure") in ("mark_price_usd", "liquidation_price_usd"):
            key = (row["data-venue"], row["data-symbol"], cell["data-figure"])
            out[key] = (text, cell.get("data-tick", ""))
    return out


def test_page_cells_are_written_at_the_tick_and_say_which() -> None:
    """Each price cell has its tick's decimals and names the tick; a symbol without one keeps 6 digits."""
    prices = _prices(render_body(build_status(_book().figures(), [], [], T0, ticks=TICKS)))
    assert prices[("binance", "BTCUSDT", "mark_price_usd")] == ("104,251.4", "0.1")
    assert prices[("binance", "BTCUSDT", "liquidation_price_usd")] == ("99,122.6", "0.1")
    assert prices[("bybit", "XRPUSDT", "mark_price_usd")] == ("0.5234", "0.0001")
    assert prices[("bybit", "XRPUSDT", "liquidation_price_usd")] == ("0.4000", "0.0001")
    assert prices[("bybit", "ETHUSDT", "mark_price_usd")] == ("2,512.34", "")


def test_without_ticks_the_page_is_as_before() -> None:
    """No tick known anywhere: six significant digits, no data-tick, nothing marked wrong."""
    prices = _prices(render_body(build_status(_book().figures(), [], [], T0)))
    assert prices[("binance", "BTCUSDT", "mark_price_usd")] == ("104,251", "")
    assert prices[("bybit", "XRPUSDT", "mark_price_usd")] == ("0.523400", "")


def test_the_text_and_the_json_carry_the_tick() -> None:
    """`perpmon status` renders from /status.json: the tick travels in it, so the terminal says the same."""
    page = build_status(_book().figures(), [], [], T0, ticks=TICKS)
    back = msgspec.json.decode(msgspec.json.encode(page), type=StatusPage)
    assert back == page and b"null" not in msgspec.json.encode(page)
    text = render_text(back)
    assert "104,251.4" in text and "99,122.6" in text and "0.5234" in text and "2,512.34" in text


async def test_the_served_page_follows_the_stores_ticks() -> None:
    """The routes read the ticks each time: a tick that arrives after the first view shows on the next."""
    ticks: dict[tuple[str, str], float] = {}
    figures = _book().figures()
    routes = StatusRoutes(
        figures=lambda: figures,
        firing=lambda: [],
        recent=lambda: [],
        now_ns=lambda: T0,
        stale_after_s=lambda: 10.0,
        ticks=lambda: dict(ticks),  # a new mapping per change, as the store's ticks()
    )
    server = HttpServer(
        host="127.0.0.1", port=0, registry=CollectorRegistry(), health=lambda: (True, {}), status=routes
    )
    await server.start()
    try:
        url = f"http://127.0.0.1:{server.bound_port}/status/body"

        def body() -> str:
            with urllib.request.urlopen(url, timeout=5) as r:
                return str(r.read().decode())

        before = _prices(await asyncio.to_thread(body))
        ticks.update(TICKS)
        after = _prices(await asyncio.to_thread(body))
    finally:
        await server.stop()
    assert before[("binance", "BTCUSDT", "mark_price_usd")] == ("104,251", "")
    assert after[("binance", "BTCUSDT", "mark_price_usd")] == ("104,251.4", "0.1")
