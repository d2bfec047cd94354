"""What keeping N perp book levels costs (`depth_levels`), against the top-of-book path in the same run.

Run: `.venv/bin/python bench/depth_levels.py`. Prints figures; no asserts. Measured per frame:
- parse: a Binance `@bookTicker` frame (the baseline) vs a `@depth20@500ms` frame, and a Bybit
  `orderbook.50` delta merged into its local book and cut to 20 levels;
- store: `StateStore.put` of a `Quote` vs a `BookLevels`;
- evaluation: `cost_to_close` over one level vs over 20.
Plus the wire cost: bytes per frame, and per symbol per second at the venue's 500 ms cadence.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable

import numpy as np

from monitor.collectors.binance.wire import parse_combined_frame, parse_depth_frame
from monitor.collectors.bybit.wire import DepthBooks, TickerBook, parse_public_frame
from monitor.records import BookLevels, Quote
from monitor.risk.liquidity import cost_to_close
from monitor.store.state import StateStore

NOW = 1_700_000_000_000_000_000


def timed(fn: Callable[[], object], n: int = 20_000) -> float:
    """Median µs per call over batches of 100."""
    out = []
    for _ in range(n // 100):
        t = time.perf_counter()
        for _ in range(100):
            fn()
        out.append((time.perf_counter() - t) / 100 * 1e6)
    return statistics.median(out)


def main() -> None:
    ticker = json.dumps({"stream": "btcusdt@bookTicker", "data": {"e": "bookTicker", "u": 400900217,
                         "E": 1568014460893, "T": 1568014460891, "s": "BTCUSDT", "b": "25.35190000",
                         "B": "31.21000000", "a": "25.36520000", "A": "40.66000000"}})  # fmt: skip
    bids = [[f"{60000 - 0.1 * i:.1f}", f"{1.5 + 0.5 * i:.3f}"] for i in range(20)]
    asks = [[f"{60000.1 + 0.1 * i:.1f}", f"{1.5 + 0.5 * i:.3f}"] for i in range(20)]
    data = {"e": "depthUpdate", "E": 1571889248277, "T": 1571889248276, "s": "BTCUSDT", "U": 1, "u": 2,
            "pu": 0, "b": bids, "a": asks}  # fmt: skip
    depth = json.dumps({"stream": "btcusdt@depth20@500ms", "data": data})
    book = DepthBooks(20)
    snap = {"s": "BTCUSDT", "b": [[f"{60000 - 0.1 * i:.1f}", "1.0"] for i in range(50)],
            "a": [[f"{60000.1 + 0.1 * i:.1f}", "1.0"] for i in range(50)], "u": 1, "seq": 1}  # fmt: skip
    first = json.dumps({"topic": "orderbook.50.BTCUSDT", "type": "snapshot", "ts": 1, "data": snap})
    parse_public_frame(first, NOW, venue="bybit", book=TickerBook(), depth=book)
    u = [1]

    def bybit_delta() -> object:
        u[0] += 1
        data = {"s": "BTCUSDT", "b": [["59999.9", f"{u[0] % 7 + 1}.0"]], "a": [["60000.2", "0"]], "u": u[0]}
        raw = json.dumps({"topic": "orderbook.50.BTCUSDT", "type": "delta", "ts": 2, "data": data})
        return parse_public_frame(raw, NOW, venue="bybit", book=TickerBook(), depth=book)

    print("per frame (median µs):")
    t_tick = timed(lambda: parse_combined_frame(ticker, NOW, "binance", "perp"))
    t_depth = timed(lambda: parse_depth_frame(depth, NOW, "binance", 20))
    print(f"  parse Binance @bookTicker (baseline)     {t_tick:7.2f}")
    print(f"  parse Binance @depth20@500ms             {t_depth:7.2f}  ({t_depth / t_tick:.1f}x)")
    print(f"  Bybit orderbook.50 delta (incl. encode)  {timed(bybit_delta):7.2f}")
    st = StateStore()
    q = Quote(venue="binance", symbol="BTCUSDT", market="perp", ts_event_ns=NOW, ts_recv_ns=NOW, bid=1.0,
              bid_size=1.0, ask=2.0, ask_size=1.0)  # fmt: skip
    (lv,) = parse_depth_frame(depth, NOW, "binance", 20)
    assert isinstance(lv, BookLevels)
    print(f"  store put Quote                          {timed(lambda: st.put(q)):7.2f}")
    print(f"  store put BookLevels(20)                 {timed(lambda: st.put(lv)):7.2f}")
    one = [np.array([x]) for x in (q.bid, q.bid_size, q.ask, q.ask_size)]
    sides = (lv.bid_px, lv.bid_qty, lv.ask_px, lv.ask_qty)
    t_one = timed(lambda: cost_to_close(0.5, *one))
    t_twenty = timed(lambda: cost_to_close(12.5, *(np.array(x) for x in sides)))
    print(f"  cost_to_close, 1 level                   {t_one:7.2f}")
    print(f"  cost_to_close, 20 levels (+ arrays)      {t_twenty:7.2f}")
    n, nt = len(depth.encode()), len(ticker.encode())
    print(
        f"wire: @bookTicker {nt} B/frame; @depth20 {n} B/frame = {2 * n / 1024:.1f} KiB/s a symbol (500 ms)"
    )
    share = 600 * 2 * t_depth / 1e4
    print(f"600 symbols: {600 * 2 * n / 1024 / 1024:.2f} MiB/s, {share:.2f} % of one core to parse")


if __name__ == "__main__":
    main()
