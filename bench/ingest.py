"""Ingest throughput and latency: the native path vs ccxt.pro on the same frames, in the same run.

A child process serves a Binance-shaped WebSocket (`/public/stream` combined for perpmon's native
`WsFeed`, `/public/ws/<n>` raw for ccxt.pro, plus `exchangeInfo` for ccxt's `load_markets`) and, on
SUBSCRIBE, sends futures `bookTicker` frames for three symbols. This process runs one path at a
time into a real `StateStore`:

* native     — `WsFeed` (websockets + msgspec + per-stream liveness) → `StateStore.put`;
* ccxt.pro   — ccxt.pro's binanceusdm parses every frame (its `handle_message`), and each parsed
  ticker → `generic.convert.quote_records` → liveness → `StateStore.put`: the same work per frame;
* ccxt watch — the unified loop `CcxtProCollector` runs (`watch_bids_asks` → convert → store). ccxt
  coalesces: a watcher wakes once per batch, so most frames never reach the store (column
  "stored"); its frames/s is ccxt's parsing rate, not a store rate.

Throughput: N frames sent as fast as the server can; the client's elapsed time and process CPU
until the last frame is in the store. Latency: frames paced at `--latency-rate`, each carrying its
send time (wall ns) in the update id `u`; receive → store is measured inside the client for the
native path, send → store for both (same host, same clock). Prints figures and ratios; no asserts.

    .venv/bin/python bench/ingest.py                 # 100k frames, latency at 5,000 msg/s
    .venv/bin/python bench/ingest.py --frames 300000 --latency-rate 5000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing as mp
import statistics
import time
import tracemalloc
from functools import partial
from typing import Any

import ccxt.pro as ccxtpro
from websockets.asyncio.server import Request, Response, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Response as HttpResponse

from monitor.clock import LiveClock
from monitor.collectors.base import CollectorStats
from monitor.collectors.binance.wire import parse_combined_frame
from monitor.collectors.ccxt_urls import point_binance_at
from monitor.collectors.generic import convert as conv
from monitor.collectors.liveness import Liveness, progress
from monitor.collectors.pacing import Cooldown, Pacer
from monitor.collectors.wsfeed import WsFeed, WsPolicy
from monitor.records import MarkPrice, Quote, Record
from monitor.sim.binance.exchange_info import futures_exchange_info
from monitor.store.state import StateStore

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
UNIFIED = [f"{s[:-4]}/USDT:USDT" for s in SYMBOLS]


# ------------------------------------------------------------------ the server (child process)
def _frame(i: int, u: int, combined: bool) -> str:
    s = SYMBOLS[i % 3]
    price = 40_000.0 + (i % 1000) * 0.1
    data = (
        f'{{"e":"bookTicker","u":{u},"s":"{s}","b":"{price:.2f}","B":"1.250","a":"{price + 0.1:.2f}",'
        f'"A":"2.500","T":{u // 1_000_000},"E":{u // 1_000_000}}}'
    )
    return f'{{"stream":"{s.lower()}@bookTicker","data":{data}}}' if combined else data


async def _serve(port_out: Any, plan: Any) -> None:
    info = json.dumps(futures_exchange_info(int(time.time() * 1000))).encode()

    def http(conn: ServerConnection, request: Request) -> Response | None:
        if request.path.startswith("/fapi/v1/exchangeInfo"):
            return HttpResponse(200, "OK", Headers({"Content-Type": "application/json"}), info)
        return None

    async def handler(ws: ServerConnection) -> None:
        combined = "/stream" in (ws.request.path if ws.request else "")
        blasted = False
        async for msg in ws:
            req = json.loads(msg)
            await ws.send(json.dumps({"result": None, "id": req.get("id")}))
            if blasted:  # a client may SUBSCRIBE again; one run per connection
                continue
            blasted = True
            n, rate = plan.recv()
            last = 0
            start = time.perf_counter()
            for i in range(n):
                if rate:
                    await asyncio.sleep(max(0.0, (start + i / rate) - time.perf_counter()))
                last = max(last + 1, time.time_ns())
                await ws.send(_frame(i, last, combined))
            plan.send(last)

    async with serve(handler, "127.0.0.1", 0, process_request=http, compression=None, max_queue=None) as srv:
        port_out.send(next(iter(srv.sockets)).getsockname()[1])
        await asyncio.Future()


def _server_process(port_out: Any, plan: Any) -> None:
    asyncio.run(_serve(port_out, plan))


# ------------------------------------------------------------------ the two clients
class TimedStore(StateStore):
    """The store; with `keep`, it also records when each quote landed (wall ns) and its send stamp `u`.

    Throughput runs use the plain `put` (no bench code per record); progress is read from the
    store's own latest quotes.
    """

    def __init__(self, keep: bool = False) -> None:
        super().__init__(grid_step_s=60.0, history_points=64)
        self.lat: list[tuple[int, int, int]] = []  # (sent u, received, stored)
        if keep:
            self.put = self._timed_put  # type: ignore[method-assign]

    def _timed_put(self, record: Record) -> None:
        StateStore.put(self, record)
        if isinstance(record, Quote):
            self.lat.append((record.update_id, record.ts_recv_ns, time.time_ns()))

    @property
    def last_u(self) -> int:
        return max((q.update_id for q in self.snapshot(0).quotes.values()), default=0)

    @property
    def count(self) -> int:
        return sum(f.messages for f in self.snapshot(0).feeds.values())


async def native(url: str, store: TimedStore, plan: Any, n: int, rate: float) -> tuple[float, float]:
    clock = LiveClock()
    feed = WsFeed(
        name="bench.public.0",
        url=f"{url}/public/stream",
        subscriptions=[f"{s.lower()}@bookTicker" for s in SYMBOLS],
        limits={f"book:perp:{s}": 60.0 for s in SYMBOLS},
        parse=partial(parse_combined_frame, venue="bench", market="perp"),
        sink=store,
        clock=clock,
        stats=CollectorStats("bench"),
        policy=WsPolicy(),
        connect_pacer=Pacer(clock, 10.0, 10),
        cooldown=Cooldown(clock),
    )
    plan.send((n, rate))
    return await _timed(feed.run(), store, plan, lambda: store.last_u)


class EveryFrame(ccxtpro.binanceusdm):  # type: ignore[misc]
    """ccxt.pro's binanceusdm, storing the ticker ccxt parsed from *every* frame (no coalescing)."""

    sink: Any = None

    def handle_message(self, client: Any, message: Any) -> None:
        super().handle_message(client, message)
        if self.sink is not None and isinstance(message, dict) and message.get("e") == "bookTicker":
            market = self.markets_by_id[message["s"]][0]
            self.sink({market["symbol"]: self.bidsasks[market["symbol"]]})


