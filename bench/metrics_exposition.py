"""/metrics at desk scale: monitor/exposition.py beside prometheus_client's generate_latest.

Run: `.venv/bin/python bench/metrics_exposition.py [--rounds N]`. Prints figures; no asserts.
Books are generated in the daemon's shape: every name of monitor/figures.py CATALOG with its own
labels (per venue and symbol, per position, per account, per asset, per stream, per scenario),
about 5 % of figures NaN with a reason, a few ±Inf, 2 % stale, notionals above 1e6 (which Go
formats as exponents). Sizes: 60 symbols × 130 positions (~10,000 series) and 600 × 1,000
(~84,000), the issue's targets being ≤ 50 ms and ≤ 250 ms a scrape. Measured in the same run on
the same Figures:
- generate_latest over today's PerpmonMetrics (what /metrics ran on the loop before);
- cold: a new FigureExposition, i.e. the first scrape after the book's shape changed;
- one position opened: the shape changes by a few keys, the other prefixes are reused;
- warm, every value moved: a new tick (new Figures, new FigureKey objects) after the previous one;
- warm, no value moved: a new tick with the same values (families are reused as bytes);
- the event loop during a real scrape over HTTP (curl in its own process): the worst lateness of a
  1 ms `asyncio.sleep` loop, the scrape's wall time, for the new handler and for generate_latest
  run inside the handler as before.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from functools import partial

from prometheus_client import CollectorRegistry, generate_latest

from monitor.exposition import FigureExposition
from monitor.figures import CATALOG
from monitor.http import HttpServer
from monitor.metrics import EvaluationStats, PerpmonMetrics
from monitor.records import Figure, FigureKey, Figures

VENUES = ("binance", "bybit")
SCENARIOS = ("crash_20", "rally_20", "vol_x3", "funding_spike")
STREAMS = ("mark", "book", "trade")
REASONS = ("stale_mark", "lagging: newest event 3.1s old (limit 15s)", "not_fitted_yet", "missing_tier")


def book_keys(symbols: int, positions: int, accounts: int) -> list[FigureKey]:
    """Every FigureKey of a generated book, in the order a tick adds them (by figure, then row)."""
    syms = [(VENUES[i % 2], f"C{i:03d}USDT", f"C{i:03d}") for i in range(symbols)]
    accts = [(VENUES[i % 2], f"desk-{i:02d}") for i in range(accounts)]
    pos = [
        (v, a, syms[(j * 7 + k) % symbols][1], ("BOTH", "LONG", "SHORT")[k % 3])
        for j, (v, a) in enumerate(accts)
        for k in range(positions // accounts)
    ]
    rows: dict[tuple[str, ...], list[dict[str, str]]] = {
        ("venue", "symbol"): [{"venue": v, "symbol": s} for v, s, _ in syms],
        ("venue", "account", "symbol", "side"): [
            {"venue": v, "account": a, "symbol": s, "side": d} for v, a, s, d in pos
        ],
        ("venue", "account"): [{"venue": v, "account": a} for v, a in accts],
        ("asset",): [{"asset": b} for _, _, b in syms[: symbols // 2]],  # half of them held as spot
        ("venue", "account", "scenario"): [
            {"venue": v, "account": a, "scenario": sc} for v, a in accts for sc in SCENARIOS
        ],
        ("asset", "venue", "symbol"): [{"asset": b, "venue": v, "symbol": s} for v, s, b in syms],
        ("venue", "asset"): [{"venue": v, "asset": b} for v, _, b in syms],
        ("venue", "stream"): [
            {"venue": v, "stream": f"{STREAMS[i % 3]}:{s}"} for i, (v, s, _) in enumerate(syms)
        ],
        (): [{}],
        ("method",): [{"method": m} for m in ("historical", "monte_carlo")],
        ("confidence",): [{"confidence": c} for c in ("0.95", "0.99")],
        ("method", "confidence"): [
            {"method": m, "confidence": c}
            for m in ("parametric", "historical", "monte_carlo")
            for c in ("0.95", "0.99")
        ],
    }
    return [FigureKey(name=name, **labels) for name, spec in CATALOG.items() for labels in rows[spec.labels]]


def tick(keys: list[FigureKey], seed: int) -> Figures:
    """One tick's Figures over `keys` (fresh FigureKey objects, as the evaluator makes them)."""
    rng = random.Random(seed)
    items = {}
    for k in keys:
        unit = CATALOG[k.name].unit
        u = rng.random()
        value, reason = (
            (math.nan, rng.choice(REASONS))
            if u < 0.05
            else (rng.choice((math.inf, -math.inf)), "")
            if u < 0.052
            else (rng.lognormvariate(8, 3) * rng.choice((1, -1)), "")
            if unit == "usd"
            else (rng.uniform(-2, 2), "")
        )
        key = FigureKey(**{f: getattr(k, f) for f in FigureKey.__struct_fields__})
        items[key] = Figure(value=value, unit=unit, ts_ns=seed, fresh=rng.random() > 0.02, reason=reason)
    return Figures(taken_at_ns=seed, items=items)


def timed(fn: Callable[[], object], rounds: int) -> tuple[float, float]:
    """Median and p99 (the worst, at these round counts) in ms."""
    ts = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        ts.append((time.perf_counter() - t0) * 1e3)
    ts.sort()
    return statistics.median(ts), ts[min(len(ts) - 1, math.ceil(0.99 * len(ts)) - 1)]


