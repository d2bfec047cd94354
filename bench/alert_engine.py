"""Rule engine and outbox cost per tick, against a same-run baseline (no timing asserts in tests).

Baseline: one bare comparison per figure, the least any engine must do. The engine adds state
lookups, pending/hysteresis logic and labels; the ratio says what that costs. The outbox line
shows what a durable enqueue (fsync, synchronous=FULL) costs per tick on this machine.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from monitor.clock import ManualClock
from monitor.config import LevelConfig, ReceiverConfig, RuleConfig
from monitor.notify.console import ConsoleNotifier
from monitor.notify.outbox import Outbox
from monitor.notify.pipeline import Dispatcher
from monitor.records import Figure, FigureKey, Figures
from monitor.rules import RuleEngine

N_SYMBOLS = 500
N_RULES = 10
TICKS = 200


def _figures(tick: int) -> Figures:
    items = {}
    for r in range(N_RULES):
        for s in range(N_SYMBOLS):
            key = FigureKey(name=f"figure_{r}", venue="binance", account="desk", symbol=f"S{s}USDT")
            items[key] = Figure(value=((s + tick) % 100) / 100.0, unit="ratio", ts_ns=tick)
    return Figures(taken_at_ns=tick, items=items)


def main() -> None:
    rules = tuple(
        RuleConfig(
            name=f"Rule{r}",
            figure=f"figure_{r}",
            op=">",
            levels=(
                LevelConfig(severity="warning", threshold=0.8, clear=0.7),
                LevelConfig(severity="page", threshold=0.95),
            ),
            for_s=2.0,
            repeat_s=60.0,
        )
        for r in range(N_RULES)
    )
    ticks = [_figures(t) for t in range(TICKS)]
    n = N_RULES * N_SYMBOLS

    t0 = time.perf_counter()
    hits = 0
    for f in ticks:
        hits += sum(1 for fig in f.items.values() if fig.value > 0.8)
    base = (time.perf_counter() - t0) / TICKS

    engine = RuleEngine(rules)
    events = 0
    t0 = time.perf_counter()
    for i, f in enumerate(ticks):
        events += len(engine.step(f, i * 1_000_000_000))
    eng = (time.perf_counter() - t0) / TICKS
    print(
        f"figures/tick={n} baseline={base * 1e3:.2f} ms engine={eng * 1e3:.2f} ms ratio={eng / base:.1f}x "
        f"events/tick={events / TICKS:.0f}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        clock = ManualClock()
        recv = (ReceiverConfig(name="c", type="console", group_by=("alertname", "symbol")),)
        ob = Outbox(Path(tmp) / "o.db")
        d = Dispatcher(recv, {"c": ConsoleNotifier("c")}, ob, clock)
        engine = RuleEngine(rules)
        per_tick = [engine.step(f, i * 1_000_000_000) for i, f in enumerate(ticks)]
        t0 = time.perf_counter()
        rows = 0
        for i, evs in enumerate(per_tick):
            notes = d.build(evs, i)
            if notes:
                rows += ob.enqueue(notes)
        dur = (time.perf_counter() - t0) / TICKS
        print(
            f"outbox enqueue (route+build+fsync+collapse) per tick={dur * 1e3:.2f} ms rows={rows} "
            f"pending={ob.pending()} (no receiver ran; these ticks change state, so nothing collapses)"
        )
        ob.close()


if __name__ == "__main__":
    main()
