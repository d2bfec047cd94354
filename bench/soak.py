"""Soak: the whole daemon against the simulator at 10× the venue's data rate, watched for leaks.

The embedded simulator ticks every 0.1 s (ten times Binance's `@markPrice@1s` cadence) and replays
the market 10× faster than it happened; perpmon runs every stream of three symbols (marks, perp and
spot books), two accounts with user data streams, the evaluator, the rule engine and the outbox. With
`--faults` it also forces a reconnect, a stall, a listenKey expiry or bad frames every
`--fault-every` seconds, so the reconnect paths are soaked too.

Every `--sample-s` it records RSS, the number of asyncio tasks, pending futures and event-loop lag;
at the end it prints the samples and the least-squares slope per hour after a warm-up (the first
20 %). A slope near zero (RSS well under 1 MB/h, tasks and futures flat) is the pass mark of
performance-and-reliability.md D9; nothing is asserted here.

    .venv/bin/python bench/soak.py                        # 60 s
    .venv/bin/python bench/soak.py --minutes 30 --faults  # the 30-minute soak of issue 5
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import statistics
import tempfile
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.app import Daemon
from monitor.config import parse_config
from monitor.log import configure_logging
from monitor.records import FeedState

ENV = {"A_KEY": "soak-a-key", "A_SECRET": "soak-a-secret", "B_KEY": "soak-b-key", "B_SECRET": "soak-b-secret"}


def soak_config(state_dir: str, grid_s: float = 5.0, history_points: int = 4096) -> Any:
    accounts = [
        ("alpha", "A", 400_000.0, [{"symbol": "BTCUSDT", "qty": -20.0, "leverage": 5.0}]),
        (
            "beta",
            "B",
            50_000.0,
            [
                {"symbol": "ETHUSDT", "qty": 30.0, "leverage": 10.0},
                {"symbol": "SOLUSDT", "qty": -500.0, "leverage": 10.0},
            ],
        ),
    ]
    data = {
        "state_dir": state_dir,
        "log": {"format": "json", "level": "error"},
        "http": {"host": "127.0.0.1", "port": 0},
        "simulator": {
            "enabled": True,
            "tick_s": 0.1,
            "speed": 10.0,
            "loop": True,
            "accounts": [
                {
                    "name": n,
                    "api_key_env": f"{e}_KEY",
                    "api_secret_env": f"{e}_SECRET",
                    "wallet_usdt": w,
                    "positions": p,
                }
                for n, e, w, p in accounts
            ],
        },
        "venues": [
            {
                "name": "binance",
                "simulator": True,
                "symbols": ["BTCUSDT", "ETHUSDT", "SOLUSDT"],
                "spot_symbols": ["BTCUSDT", "ETHUSDT", "SOLUSDT"],
                "poll_s": 1.0,
                "reconcile_s": 15.0,
                "stale_after_s": 5.0,
            }
        ],
        "accounts": [
            {"name": n, "venue": "binance", "api_key_env": f"{e}_KEY", "api_secret_env": f"{e}_SECRET"}
            for n, e, _, _ in accounts
        ],
        "evaluation": {"interval_s": 1.0, "volatility_sample_s": grid_s, "history_points": history_points},
        "rules": [
            {
                "name": "StaleFeed",
                "figure": "feed_stale",
                "op": ">",
                "levels": [{"severity": "warning", "threshold": 0.5}],
            }
        ],
        "receivers": [{"name": "log", "type": "console"}],
    }
    return parse_config(data, ENV)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def pending_futures() -> int:
    n = 0
    for o in gc.get_objects():
        try:
            if isinstance(o, asyncio.Future) and not o.done():
                n += 1
        except ReferenceError:  # a dead weak proxy
            continue
    return n


def slope_per_hour(ts: list[float], ys: list[float]) -> float:
    if len(ts) < 3:
        return float("nan")
    return statistics.linear_regression(ts, ys).slope * 3600.0


async def faults(daemon: Daemon, every_s: float) -> None:
    sim = daemon.simulator
    assert sim is not None
    for kind in itertools.cycle(("disconnect", "stall", "expire", "malformed")):
        await asyncio.sleep(every_s)
        if kind == "disconnect":
            sim.faults.disconnect_all()
        elif kind == "stall":
            sim.faults.stall(True)
            await asyncio.sleep(3.0)
            sim.faults.stall(False)
        elif kind == "expire":
            sim.faults.expire_listen_key()
        else:
            sim.faults.send_malformed(3)


@dataclass(frozen=True)
class Health:
    """What the collectors and the loop went through: drops, reconnects, events, missed ticks."""

    dropped: dict[str, int]
    reconnects: int
    events: dict[str, int]
    stale_seen: int
    ticks: int
    expected_ticks: int

    @classmethod
    def of(cls, daemon: Daemon, stale_seen: int, ticks: int, elapsed: float) -> Health:
        dropped: Counter[str] = Counter()
        events: Counter[str] = Counter()
        reconnects = 0
        for c in daemon.collectors:
            dropped.update(c.stats.dropped)
            events.update(c.stats.events)
            reconnects += sum(c.stats.reconnects.values())
        expected = int(elapsed / daemon.cfg.evaluation.interval_s)
        return cls(dict(dropped), reconnects, dict(events), stale_seen, ticks, expected)

    def print(self) -> None:
        print(f"dropped frames by reason: {dict(sorted(self.dropped.items())) or 'none'}")
        print(f"reconnects: {self.reconnects}; events: {dict(sorted(self.events.items())) or 'none'}")
        missed = max(0, self.expected_ticks - self.ticks)
        print(f"stream samples found stale/not UP: {self.stale_seen}; evaluation ticks {self.ticks} "
              f"of ~{self.expected_ticks} expected (late/missed: {missed})")  # fmt: skip


class Lag:
    """Event-loop lag from a 100 ms sleeper, in a fixed 0.1 ms histogram (the bench must not grow).

    Samples that overlap the bench's own gc scan are left out.
    """

    BIN_S = 1e-4

    def __init__(self) -> None:
        self.bins = [0] * 10_001  # 0 … 1 s; the last bin holds everything slower
        self.window_max = 0.0
        self.scans = 0

    async def run(self) -> None:
        while True:
            t, scans = time.perf_counter(), self.scans
            await asyncio.sleep(0.1)
            if scans == self.scans:
                lag = max(0.0, time.perf_counter() - t - 0.1)
                self.bins[min(len(self.bins) - 1, int(lag / self.BIN_S))] += 1
                self.window_max = max(self.window_max, lag)

    def take_window_max(self) -> float:
        worst, self.window_max = self.window_max, 0.0
        return worst

    def quantile(self, q: float) -> float:
        total, seen = sum(self.bins), 0
        for i, n in enumerate(self.bins):
            seen += n
            if seen >= q * total:
                return (i + 0.5) * self.BIN_S
        return float("nan")


async def soak(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        cfg, secrets = soak_config(tmp, args.grid_s, args.history_points)
        configure_logging("error", "json", secrets.all())
        daemon = Daemon(cfg, secrets)
        await daemon.start()
        lag = Lag()
        extra = [asyncio.create_task(lag.run())]
        if args.faults:
            extra.append(asyncio.create_task(faults(daemon, args.fault_every)))
        rows: list[tuple[float, float, int, int, float, int]] = []
        t0 = time.perf_counter()
        cpu0 = time.process_time()
        first: tracemalloc.Snapshot | None = None
        stale_seen = 0  # (sample, stream) pairs found not UP: late/stale data the evaluator saw
        ticks0 = daemon.eval_stats.count
        try:
            while (elapsed := time.perf_counter() - t0) < args.minutes * 60:
                await asyncio.sleep(args.sample_s)
                if args.tracemalloc and first is None and elapsed > args.minutes * 12:  # after the warm-up
                    tracemalloc.start(8)
                    first = tracemalloc.take_snapshot()
                stored = sum(sum(c.stats.messages.values()) for c in daemon.collectors)
                worst = lag.take_window_max()
                lag.scans += 1
                futures = pending_futures()  # a gc walk: the loop pauses while it runs
                lag.scans += 1
                rows.append((elapsed, rss_mb(), len(asyncio.all_tasks()), futures, worst, stored))
                feeds = daemon.store.snapshot(daemon.clock.now_ns()).feeds.values()
                stale_seen += sum(1 for f in feeds if f.state is not FeedState.UP)
                if args.verbose:
                    t, rss, tasks, futs, lag_s, n = rows[-1]  # not `lag`: that is the sampler
                    print(f"t={t:6.0f}s rss={rss:7.1f} MB tasks={tasks:4d} futures={futs:5d} "
                          f"lag={lag_s * 1e3:5.1f} ms stored={n}")  # fmt: skip
        finally:
            for t in extra:
                t.cancel()
            cpu = time.process_time() - cpu0
            last = tracemalloc.take_snapshot() if first is not None else None
            ticks = daemon.eval_stats.count - ticks0
            health = Health.of(daemon, stale_seen, ticks, rows[-1][0] if rows else 0.0)
            await daemon.stop()
    report(args, rows, cpu, lag)
    health.print()
    if first is not None and last is not None:
        print("largest allocation growth since the warm-up (tracemalloc):")
        for stat in last.compare_to(first, "lineno")[:12]:
            print(f"  {stat}")


def report(
    args: argparse.Namespace, rows: list[tuple[float, float, int, int, float, int]], cpu: float, lag: Lag
) -> None:
    warm = rows[max(1, len(rows) // 5) :]
    ts = [r[0] for r in warm]
    dur = rows[-1][0]
    stored = rows[-1][5]
    print(f"soak {dur:.0f} s, faults={'on' if args.faults else 'off'}: {stored:,} records stored "
          f"({stored / dur:,.0f}/s), CPU {cpu / dur * 100:.1f}% of a core")  # fmt: skip
    print(f"{'t (s)':>7} {'RSS MB':>8} {'tasks':>6} {'futures':>8} {'lag ms':>7}")
    step = max(1, len(rows) // 12)
    for r in rows[::step] + ([rows[-1]] if (len(rows) - 1) % step else []):
        print(f"{r[0]:7.0f} {r[1]:8.1f} {r[2]:6d} {r[3]:8d} {r[4] * 1e3:7.1f}")
    rss = slope_per_hour(ts, [r[1] for r in warm])
    print(
        f"slope after warm-up ({len(warm)} samples): RSS {rss:+.2f} MB/h, "
        f"tasks {slope_per_hour(ts, [float(r[2]) for r in warm]):+.2f}/h, "
        f"futures {slope_per_hour(ts, [float(r[3]) for r in warm]):+.2f}/h"
    )
    if sum(lag.bins) > 10:
        p50, p99 = lag.quantile(0.5) * 1e3, lag.quantile(0.99) * 1e3
        print(
            f"event-loop lag: p50 {p50:.2f} ms, p99 {p99:.2f} ms, max {max(r[4] for r in rows) * 1e3:.1f} ms"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=1.0)
    p.add_argument("--sample-s", type=float, default=5.0)
    p.add_argument("--faults", action="store_true", help="inject a fault every --fault-every seconds")
    p.add_argument("--fault-every", type=float, default=20.0)
    p.add_argument("--verbose", action="store_true", help="print every sample as it is taken")
    p.add_argument("--grid-s", type=float, default=5.0, help="evaluation.volatility_sample_s (bar length)")
    p.add_argument(
        "--history-points",
        type=int,
        default=4096,
        help="bars kept per series; the risk models' working set grows until these are full",
    )
    p.add_argument("--tracemalloc", action="store_true", help="print what grew after the warm-up (slower)")
    asyncio.run(soak(p.parse_args()))


if __name__ == "__main__":
    main()
