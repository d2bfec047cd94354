"""Golden /metrics: the figure exposition prints what generate_latest printed, byte for byte.

The reference is prometheus_client's `generate_latest` over `PerpmonMetrics` with the figures (the
/metrics of before), on the same Figures; the new body is `FigureExposition` followed by the same
registry without them, which is what monitor/http.py serves. The books carry NaN with and
without reasons, ±Inf, values Go writes as exponents, empty labels (a family whose rows differ in
labels), label values that need escaping, and a sequence of ticks that moves values, freshness,
availability and the book's shape, so every cache is crossed both ways.
"""

from __future__ import annotations

import asyncio
import math
import shutil
import struct
import subprocess
import threading
from collections.abc import Callable, Iterator

import aiohttp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.utils import floatToGoString

from monitor.collectors.base import CollectorStats
from monitor.evaluation.sink import FigureSink
from monitor.evaluator import Evaluator
from monitor.exposition import FigureExposition, go_floats
from monitor.figure_columns import FigureItems, ShapeCache
from monitor.figures import CATALOG
from monitor.http import HttpServer
from monitor.metrics import DeliveryStats, EvaluationStats, PerpmonMetrics
from monitor.records import Figure, FigureKey, Figures
from tests.unit.test_evaluator import CFG, T0, faq_store

S = 1_000_000_000
NAN, INF = math.nan, math.inf
ODD = ["back\\slash", 'say "hi"', "two\nlines", "100%", "%s%d", "ünï €", "a,b={c}", " "]


def registry(figs: Callable[[], Figures | None]) -> CollectorRegistry:
    stats = CollectorStats("binance")
    stats.messages["binance.markets"] = 42
    stats.connected["binance.markets"] = True
    reg = CollectorRegistry()
    reg.register(
        PerpmonMetrics(
            figures=figs,
            collectors=[stats],
            evaluation=EvaluationStats(count=5, last_duration_s=0.001),
            delivery=lambda: [DeliveryStats(receiver="desk", pending=2, sent=7, failed={"http_500": 1})],
            firing=lambda: [({"alertname": "MarginRatio", "severity": "warning"}, 0.6)],
            started_ns=T0,
            version="test",
        )
    )
    return reg


def before(figs: Figures) -> bytes:
    """/metrics as it was: generate_latest with the figures inside PerpmonMetrics."""
    return generate_latest(registry(lambda: figs))


def after(expo: FigureExposition, figs: Figures) -> bytes:
    """/metrics as monitor/http.py serves it now: the exposition, then the registry without figures."""
    return expo.render(figs) + generate_latest(registry(lambda: None))


def fig(value: float, *, fresh: bool = True, reason: str = "") -> Figure:
    return Figure(value=value, unit="usd", ts_ns=T0, fresh=fresh, reason=reason)


def evaluated() -> dict[FigureKey, Figure]:
    return dict(Evaluator(CFG, started_ns=T0).evaluate(faq_store().snapshot(T0 + S), T0 + S).items)


def edge_cases() -> dict[FigureKey, Figure]:
    """Figures no evaluator run gives all at once: every float form, odd label values, mixed labels."""
    values = [NAN, INF, -INF, 0.0, -0.0, 1e-4, 9.99e-5, 1e-7, 5e-324, 999_999.9999999999, 1e6,
              1_234_567.891, -1_234_567.891, 9_999_999_999_999_998.0, 1e16, 1.7976931348623157e308,
              0.1 + 0.2, 1 / 3]  # fmt: skip
    items = {}
    for i, v in enumerate(values):
        key = FigureKey(name="position_notional_usd", venue="binance", account="edge", symbol=f"S{i:02d}")
        items[key] = fig(v, fresh=i % 3 != 0, reason="stale: binance/mark:S, other" if i % 4 == 0 else "")
    for i, odd in enumerate(ODD):
        items[FigureKey(name="margin_ratio", venue=odd, account=f"a{i}")] = fig(0.5 + i)
        items[FigureKey(name="margin_ratio", venue="x", account=odd)] = fig(NAN, reason=odd)
    # one family, three label sets: the union is every row's labels, missing ones print as ""
    items[FigureKey(name="basis_bps", venue="binance", symbol="BTCUSDT")] = fig(1.5)
    items[FigureKey(name="basis_bps", venue="bybit")] = fig(NAN, reason="no_spot_price")
    items[FigureKey(name="basis_bps", symbol="ETHUSDT", asset="ETH")] = fig(-2.5)
    items[FigureKey(name="not_in_the_catalogue_usd")] = fig(7.0)  # HELP falls back to the name
    return items


