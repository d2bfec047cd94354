"""How many market frames per second the simulator pushes to N WebSocket clients.

The simulator runs in this process; the clients run in a child process (so their decoding does not
steal the server's CPU) and count the text frames they receive. Each client subscribes to every
symbol's bookTicker, markPrice@1s and miniTicker plus `!bookTicker` (12 frames per tick). Prints
figures only; there are no assertions.

    .venv/bin/python bench/sim_throughput.py --clients 1 10 100 --seconds 5 --tick 0.002
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import time
from multiprocessing.connection import Connection

import aiohttp

from monitor.clock import LiveClock
from monitor.sim.server import Simulator
from monitor.sim.testing import TEST_KEYS, fast_config

STREAMS = [
    f"{s}@{c}"
    for s in ("btcusdt", "ethusdt", "solusdt")
    for c in ("bookTicker", "markPrice@1s", "miniTicker")
]
STREAMS.append("!bookTicker")


async def _clients(url: str, n: int, seconds: float, out: Connection) -> tuple[int, float]:
    counts = [0] * n
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sockets = [await http.ws_connect(url, max_msg_size=0) for _ in range(n)]
        for ws in sockets:
            await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": STREAMS, "id": 1}))

        async def read(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    counts[i] += 1

        tasks = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets)]
        await asyncio.sleep(0.5)  # warm-up: subscriptions acknowledged, queues flowing
        out.send("start")
        start_count, start = sum(counts), time.perf_counter()
        await asyncio.sleep(seconds)
        got, elapsed = sum(counts) - start_count, time.perf_counter() - start
        for t in tasks:
            t.cancel()
        for ws in sockets:
            await ws.close()
    return got, elapsed


def _client_process(url: str, n: int, seconds: float, out: Connection) -> None:
    out.send(asyncio.run(_clients(url, n, seconds, out)))


async def _run(n: int, seconds: float, tick: float) -> None:
    sim = Simulator(fast_config(tick_s=tick, speed=600.0), TEST_KEYS, LiveClock())
    await sim.start()
    try:
        parent, child = mp.Pipe()
        proc = mp.get_context("spawn").Process(
            target=_client_process, args=(f"{sim.futures_ws_url}/ws", n, seconds, child)
        )
        proc.start()
        await asyncio.to_thread(parent.recv)  # "start": the clients begin counting
        ticks0, cpu0, wall0 = sim.ticks, time.process_time(), time.perf_counter()
        got, elapsed = await asyncio.to_thread(parent.recv)
        ticks, cpu, wall = sim.ticks - ticks0, time.process_time() - cpu0, time.perf_counter() - wall0
        proc.join()
        print(
            f"clients={n:4d}  received {got / elapsed:10,.0f} frames/s  ({got / elapsed / n:8,.0f}/client)"
            f"  ticks/s {ticks / wall:6.0f} (target {1 / tick:.0f})  server CPU {100 * cpu / wall:5.1f} %"
        )
    finally:
        await sim.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 10, 100])
    ap.add_argument("--seconds", type=float, default=5.0)
    ap.add_argument("--tick", type=float, default=0.002, help="simulator tick_s")
    args = ap.parse_args()
    print(f"{len(STREAMS)} streams per client ({len(STREAMS) + 2} frames per tick), tick_s={args.tick}")
    for n in args.clients:
        asyncio.run(_run(n, args.seconds, args.tick))


if __name__ == "__main__":
    main()
