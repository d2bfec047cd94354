"""What the simulated Bybit costs the simulator, and how many ticker frames per second it pushes.

Part 1, tick cost (in process, manual clock, no sockets): the mean wall time of `Simulator.tick()`
and the share of it spent in the Bybit venue (`sim.bybit.tick`), with and without Bybit accounts —
the Binance-only share in the same run is the baseline. Part 2, fan-out: N WebSocket clients in a
child process (so their decoding does not steal the server's CPU) subscribe to every linear
`tickers.*` topic and count text frames (one snapshot, then a delta per changed tick). Prints
figures only; there are no assertions.

    .venv/bin/python bench/sim_bybit_throughput.py --clients 1 10 100 --seconds 5 --tick 0.002
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import time
from multiprocessing.connection import Connection

import aiohttp

from monitor.clock import LiveClock, ManualClock
from monitor.config import SimulatorConfig
from monitor.sim.server import Simulator
from monitor.sim.testing import BYBIT_TEST_KEYS, TEST_KEYS, bybit_config, fast_config

TOPICS = ["tickers.BTCUSDT", "tickers.ETHUSDT", "tickers.SOLUSDT"]


def tick_cost(cfg: SimulatorConfig, ticks: int) -> tuple[float, float]:
    """(µs per tick, µs of it in the Bybit venue) over `ticks` one-second ticks of a manual clock."""
    clock = ManualClock()
    sim = Simulator(cfg, TEST_KEYS | BYBIT_TEST_KEYS, clock)
    inner = sim.bybit.tick
    spent = [0.0]

    def timed(samples: list[dict[str, float]]) -> None:
        t0 = time.perf_counter()
        inner(samples)
        spent[0] += time.perf_counter() - t0

    sim.bybit.tick = timed  # type: ignore[method-assign]
    t0 = time.perf_counter()
    for _ in range(ticks):
        clock.advance(1.0)
        sim.tick()
    total = time.perf_counter() - t0
    return 1e6 * total / ticks, 1e6 * spent[0] / ticks


async def _clients(url: str, n: int, seconds: float, out: Connection) -> tuple[int, float]:
    counts = [0] * n
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as http:
        sockets = [await http.ws_connect(url, max_msg_size=0) for _ in range(n)]
        for ws in sockets:
            await ws.send_str(json.dumps({"op": "subscribe", "args": TOPICS, "req_id": "1"}))

        async def read(i: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    counts[i] += 1

        tasks = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets)]
        await asyncio.sleep(0.5)
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


async def fan_out(n: int, seconds: float, tick: float) -> None:
    sim = Simulator(bybit_config(tick_s=tick, speed=600.0), TEST_KEYS | BYBIT_TEST_KEYS, LiveClock())
    await sim.start()
    try:
        parent, child = mp.Pipe()
        proc = mp.get_context("spawn").Process(
            target=_client_process, args=(f"{sim.bybit_ws_url}/v5/public/linear", n, seconds, child)
        )
        proc.start()
        await asyncio.to_thread(parent.recv)
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
    ap.add_argument("--tick", type=float, default=0.002, help="simulator tick_s for the fan-out")
    ap.add_argument("--ticks", type=int, default=2000, help="ticks timed for the tick cost")
    args = ap.parse_args()
    for label, cfg in (("Binance accounts only", fast_config()), ("+ 2 Bybit accounts", bybit_config())):
        per_tick, bybit = tick_cost(cfg, args.ticks)
        print(
            f"tick cost, {label:<22}: {per_tick:8.1f} µs/tick, Bybit venue {bybit:7.1f} µs"
            f" ({100 * bybit / per_tick:4.1f} %), Binance and the rest {per_tick - bybit:8.1f} µs"
        )
    print(f"fan-out: {len(TOPICS)} linear tickers per client, tick_s={args.tick}")
    for n in args.clients:
        asyncio.run(fan_out(n, args.seconds, args.tick))


if __name__ == "__main__":
    main()