def test_exposition_is_byte_for_byte_what_generate_latest_printed() -> None:
    """Evaluator figures plus every edge case: the two bodies are identical."""
    figs = Figures(taken_at_ns=T0, items={**evaluated(), **edge_cases()})
    text = after(FigureExposition(), figs)
    assert text == before(figs)
    assert b'venue="back\\\\slash"' in text and b'venue="say \\"hi\\""' in text and b'two\\nlines"' in text
    assert b" NaN\n" in text and b" +Inf\n" in text and b" -Inf\n" in text and b" 1.234567891e+06\n" in text
    assert b'perpmon_basis_bps{asset="",symbol="BTCUSDT",venue="binance"} 1.5\n' in text


def ticks() -> Iterator[tuple[str, Figures]]:
    """A run of ticks crossing every cache: values, freshness, availability, shape, order."""
    base = {**evaluated(), **edge_cases()}
    keys = list(base)
    yield "first", Figures(taken_at_ns=1, items=base)
    yield "same values, new objects", Figures(taken_at_ns=2, items=dict(base))
    moved = {k: fig(f.value * 1.01 + 1e6 if f.available else f.value, fresh=f.fresh, reason=f.reason)
             for k, f in base.items()}  # fmt: skip
    yield "every value moved", Figures(taken_at_ns=3, items=moved)
    yield (
        "freshness flipped",
        Figures(
            taken_at_ns=4,
            items={k: fig(f.value, fresh=not f.fresh, reason=f.reason) for k, f in moved.items()},
        ),
    )
    healed = {k: fig(1.0) if not f.available else f for k, f in moved.items()}
    yield "every figure available", Figures(taken_at_ns=5, items=healed)
    broken = dict(healed)
    broken[keys[0]] = fig(NAN, reason="lagging: newest event 9s old")  # the unavailable union shrinks
    yield "one figure unavailable", Figures(taken_at_ns=6, items=broken)
    grown = {
        **broken,
        FigureKey(name="position_notional_usd", venue="bybit", account="new", symbol="X"): fig(2.0),
    }
    yield "a position opened", Figures(taken_at_ns=7, items=grown)
    wider = {**grown, FigureKey(name="position_notional_usd", venue="bybit", account="new", symbol="X",
                                side="LONG", scenario="crash"): fig(3.0)}  # fmt: skip
    yield "a family gained a label", Figures(taken_at_ns=8, items=wider)
    yield "the same set in another order", Figures(taken_at_ns=9, items=dict(reversed(list(wider.items()))))
    yield (
        "positions closed",
        Figures(taken_at_ns=10, items={k: f for k, f in base.items() if k.account != "edge"}),
    )
    yield "back to the first book", Figures(taken_at_ns=11, items=dict(base))
    yield "empty book", Figures(taken_at_ns=12, items={})
    yield "first book again", Figures(taken_at_ns=13, items=dict(base))


def test_every_tick_of_a_run_matches_generate_latest() -> None:
    """One exposition over many ticks: what it reuses from the last tick never shows a stale byte."""
    expo = FigureExposition()
    for what, figs in ticks():
        assert after(expo, figs) == before(figs), what


def test_columns_as_the_evaluator_makes_them_print_the_same_bytes() -> None:
    """Figures straight from the evaluator (columns, keys reused tick to tick), rendered before any
    dict form of them exists, print what generate_latest prints from that dict form."""
    ev, store, expo = Evaluator(CFG, started_ns=T0), faq_store(), FigureExposition()
    for t in range(1, 4):
        figs = ev.evaluate(store.snapshot(T0 + t * S), T0 + t * S)
        assert isinstance(figs.items, FigureItems) and figs.items._dict is None  # no dict form built yet
        assert after(expo, figs) == before(figs), t


def test_a_run_through_the_sink_matches_generate_latest() -> None:
    """The ticks above made as the daemon makes them (a FigureSink with a ShapeCache): shapes kept,
    reordered, grown and shrunk across ticks, a repeated key, and a column with no rows."""
    shapes, expo = ShapeCache(), FigureExposition()
    named = {k.name for _, figs in ticks() for k in figs.items}
    empty = next(n for n in sorted(CATALOG) if n not in named)
    for what, figs in ticks():
        sink = FigureSink(figs.taken_at_ns, shapes)
        for key, f in figs.items.items():
            if key.name in CATALOG:
                sink.add(key.name, f.value, key.labels(), fresh=f.fresh, reason=f.reason)
        sink.add_many(empty, [], [], [], [])  # no rows: no family, as no figure of the name
        sink.add("margin_ratio", 9.5, venue="x", account="a1")  # a repeat: keeps its place, last value wins
        made = sink.figures()
        assert after(expo, made) == before(made), what
        assert f"perpmon_{empty} ".encode() not in after(expo, made)