async def ccxt_pro(
    url: str, store: TimedStore, plan: Any, n: int, rate: float, every_frame: bool = False
) -> tuple[float, float]:
    ex = (EveryFrame if every_frame else ccxtpro.binanceusdm)({"options": {"fetchCurrencies": False}})
    point_binance_at(ex, url.replace("ws://", "http://"), None, url, None)
    await ex.load_markets()
    names = dict(zip(UNIFIED, SYMBOLS, strict=True))
    live = Liveness({f"book:perp:{s}": 60.0 for s in SYMBOLS}, time.monotonic_ns())

    def put(tickers: dict[str, Any]) -> None:  # what CcxtProCollector does per update
        for q in conv.quote_records(tickers, time.time_ns(), names=names, venue="bench", market="perp"):
            key = progress(q)
            if key is None or live.observe(key[0], key[1], time.monotonic_ns()):
                store.put(q)

    async def loop() -> None:
        if every_frame:
            ex.sink = put
        while True:
            tickers = await ex.watch_bids_asks(UNIFIED)
            if not every_frame:
                put({**{u: ex.bidsasks[u] for u in UNIFIED if u in ex.bidsasks}, **tickers})

    def seen() -> int:  # the last update may wait in ccxt's cache until the next frame wakes a watcher
        cached = [int(t["info"]["u"]) for t in ex.bidsasks.values()]
        return max([store.last_u, *cached])

    plan.send((n, rate))
    try:
        return await _timed(loop(), store, plan, seen)
    finally:
        await ex.close()