def registry(figs: Callable[[], Figures | None]) -> CollectorRegistry:
    reg = CollectorRegistry()
    reg.register(
        PerpmonMetrics(
            figures=figs,
            collectors=[],
            evaluation=EvaluationStats(),
            delivery=lambda: [],
            firing=lambda: [],
            started_ns=0,
            version="bench",
        )
    )
    return reg


def show(what: str, ms: tuple[float, float], digits: int = 1) -> None:
    print(f"  {what:28s} median {ms[0]:8.{digits}f} ms  p99 {ms[1]:8.{digits}f} ms")


def offline(keys: list[FigureKey], rounds: int) -> None:
    ticks = [tick(keys, seed) for seed in range(rounds + 1)]
    body = FigureExposition().render(ticks[0])
    series = sum(1 for line in body.splitlines() if not line.startswith(b"#"))
    print(f"  {len(keys):,} figures, {series:,} series, {len(body) / 1e6:.1f} MB")
    cur = ticks[0]
    ref = registry(lambda: cur)
    show("generate_latest (before)", timed(lambda: generate_latest(ref), 3))
    show("cold (new book shape)", timed(lambda: FigureExposition().render(cur), 3))

    expo = FigureExposition()
    expo.render(ticks[0])
    opened = FigureKey(name="position_notional_usd", venue="binance", account="desk-00", symbol="NEWUSDT")
    more = Figures(taken_at_ns=0, items={**ticks[0].items, opened: Figure(value=1.0, unit="usd", ts_ns=0)})
    flip = iter(range(10**9))
    show("one position opened/closed", timed(lambda: expo.render((more, ticks[0])[next(flip) % 2]), rounds))
    it = iter(ticks[1:] * 2)
    show("warm, every value moved", timed(lambda: expo.render(next(it)), rounds))
    same = iter([Figures(taken_at_ns=i, items=dict(ticks[0].items)) for i in range(rounds + 1)])
    expo.render(next(same))
    show("warm, no value moved", timed(lambda: expo.render(next(same)), rounds))
    last = ticks[0]
    expo.chunks(last)
    show("same tick again (memo)", timed(lambda: expo.chunks(last), rounds), 3)


async def worst_lag(action: Callable[[], Awaitable[object]]) -> tuple[float, float]:
    """(worst lateness of a 1 ms `asyncio.sleep` loop while `action` runs, its wall time), in ms."""
    lag = 0.0
    done = asyncio.Event()

    async def sampler() -> None:
        nonlocal lag
        while not done.is_set():
            t0 = time.perf_counter()
            await asyncio.sleep(0.001)
            lag = max(lag, time.perf_counter() - t0 - 0.001)

    task = asyncio.create_task(sampler())
    t0 = time.perf_counter()
    await action()
    wall = time.perf_counter() - t0
    done.set()
    await task
    return lag * 1e3, wall * 1e3


async def curl(url: str) -> None:
    proc = await asyncio.create_subprocess_exec("curl", "-sf", "-o", "/dev/null", url)
    if await proc.wait() != 0:
        raise RuntimeError(f"curl {url} failed")


async def loop_lag(keys: list[FigureKey], rounds: int) -> None:
    """Scrape a real HttpServer with curl while a 1 ms sleeper measures how late the loop wakes."""
    ticks = [tick(keys, seed) for seed in range(rounds + 1)]
    state = {"figs": ticks[0]}
    new = HttpServer(host="127.0.0.1", port=0, registry=registry(lambda: None), health=lambda: (True, {}),
                     figures=lambda: state["figs"])  # fmt: skip
    old = HttpServer(host="127.0.0.1", port=0, registry=registry(lambda: state["figs"]),
                     health=lambda: (True, {}))  # fmt: skip
    idle = [await worst_lag(lambda: asyncio.sleep(0.1)) for _ in range(rounds)]
    lag_line("idle loop (this box, no scrape)", idle)
    for label, server, n in (
        ("new: figures off the loop", new, rounds),
        ("before: generate_latest on the loop", old, 3),
    ):
        await server.start()
        url = f"http://127.0.0.1:{server.bound_port}/metrics"
        runs = []
        try:
            for i in range(n + 1):
                state["figs"] = ticks[i % len(ticks)]  # a new tick per scrape: warm, every value moved
                lag, wall = await worst_lag(partial(curl, url))
                if i:  # the first scrape builds the shape (cold); the rest are a daemon's steady state
                    runs.append((lag, wall))
        finally:
            await server.stop()
        lag_line(label, runs)


def lag_line(label: str, runs: list[tuple[float, float]]) -> None:
    lags, walls = [r[0] for r in runs], [r[1] for r in runs]
    print(f"  {label:36s} loop lag, worst per scrape: median {statistics.median(lags):6.1f} ms,"
          f" max {max(lags):6.1f} ms; wall median {statistics.median(walls):6.1f} ms")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    for symbols, positions, accounts in ((60, 130, 10), (600, 1_000, 50)):
        keys = book_keys(symbols, positions, accounts)
        print(f"{symbols} symbols × {positions} positions ({accounts} accounts)")
        offline(keys, args.rounds)
        asyncio.run(loop_lag(keys, max(5, args.rounds // 2)))


if __name__ == "__main__":
    main()
