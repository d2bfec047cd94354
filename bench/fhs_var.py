"""Cost of filtered historical simulation in the book VaR: the refit's rescaling and the tick's read.

Run: `PYTHONPATH=. .venv/bin/python bench/fhs_var.py [--symbols 40 --positions 200 --repeat 30]`.
Prints; never asserts. Same run, same desk and history: the return history built with its FHS rows
(what the refit now does) beside the rescaling alone, and `book_var_figures` on that history beside
the same history with the FHS rows emptied (the tick as it was: the new method then costs one NaN).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable

import numpy as np

from monitor.evaluation.book_var import book_var_figures
from monitor.evaluation.models import _filtered, book_legs, return_history
from monitor.evaluation.sink import FigureSink
from monitor.evaluation.var_check import VarSelfCheck
from tests.unit.evaluation.desk import desk, models


def _ms(fn: Callable[[], object], n: int) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--symbols", type=int, default=40)
    ap.add_argument("--positions", type=int, default=200)
    ap.add_argument("--bars", type=int, default=4096)
    ap.add_argument("--horizon-steps", type=int, default=60)
    ap.add_argument("--repeat", type=int, default=30)
    a = ap.parse_args()
    d = desk(a.symbols, a.positions, bars=a.bars, seed=3, bad=False)
    snap = d.snapshot()
    ev = d.cfg.evaluation
    legs = book_legs(snap)
    h = return_history(snap, legs, ev.volatility_sample_s, a.bars, a.horizon_steps)
    rows = h.one_step.shape[0]
    print(f"desk {a.symbols} × {a.positions}: {len(legs)} legs, {rows} one-step rows, reason {h.reason!r}")
    n = a.repeat
    full = _ms(lambda: return_history(snap, legs, ev.volatility_sample_s, a.bars, a.horizon_steps), n)
    fhs = _ms(lambda: _filtered(h.one_step, a.horizon_steps if h.steps == 1 else 1), n)
    print(f"refit  return_history with FHS rows {full:8.2f} ms   of which the rescaling {fhs:7.2f} ms")
    m = dataclasses.replace(models(d), history=h)
    empty = np.zeros((0, 0))
    m_old = dataclasses.replace(m, history=dataclasses.replace(h, filtered=empty, filtered_one_step=empty))
    fresh = {k: True for k in snap.marks}
    conf = ev.var_confidences

    def tick(mods: object, check: bool) -> None:
        c = VarSelfCheck(ev.volatility_sample_s, conf) if check else None
        book_var_figures(snap, mods, fresh, FigureSink(snap.taken_at_ns), confidences=conf, check=c)  # type: ignore[arg-type]

    for check in (False, True):
        what = "tick with a forecast due" if check else "tick, steady"
        old = _ms(lambda: tick(m_old, check), n)  # noqa: B023
        new = _ms(lambda: tick(m, check), n)  # noqa: B023
        print(f"{what:26s} without FHS rows {old:8.2f} ms   with {new:8.2f} ms   ({new / old:4.2f}×)")


if __name__ == "__main__":
    main()