async def _timed(job: Any, store: TimedStore, plan: Any, seen: Any) -> tuple[float, float]:
    """Run `job` until the server's last frame has been taken in: (wall s, CPU s) from the first frame."""
    task = asyncio.ensure_future(job)
    while store.count == 0:  # noqa: ASYNC110 - polling keeps the store free of bench hooks
        await asyncio.sleep(0.0005)
    t0, c0 = time.perf_counter(), time.process_time()
    last_u = None
    while last_u is None or seen() < last_u:
        await asyncio.sleep(0.02)  # the bench's own wake-ups stay out of the per-message CPU
        if last_u is None and plan.poll():
            last_u = plan.recv()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return wall, cpu


def _pct(xs: list[float], q: float) -> float:
    return statistics.quantiles(xs, n=1000)[int(q * 1000) - 1] if len(xs) > 10 else float("nan")


async def _paced(
    path: Any, url: str, plan: Any, rate: float, seconds: float
) -> tuple[float, list[float], list[float]]:
    """(CPU s per frame, send→store µs, recv→store µs) at a paced rate."""
    store = TimedStore(keep=True)
    n = int(rate * seconds)
    _, cpu = await path(url, store, plan, n, rate)
    send = [(s - u) / 1e3 for u, _, s in store.lat]
    recv = [(s - r) / 1e3 for _, r, s in store.lat]
    return cpu / n, send, recv


async def run(args: argparse.Namespace, url: str, plan: Any) -> None:
    res: dict[str, dict[str, Any]] = {}
    paths = (("native", native), ("ccxt.pro", partial(ccxt_pro, every_frame=True)), ("ccxt watch", ccxt_pro))
    for name, path in paths:
        store = TimedStore()
        wall, cpu = await path(url, store, plan, args.frames, 0.0)
        r = res[name] = {"rate": args.frames / wall, "cpu": cpu / args.frames, "stored": store.count}
        r["cpu_1k"], _, _ = await _paced(path, url, plan, 1_000.0, args.latency_seconds)
        _, r["send"], r["recv"] = await _paced(path, url, plan, args.latency_rate, args.latency_seconds)
    print(f"{'path':10} {'burst msg/s':>12} {'CPU µs/msg':>11} {'stored':>7} {'core @1k msg/s':>15}"
          f"   send→store p50 / p99 µs   recv→store p50 / p99 µs")  # fmt: skip
    for name, r in res.items():
        recv = (
            f"{_pct(r['recv'], 0.5):10.0f} / {_pct(r['recv'], 0.99):7.0f}"
            if name == "native"
            else f"{'n/a':>20}"
        )
        core_1k = r["cpu_1k"] * 1e3 * 100
        print(
            f"{name:10} {r['rate']:12,.0f} {r['cpu'] * 1e6:11.1f} {r['stored']:7} {core_1k:14.1f}%"
            f"   {_pct(r['send'], 0.5):10.0f} / {_pct(r['send'], 0.99):7.0f}      {recv}"
        )
    nat, pro, watch = res["native"], res["ccxt.pro"], res["ccxt watch"]
    print(f"native : ccxt watch loop — throughput {nat['rate'] / watch['rate']:.1f}x "
          f"(it stored {watch['stored']} of {args.frames:,} frames)")  # fmt: skip
    print(f"native : ccxt.pro (every frame stored) — throughput {nat['rate'] / pro['rate']:.1f}x, "
          f"CPU per msg (burst) {pro['cpu'] / nat['cpu']:.1f}x less, "
          f"CPU at 1k msg/s {pro['cpu_1k'] / nat['cpu_1k']:.1f}x less, "
          f"send→store p99 {_pct(pro['send'], 0.99) / _pct(nat['send'], 0.99):.1f}x lower")  # fmt: skip
    fast, ahead = nat["rate"] >= 20_000, nat["rate"] >= 3 * pro["rate"]
    print(f"target: native ≥ 20,000 msg/s ({'met' if fast else 'NOT met'}) and ≥ 3x ccxt.pro "
          f"({'met' if ahead else 'NOT met'})")  # fmt: skip


