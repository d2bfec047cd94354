"""The evaluator's stages one by one on generated desk books (50 × 100 and 600 × 1,000 by default).

Run: `PYTHONPATH=. .venv/bin/python bench/evaluator_stages.py [symbols×positions ...]`. Prints median
and p99 per stage; no asserts. The book is `tests/unit/evaluation/desk.py`'s: symbols on two venues
(Binance lists all, Bybit half), four accounts, fitted-looking models (GARCH/OU per market, return
history, Monte Carlo), 4,096 bars of history and the awkward corners (NaN/±inf marks, missing tiers,
hedge mode, isolated and unwatched legs, stale feeds). Each round takes a new snapshot (not timed),
as the daemon does, so nothing is carried by object identity; the stages run in the evaluator's
order with the evaluator's own state (held streams, the EWMA cache), as `Evaluator.evaluate` does.
The feeds, dynamics, advice and book stages are also timed as the per-stream / per-market / per-leg
code they replaced (tests/unit/evaluation/reference/*_rows.py), on the same snapshot each round.
`NO_SINK=1` makes `FigureSink.add` / `add_many` no-ops: what the stages cost apart from the sink.
`CLOCK=cpu` times with the process's CPU clock instead of the wall clock: on a shared box the
wall clock also counts the time other processes had the core.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the daemon runs

import inspect
import statistics
import sys
import time
from collections import defaultdict

from monitor.evaluation import advice, book, book_var, dynamics, feeds, funding_spread, market, proxy
from monitor.evaluation.account import account_figures
from monitor.evaluation.sink import FigureSink
from monitor.evaluator import GONE_RETENTION_S, Evaluator
from tests.unit.evaluation.desk import desk, models
from tests.unit.evaluation.reference import advice as ref_advice
from tests.unit.evaluation.reference import book as ref_book
from tests.unit.evaluation.reference import dynamics as ref_dynamics
from tests.unit.evaluation.reference import feeds as ref_feeds

ROUNDS = int(os.environ.get("ROUNDS", "15"))
if os.environ.get("NO_SINK"):  # what the stages cost apart from building the Figure records
    FigureSink.add = lambda *a, **k: None  # type: ignore[method-assign]
    FigureSink.add_many = lambda *a, **k: None  # type: ignore[method-assign]
CLOCK = time.process_time if os.environ.get("CLOCK") == "cpu" else time.perf_counter


def run(n_sym: int, n_pos: int) -> None:
    d = desk(n_sym, n_pos)
    m = models(d)
    ev = d.cfg.evaluation
    evaluator = Evaluator(d.cfg, started_ns=d.now_ns - 3_600 * 10**9)
    cache_kw = (
        {"cache": evaluator._ewma} if "cache" in inspect.signature(market.market_figures).parameters else {}
    )
    times: dict[str, list[float]] = defaultdict(list)
    figures = 0
    for k in range(ROUNDS + 2):
        snap = d.snapshot()
        sink = FigureSink(d.now_ns)
        t = [CLOCK()]
        stamps: list[str] = []

        def lap(name: str, t: list[float] = t, stamps: list[str] = stamps) -> None:
            t.append(CLOCK())
            stamps.append(name)

        fresh = feeds.feed_figures(snap, evaluator._expected, d.now_ns - 3_600 * 10**9, sink)
        lap("feeds")
        mk = market.market_figures(
            snap, fresh, sink, step_s=ev.volatility_sample_s, lam=ev.ewma_lambda, **cache_kw
        )
        lap("market")
        account_figures(snap, mk, fresh, sink, horizon_s=ev.horizon_s, bybit_venues=evaluator._bybit)
        lap("account (not this helper's)")
        book.book_figures(snap, mk, sink, fresh)
        lap("book")
        funding_spread.funding_spread_figures(mk, sink)
        lap("funding_spread")
        garch = dynamics.dynamics_figures(snap, m, fresh, sink, step_s=ev.volatility_sample_s)
        lap("risk: dynamics")
        book_var.book_var_figures(snap, m, fresh, sink, confidences=ev.var_confidences)
        lap("risk: book_var")
        advice.advice_figures(
            snap, mk, garch, sink, target_vol=ev.target_vol, shock=ev.shock, bybit_venues=evaluator._bybit
        )
        lap("risk: advice")
        proxy.proxy_hedge_figures(snap, ev.proxy_hedges, sink, step_s=ev.volatility_sample_s)
        book.gone_figures(snap, sink, GONE_RETENTION_S)
        lap("proxy + gone")
        # the code the columnar risk stages replaced, on the same snapshot (not in "all of the above")
        r0 = CLOCK()
        ref_dynamics.dynamics_figures(snap, m, fresh, FigureSink(d.now_ns), step_s=ev.volatility_sample_s)
        r1 = CLOCK()
        ref_advice.advice_figures(
            snap, mk, garch, FigureSink(d.now_ns), target_vol=ev.target_vol, shock=ev.shock,
            bybit_venues=evaluator._bybit,
        )  # fmt: skip
        r2 = CLOCK()
        ref_book.book_figures(snap, mk, FigureSink(d.now_ns), fresh)
        r3 = CLOCK()
        ref_feeds.feed_figures(snap, evaluator._expected, d.now_ns - 3_600 * 10**9, FigureSink(d.now_ns))
        r4 = CLOCK()
        if k >= 2:  # two warm-up rounds
            for name, a, b in zip(stamps, t, t[1:], strict=False):
                times[name].append(b - a)
            times["all of the above"].append(t[-1] - t[0])
            times["reference: dynamics per market"].append(r1 - r0)
            times["reference: advice per leg"].append(r2 - r1)
            times["reference: book per leg"].append(r3 - r2)
            times["reference: feeds per stream"].append(r4 - r3)
        figures = len(sink.items)
    clock = "CPU" if CLOCK is time.process_time else "wall"
    print(f"{n_sym} symbols × {n_pos} positions: {figures} figures, {ROUNDS} rounds, {clock} clock")
    for name, xs in times.items():
        xs.sort()
        med, p99 = statistics.median(xs) * 1e3, xs[int(0.99 * (len(xs) - 1))] * 1e3
        print(f"  {name:30s} median {med:8.2f} ms   p99 {p99:8.2f} ms")


def main(sizes: list[str]) -> None:
    for s in sizes or ["50x100", "600x1000"]:
        n, p = (int(x) for x in s.split("x"))
        run(n, p)


if __name__ == "__main__":
    main(sys.argv[1:])