def test_the_same_tick_is_rendered_once() -> None:
    """A second scrape of one tick gets the same pieces back, not a second render."""
    expo = FigureExposition()
    figs = Figures(taken_at_ns=T0, items=evaluated())
    first = expo.chunks(figs)
    assert expo.chunks(figs) is first
    assert expo.chunks(Figures(taken_at_ns=T0, items=dict(figs.items))) is not first


BOUNDARIES = [1e-4, 1e6, 1e16, -1e16, 5e-324, 1.7976931348623157e308, 0.0, -0.0, NAN, INF, -INF]


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from(BOUNDARIES), max_size=50))
@settings(max_examples=300, deadline=None)
def test_go_floats_is_float_to_go_string(values: list[float]) -> None:
    nudged = [math.nextafter(v, d) for v in values for d in (-INF, INF)] + values
    assert go_floats(np.array(nudged, np.float64)) == [floatToGoString(v) for v in nudged]


def test_go_floats_on_random_bit_patterns() -> None:
    """Half a million doubles from random bits and from the ranges figures live in."""
    rng = np.random.default_rng(13)
    raw = rng.integers(0, 2**64, 200_000, dtype=np.uint64).view(np.float64)
    money = np.concatenate([rng.lognormal(8, 4, 150_000) * rng.choice([-1, 1], 150_000),
                            np.round(rng.uniform(-1e7, 1e7, 150_000), 2)])  # fmt: skip
    values = np.concatenate([raw, money])
    assert go_floats(values) == [floatToGoString(v) for v in values.tolist()]
    assert struct.pack("<d", values[0]) == values[:1].tobytes()  # the array really held those bits


def test_promtool_accepts_the_exposition() -> None:
    """`promtool check metrics` finds nothing to fix in the new body, odd label values included."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is missing: run `make test`, which installs Debian's prometheus package")
    items = {k: f for k, f in {**evaluated(), **edge_cases()}.items() if k.name != "not_in_the_catalogue_usd"}
    text = after(FigureExposition(), Figures(taken_at_ns=T0, items=items)).decode()
    proc = subprocess.run(
        [promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30
    )
    assert proc.returncode == 0 and proc.stdout.strip() == "" and proc.stderr.strip() == "", (
        proc.stdout + proc.stderr
    )


class Gated(FigureExposition):
    """Holds every render until the test opens the gate, and notes the thread it ran on."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.threads: list[int] = []

    def chunks(self, figs: Figures) -> tuple[bytes, ...]:
        self.threads.append(threading.get_ident())
        self.entered.set()
        assert self.gate.wait(10), "the test never opened the gate"
        return super().chunks(figs)


async def test_a_scrape_renders_off_the_loop_and_serves_the_old_bytes() -> None:
    """While the figures render, the loop still answers /healthz; then /metrics is the old body."""
    figs = Figures(taken_at_ns=T0, items={**evaluated(), **edge_cases()})
    server = HttpServer(host="127.0.0.1", port=0, registry=registry(lambda: None), health=lambda: (True, {}),
                        figures=lambda: figs)  # fmt: skip
    gated = server._exposition = Gated()
    await server.start()
    base = f"http://127.0.0.1:{server.bound_port}"
    try:
        async with aiohttp.ClientSession() as http:

            async def scrape() -> tuple[bytes, str]:
                async with http.get(f"{base}/metrics") as r:
                    return await r.read(), r.headers["Content-Type"]

            pending = asyncio.create_task(scrape())
            assert await asyncio.to_thread(gated.entered.wait, 10), "the scrape never started rendering"
            async with http.get(f"{base}/healthz") as r:
                assert r.status == 200, "the loop was free while the figures rendered"
            assert not pending.done()
            gated.gate.set()
            body, content_type = await pending
            again, _ = await scrape()
    finally:
        await server.stop()
    assert body == before(figs) == again
    assert content_type == CONTENT_TYPE_LATEST
    assert gated.threads[0] != threading.get_ident()