# ------------------------------------------------------------------ store memory
class AppendStore(StateStore):
    """Baseline: the same store, plus what a naive one keeps — every mark appended to a list."""

    def __init__(self, history_points: int) -> None:
        super().__init__(grid_step_s=1.0, history_points=history_points)
        self.series: dict[tuple[str, str], list[tuple[int, float]]] = {}

    def put(self, record: Record) -> None:
        super().put(record)
        if isinstance(record, MarkPrice):
            self.series.setdefault((record.venue, record.symbol), []).append(
                (record.ts_event_ns, record.mark)
            )


def _marks(start: int, n: int) -> Any:
    """n mark frames for three symbols, one second apart per symbol: every frame opens a new bar."""
    for i in range(start, start + n):
        ts = (1_700_000_000 + i // 3) * 1_000_000_000
        yield MarkPrice(
            venue="bench", symbol=SYMBOLS[i % 3], ts_event_ns=ts, ts_recv_ns=ts,
            mark=40_000.0 + (i % 997), index=40_000.0, funding_rate=1e-4,
        )  # fmt: skip


def store_memory(frames: int, history_points: int) -> None:
    """Traced bytes held by the ring-buffer store vs the append-only baseline after 10 % and 100 %."""
    print(f"store memory, {frames:,} mark frames (3 symbols, 1 s bars, history_points={history_points}):")
    rows = []
    for name, make in (
        ("ring", lambda: StateStore(1.0, history_points)),
        ("append", lambda: AppendStore(history_points)),
    ):
        gc.collect()
        tracemalloc.start()
        base = tracemalloc.get_traced_memory()[0]
        store, sizes, done = make(), [], 0
        for part in (frames // 10, frames - frames // 10):
            for rec in _marks(done, part):
                store.put(rec)
            done += part
            store.snapshot(0)  # what the evaluator reads each tick
            sizes.append((tracemalloc.get_traced_memory()[0] - base) / 2**20)
        tracemalloc.stop()
        rows.append((name, *sizes))
        del store
        print(f"  {name:7} after {frames // 10:>9,} frames {sizes[0]:8.2f} MiB   "
              f"after {frames:>9,} {sizes[1]:8.2f} MiB   growth {sizes[1] - sizes[0]:+8.2f} MiB")  # fmt: skip
    r2, a2 = rows[0][2], rows[1][2]
    print(f"  ring buffers hold {3 * history_points * 16 / 2**20:.2f} MiB of series by design; "
          f"append-only baseline / ring at {frames:,} frames: {a2 / r2:.1f}x")  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--frames", type=int, default=100_000)
    p.add_argument("--latency-rate", type=float, default=5_000.0, help="paced frames per second")
    p.add_argument("--latency-seconds", type=float, default=3.0)
    p.add_argument("--memory-frames", type=int, default=600_000, help="mark frames for the store-memory run")
    p.add_argument("--history-points", type=int, default=4096)
    args = p.parse_args()
    ctx = mp.get_context("spawn")
    port_in, port_out = ctx.Pipe(duplex=False)
    plan_parent, plan_child = ctx.Pipe()
    server = ctx.Process(target=_server_process, args=(port_out, plan_child), daemon=True)
    server.start()
    try:
        url = f"ws://127.0.0.1:{port_in.recv()}"
        print(
            f"{args.frames:,} bookTicker frames per path in a burst; CPU paced at 1,000 msg/s; "
            f"latency paced at {args.latency_rate:,.0f} msg/s ({args.latency_seconds:g} s each)"
        )
        asyncio.run(run(args, url, plan_parent))
    finally:
        server.terminate()
    store_memory(args.memory_frames, args.history_points)


if __name__ == "__main__":
    main()
