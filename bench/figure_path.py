"""Figures from the evaluation stages to the rules, as columns, beside the dict-of-structs path they replace.

Run: `PYTHONPATH=. .venv/bin/python bench/figure_path.py [--sizes 50x100,600x1000] [--ticks 30] [--cpu]`.
Prints; never asserts. The daemon and its generated books are bench/live_tick.py's (a real
`Daemon.tick`: snapshot → evaluate → rules → hand-off); per size it prints, all from one run:

- the tick and its per-stage split (`eval_stats.stages_s`, what /metrics exports);
- figure building: every sink call one evaluation made, recorded, then replayed into the
  pre-columnar `FigureSink` (tests/unit/rules/reference/sink.py: a Figure struct and a FigureKey per
  figure, filled row by row) and into today's (columns; keys carried by the evaluator's ShapeCache);
- the rules: the pre-columnar engine (tests/unit/rules/reference/engine.py) and today's RuleEngine,
  each fresh, stepped over the same Figures of the timed ticks, with whether they told the same
  events. The reference reads the dict form, built before its timing starts (as its sink gave it);
  what building that dict costs on demand today is printed beside it.

On the 2-core dev box shared with other work the absolute numbers move run to run; the old and the
new path are timed in the same run, on the same figures, so their ratio is the comparable figure.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import live_tick as lt
from monitor import evaluator as evaluator_module
from monitor.evaluation.sink import FigureSink
from monitor.figure_columns import ShapeCache, items_from_columns
from monitor.records import AlertEvent, Figures
from monitor.rules import RuleEngine
from tests.unit.rules.reference.engine import RuleEngine as ReferenceEngine
from tests.unit.rules.reference.sink import FigureSink as DictSink


class Recorder(FigureSink):
    """The evaluator's sink, noting every call so it can be replayed into either sink."""

    calls: ClassVar[list[tuple[str, tuple[Any, ...], dict[str, Any]]]] = []

    def add(self, *a: Any, **kw: Any) -> None:  # type: ignore[override]
        Recorder.calls.append(("add", a, kw))
        super().add(*a, **kw)

    def add_many(self, *a: Any, **kw: Any) -> None:  # type: ignore[override]
        Recorder.calls.append(("add_many", tuple(list(x) if not isinstance(x, str) else x for x in a), kw))
        super().add_many(*a, **kw)

    def merge(self, columns: Any) -> None:
        Recorder.calls.append(("merge", (columns, items_from_columns(columns)), {}))
        super().merge(columns)

    def amend(self, key: Any, *, fresh: bool, reason: str) -> None:
        Recorder.calls.append(("amend", (key,), {"fresh": fresh, "reason": reason}))
        super().amend(key, fresh=fresh, reason=reason)


def replay_dict(now: int) -> Figures:
    """The recorded calls into the pre-columnar sink (stress merged and amends done as it did them)."""
    import msgspec

    sink = DictSink(now)
    for what, a, kw in Recorder.calls:
        if what == "add":
            sink.add(*a, **kw)
        elif what == "add_many":
            sink.add_many(*a, **kw)
        elif what == "merge":
            sink.items.update(a[1])
        else:
            f = sink.items[a[0]]
            sink.items[a[0]] = msgspec.structs.replace(f, **kw)
    return Figures(taken_at_ns=now, items=sink.items)


def replay_columns(now: int, shapes: ShapeCache) -> Figures:
    sink = FigureSink(now, shapes)
    for what, a, kw in Recorder.calls:
        if what == "merge":
            sink.merge(a[0])
        else:
            getattr(sink, what)(*a, **kw)
    return sink.figures()


def same_figures(a: Figures, b: Figures) -> bool:
    """Same keys, and per key the same value (NaN as NaN), unit, time, freshness and reason."""
    if a.items.keys() != b.items.keys():
        return False
    return all(
        (repr(f.value), f.unit, f.ts_ns, bool(f.fresh), f.reason)
        == (repr(g.value), g.unit, g.ts_ns, g.fresh, g.reason)
        for k, f in a.items.items()
        for g in [b.items[k]]
    )


def ms(xs: list[float]) -> str:
    return f"median {statistics.median(xs):8.2f} ms   p99 {lt.pct(xs, 0.99):8.2f} ms"


def plain(evs: list[AlertEvent]) -> list[tuple[Any, ...]]:
    return [
        (e.fingerprint, e.labels, e.annotations, e.state, e.starts_at_ns, repr(e.value), e.event_ns)
        for e in evs
    ]


