"""The frame tick's rule step, every column rescanned vs only the replaced ones, in the same run.

Why: a frame tick (monitor/evaluator.py `frame`) replaces only the account stage's columns; every
other column is the last full tick's, already scanned. `RuleEngine.step(replaced=...)` rescans the
replaced columns and advances the others' instances only when a `for` or repeat is due. Both
variants step a copy of the same engine on the same 40 frame Figures (bench/live_tick.py's books,
marks moved every 50 ms); prints CPU-time median/p99 and whether they told the same events.
Asserts nothing.

    PYTHONPATH=. .venv/bin/python bench/frame_rules.py [--sizes 50x100,600x1000] [--frames 40]
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time

import numpy as np

from bench.live_tick import (
    T0,
    BenchClock,
    fill_history,
    make_book,
    make_config,
    put_market,
    put_static,
    shared_models,
)
from monitor.app import Daemon
from monitor.records import AlertEvent, Figures

FRAME_NS = 50_000_000


def run(n_sym: int, n_pos: int, n_frames: int) -> None:
    book = make_book(n_sym, n_pos)
    rng = np.random.default_rng(n_sym * 7919 + n_pos)
    with tempfile.TemporaryDirectory() as tmp:
        cfg, secrets = make_config(book, tmp)
        d = Daemon(cfg, secrets, clock=BenchClock(start_ns=T0, cpu=True))
        fill_history(d, book, rng)
        put_static(d, book, T0)
        put_market(d, book, T0, rng)
        d.refresher.models = shared_models(d, T0, d.evaluator.evaluate(d.store.snapshot(T0), T0))
        full = d.evaluator.evaluate(d.store.snapshot(T0), T0, d.refresher.models)
        d.engine.step(full, T0)
        frames: list[tuple[int, Figures]] = []
        now = T0
        for _ in range(n_frames):
            now += FRAME_NS
            put_market(d, book, now, rng, marks_only=True)
            figures = d.evaluator.frame(d.store.snapshot(now), now, full)
            if figures is not None:
                frames.append((now, figures))
        told: dict[str, list[list[AlertEvent]]] = {}
        for label, replaced in (("every column", None), ("replaced only", d.evaluator.replaced)):
            engine = copy.deepcopy(d.engine)
            times: list[float] = []
            told[label] = []
            for t, figures in frames:
                t0 = time.process_time_ns()
                told[label].append(engine.step(figures, t, replaced))
                times.append((time.process_time_ns() - t0) / 1e6)
            times.sort()
            print(
                f"{n_sym} × {n_pos} frame step, {label:13}: median {times[len(times) // 2]:.2f} ms, "
                f"p99 {times[-1]:.2f} ms ({len(frames)} frames, CPU time)"
            )
        print(f"  the same events: {told['every column'] == told['replaced only']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="50x100,600x1000")
    ap.add_argument("--frames", type=int, default=40)
    a = ap.parse_args()
    for size in a.sizes.split(","):
        n_sym, n_pos = (int(x) for x in size.split("x"))
        run(n_sym, n_pos, a.frames)


if __name__ == "__main__":
    main()
