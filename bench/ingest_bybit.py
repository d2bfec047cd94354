"""Bybit's ticker path vs Binance's markPrice path: parse → liveness → store, same run, no sockets.

Bybit sends one `tickers.{symbol}` topic as a snapshot, then deltas of changed fields that perpmon
merges per symbol (`collectors.bybit.wire.TickerBook`) and turns into a MarkPrice and a Quote; Binance sends a
self-contained `markPriceUpdate`. Both run the work `WsFeed._handle` does per frame (parse, the
per-stream liveness check, `StateStore.put`) on N pre-built frames for three symbols. Prints
frames/s and records/s per path and their ratio (Binance is the baseline); no asserts.

    .venv/bin/python bench/ingest_bybit.py              # 100k frames per path, best of 3
    .venv/bin/python bench/ingest_bybit.py --frames 300000
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from collections.abc import Callable, Iterable

from monitor.collectors.binance.wire import parse_combined_frame
from monitor.collectors.bybit.wire import TickerBook, parse_public_frame
from monitor.collectors.liveness import Liveness, progress
from monitor.records import Record
from monitor.store.state import StateStore

SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
T0_MS = 1_760_325_052_630


def bybit_frames(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        sym = SYMBOLS[i % 3]
        px = 100.0 + (i % 997) * 0.1
        data: dict[str, str] = {"symbol": sym, "markPrice": f"{px:.1f}", "bid1Price": f"{px:.1f}"}
        data |= {"ask1Price": f"{px + 0.1:.1f}", "bid1Size": "2.1"}
        if i % 10 == 0:
            data["fundingRate"] = "0.0001"
        out.append(
            json.dumps({"topic": f"tickers.{sym}", "type": "delta", "data": data, "ts": T0_MS + i}).encode()
        )
    return out


def bybit_snapshots() -> list[bytes]:
    return [
        json.dumps(
            {
                "topic": f"tickers.{s}",
                "type": "snapshot",
                "ts": T0_MS - 1,
                "data": {
                    "symbol": s,
                    "markPrice": "100.0",
                    "indexPrice": "100.0",
                    "fundingRate": "0.0001",
                    "nextFundingTime": "1760342400000",
                    "fundingIntervalHour": "8",
                    "fundingCap": "0.005",
                    "bid1Price": "99.9",
                    "bid1Size": "1",
                    "ask1Price": "100.1",
                    "ask1Size": "1",
                },
            }
        ).encode()
        for s in SYMBOLS
    ]


def binance_frames(n: int) -> list[bytes]:
    out = []
    for i in range(n):
        sym = SYMBOLS[i % 3]
        px = 100.0 + (i % 997) * 0.1
        data = {"e": "markPriceUpdate", "E": T0_MS + i, "s": sym, "p": f"{px:.8f}", "i": f"{px:.8f}"}
        data |= {"P": f"{px:.8f}", "r": "0.00010000", "T": 1760342400000}
        out.append(json.dumps({"stream": f"{sym.lower()}@markPrice@1s", "data": data}).encode())
    return out


def run(
    parse: Callable[[bytes, int], Iterable[Record]], frames: list[bytes], warm: list[bytes]
) -> tuple[float, int]:
    """(seconds, records stored) for the frames, through parse → liveness → store."""
    store = StateStore(grid_step_s=1.0, history_points=256)
    limits = {f"{k}:{s}": 10.0 for s in SYMBOLS for k in ("mark", "book:perp")}
    live = Liveness(limits, 0)
    for raw in warm:
        for rec in parse(raw, 0):
            store.put(rec)
    stored = 0
    gc.collect()
    t = time.perf_counter()
    for n, raw in enumerate(frames):
        for rec in parse(raw, n):
            key = progress(rec)
            if key is not None and not live.observe(key[0], key[1], n):
                continue
            store.put(rec)
            stored += 1
    return time.perf_counter() - t, stored


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=100_000)
    args = ap.parse_args()
    by_frames, bn_frames = bybit_frames(args.frames), binance_frames(args.frames)
    results = {}
    for name, make, frames, warm in (
        (
            "binance markPrice",
            lambda: lambda raw, now: parse_combined_frame(raw, now, "binance", "perp"),
            bn_frames,
            [],
        ),
        ("bybit tickers delta", lambda: _bybit_parser(), by_frames, bybit_snapshots()),
    ):
        best = min((run(make(), frames, warm) for _ in range(3)), key=lambda r: r[0])
        results[name] = (args.frames / best[0], best[1] / best[0])
        print(f"{name:22s} {args.frames / best[0]:>10,.0f} frames/s {best[1] / best[0]:>10,.0f} records/s")
    ratio = results["bybit tickers delta"][0] / results["binance markPrice"][0]
    print(f"bybit / binance frames/s: {ratio:.2f} (bybit frames carry mark + book top: 2 records each)")


def _bybit_parser() -> Callable[[bytes, int], Iterable[Record]]:
    book = TickerBook()
    return lambda raw, now: parse_public_frame(raw, now, venue="bybit", book=book)


if __name__ == "__main__":
    main()
