"""Alert latency on loopback: frame received → alert in the outbox, and → at the receiver; vs baselines.

Each sample is one Binance `markPriceUpdate` frame whose price crosses the rule's threshold
(alternately up and down, so every frame fires or resolves an alert). It is parsed, stored,
evaluated, stepped through the rule engine and submitted to the dispatcher (routing plus a durable
enqueue: SQLite WAL, `synchronous=FULL`); the dispatcher's worker then leases the row and POSTs it
to a local aiohttp webhook. Timestamps (`perf_counter_ns`): frame receipt, `submit` returned (row
committed), and the receiver's handler running. Samples are sequential: the next frame waits for
the previous row's ack, so no fsync of one sample queues behind another's.

Baselines from the same run, the floor each leg stands on on this machine:
- one SQLite insert + commit with `synchronous=FULL` in WAL mode (the outbox's fsync),
- one bare aiohttp POST round trip to the same receiver (the delivery itself).

The daemon ticks every `evaluation.interval_s`, so in production a frame also waits up to one
interval for its tick; this bench ticks on each frame to measure the work, not the schedule.
No asserts: it prints figures for the closing note.
"""

from __future__ import annotations

import asyncio
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from aiohttp import web

from monitor.clock import LiveClock
from monitor.collectors.binance.wire import parse_combined_frame
from monitor.config import parse_config
from monitor.evaluator import Evaluator
from monitor.log import configure_logging
from monitor.notify import Dispatcher, Outbox, build_notifiers
from monitor.rules import RuleEngine
from monitor.store.state import StateStore

SAMPLES = 400
WARMUP = 20


def frame(price: float, event_ms: int) -> bytes:
    data = (
        f'{{"e":"markPriceUpdate","E":{event_ms},"s":"BTCUSDT","p":"{price:.2f}","i":"{price:.2f}",'
        f'"P":"{price:.2f}","r":"0.00010000","T":{event_ms + 3_600_000}}}'
    )
    return f'{{"stream":"btcusdt@markPrice@1s","data":{data}}}'.encode()


def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, round(q * (len(s) - 1)))]


def line(label: str, xs_ns: list[int]) -> str:
    ms = [x / 1e6 for x in xs_ns]
    return f"  {label:<62} p50 {statistics.median(ms):7.3f}  p99 {pct(ms, 0.99):7.3f}  max {max(ms):7.3f} ms"


def sqlite_floor(path: Path, n: int) -> list[int]:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, payload BLOB)")
    out = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        db.execute("BEGIN IMMEDIATE")
        db.execute("INSERT INTO t (payload) VALUES (?)", (b"x" * 600,))
        db.execute("COMMIT")
        out.append(time.perf_counter_ns() - t0)
    db.close()
    return out


async def main() -> None:
    configure_logging("warning", "console", [])  # the debug line per notification would be the bench
    arrived: list[int] = []
    got = asyncio.Event()

    async def handle(request: web.Request) -> web.Response:
        await request.read()
        arrived.append(time.perf_counter_ns())
        got.set()
        return web.Response(status=200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"  # type: ignore[union-attr]

    cfg, secrets = parse_config(
        {
            "venues": [{"name": "binance", "symbols": ["BTCUSDT"]}],
            "rules": [
                {
                    "name": "MarkAbove",
                    "figure": "mark_price_usd",
                    "op": ">",
                    "levels": [{"severity": "warning", "threshold": 30_000.0}],
                }
            ],
            "receivers": [{"name": "desk", "type": "webhook", "url_env": "HOOK", "timeout_s": 5.0}],
        },
        {"HOOK": url},
    )
    clock = LiveClock()
    with tempfile.TemporaryDirectory() as tmp:
        store = StateStore(history_points=256)
        evaluator = Evaluator(cfg, started_ns=clock.now_ns())
        engine = RuleEngine(cfg.rules)
        outbox = Outbox(Path(tmp) / "outbox.sqlite3")
        notifiers = build_notifiers(cfg.receivers, secrets.receiver_urls, clock=clock)
        d = Dispatcher(cfg.receivers, notifiers, outbox, clock)
        worker = asyncio.create_task(d.run())
        to_event: list[int] = []
        to_outbox: list[int] = []
        to_receiver: list[int] = []
        for i in range(WARMUP + SAMPLES):
            got.clear()
            raw = frame(30_100.0 if i % 2 == 0 else 29_900.0, clock.now_ns() // 1_000_000)
            t0 = time.perf_counter_ns()
            for rec in parse_combined_frame(raw, clock.now_ns(), "binance", "perp"):
                store.put(rec)
            now = clock.now_ns()
            events = engine.step(evaluator.evaluate(store.snapshot(now), now), now)
            te = time.perf_counter_ns()
            await d.submit(events, now, firing=engine.announced)
            t1 = time.perf_counter_ns()
            await asyncio.wait_for(got.wait(), 5)
            await d.flush(5)  # let the worker's ack (its own fsync) finish before the next frame
            if i >= WARMUP:
                assert len(events) == 1, events
                to_event.append(te - t0)
                to_outbox.append(t1 - t0)
                to_receiver.append(arrived[-1] - t0)
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
        await d.close()
        outbox.close()

        posts: list[int] = []
        async with aiohttp.ClientSession() as s:
            for i in range(WARMUP + SAMPLES):
                t0 = time.perf_counter_ns()
                async with s.post(url, data=b'{"status":"firing"}' * 30) as r:
                    await r.read()
                if i >= WARMUP:
                    posts.append(time.perf_counter_ns() - t0)
        fsync = await asyncio.to_thread(sqlite_floor, Path(tmp) / "floor.sqlite3", SAMPLES)
    await runner.cleanup()

    print(f"alert latency on loopback, {SAMPLES} alerts (each frame fires or resolves one):")
    print(line("frame → alert event (parse, store, snapshot, evaluate, rules)", to_event))
    print(line("frame → alert in outbox (+ route, enqueue in a thread, fsync)", to_outbox))
    print(line("  baseline: SQLite insert+commit, WAL, synchronous=FULL", fsync))
    print(line("frame → receiver (+ worker lease, POST, 200 handler)", to_receiver))
    print(line("  baseline: bare aiohttp POST round trip", posts))
    over = statistics.median(to_receiver) - statistics.median(fsync) - statistics.median(posts)
    print(f"  pipeline overhead beyond the two floors (p50): {over / 1e6:.3f} ms")


if __name__ == "__main__":
    asyncio.run(main())