async def bench_size(n_sym: int, n_pos: int, ticks: int, cpu: bool) -> None:
    rng = np.random.default_rng(n_sym * 7919 + n_pos)
    book = lt.make_book(n_sym, n_pos)
    with tempfile.TemporaryDirectory() as tmp:
        cfg, secrets = lt.make_config(book, tmp)
        clock = lt.BenchClock(start_ns=lt.T0, cpu=cpu)
        d = lt.Daemon(cfg, secrets, clock=clock)
        d.outbox = lt.Outbox(Path(tmp) / "outbox.sqlite3")
        notifiers = lt.build_notifiers(cfg.receivers, secrets.receiver_urls, clock=clock)
        d.dispatcher = lt.Dispatcher(cfg.receivers, notifiers, d.outbox, clock, secrets=secrets.all())
        lt.fill_history(d, book, rng)
        lt.put_static(d, book, lt.T0)
        lt.put_market(d, book, lt.T0, rng)
        await d.tick()
        d.refresher.models = lt.shared_models(d, clock.now_ns(), d.latest)
        for _ in range(3):
            clock.advance(1.0)
            lt.put_market(d, book, clock.now_ns(), rng)
            await d.tick()

        totals: list[float] = []
        stages: dict[str, list[float]] = {}
        seq: list[Figures] = []
        gc.collect()
        for _ in range(ticks):
            clock.advance(1.0)
            lt.put_market(d, book, clock.now_ns(), rng)
            t = clock.monotonic_ns()
            await d.tick()
            totals.append((clock.monotonic_ns() - t) / 1e6)
            for k, v in d.eval_stats.stages_s.items():
                stages.setdefault(k, []).append(v * 1e3)
            assert d.latest is not None
            seq.append(d.latest)
        n_figs = sum(len(c) for c in seq[-1].columns.values())
        print(f"\n== {n_sym} symbols × {n_pos} positions: {n_figs:,} figures a tick, {len(cfg.rules)} rules")
        print(f"tick (Daemon.tick)        {ms(totals)}")
        for k, v in stages.items():
            print(f"  {k:22s}  {ms(v)}")

        # figure building: one evaluation's sink calls, replayed into either sink
        now = clock.now_ns()
        snap = d.store.snapshot(now)
        Recorder.calls = []
        evaluator_module.FigureSink = Recorder  # type: ignore[misc]
        try:
            d.evaluator.evaluate(snap, now, d.refresher.models)
        finally:
            evaluator_module.FigureSink = FigureSink  # type: ignore[misc]
        shapes = ShapeCache()
        replay_columns(now, shapes)  # the evaluator's cache is warm after its first tick; so is this one
        n = max(5, ticks // 2)
        old = lt.timed(lambda: replay_dict(now), n, clock)
        new = lt.timed(lambda: replay_columns(now, shapes), n, clock)
        same = same_figures(replay_dict(now), replay_columns(now, shapes))
        print(
            f"figures built ({len(Recorder.calls):,} sink calls replayed; the stages' own work excluded)\n"
            f"  dict of Figure structs  {ms(old)}\n"
            f"  columns                 {ms(new)}   "
            f"({statistics.median(old) / statistics.median(new):.1f}× less; "
            f"same figures: {'yes' if same else 'NO'})"
        )

        # the rules, fresh engines over the same ticks' Figures
        ev = cfg.evaluation
        kw = {
            "heartbeat_s": ev.heartbeat_s,
            "unavailable_for_s": ev.unavailable_for_s,
            "unavailable_warmup_s": ev.unavailable_warmup_s,
        }
        t = clock.monotonic_ns()
        for f in seq:
            _ = f.items.keys()  # the dict form, which the reference reads (its sink made it for free)
        dict_ms = (clock.monotonic_ns() - t) / 1e6 / len(seq)
        ref_engine, new_engine = ReferenceEngine(cfg.rules, **kw), RuleEngine(cfg.rules, **kw)
        t0 = lt.T0
        ref_engine.started(t0)
        new_engine.started(t0)
        ref_t, new_t, same_events, told = [], [], True, 0
        for f in seq:
            a = clock.monotonic_ns()
            want = ref_engine.step(f, f.taken_at_ns)
            b = clock.monotonic_ns()
            got = new_engine.step(f, f.taken_at_ns)
            c = clock.monotonic_ns()
            ref_t.append((b - a) / 1e6)
            new_t.append((c - b) / 1e6)
            same_events &= plain(got) == plain(want)
            told += len(got)
        firing = len(new_engine.firing())
        print(
            f"rules over the same {len(seq)} ticks ({told:,} events, {firing:,} alerts firing at the end)\n"
            f"  reference engine (per figure)  {ms(ref_t)}\n"
            f"  RuleEngine (columns)           {ms(new_t)}   "
            f"({statistics.median(ref_t) / statistics.median(new_t):.1f}× less; "
            f"same events: {'yes' if same_events else 'NO'})\n"
            f"  Figures.items on demand (dict form from columns): {dict_ms:.2f} ms a tick "
            "(only tools, tests and the refit ask)"
        )
        d.outbox.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="50x100,600x1000")
    ap.add_argument("--ticks", type=int, default=30)
    ap.add_argument("--cpu", action="store_true", help="CPU time of the loop's thread instead of wall time")
    a = ap.parse_args()
    sizes = [tuple(int(x) for x in s.split("x")) for s in a.sizes.split(",")]
    print("bench/figure_path.py: " + ("CPU time of the loop thread" if a.cpu else "wall time"))
    for n_sym, n_pos in sizes:
        asyncio.run(bench_size(n_sym, n_pos, a.ticks, a.cpu))


if __name__ == "__main__":
    main()
