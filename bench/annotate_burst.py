"""A burst of alert events annotated at desk scale (`Daemon._annotate` → monitor/rules/context.py).

Why: a tick that tells many alerts at once (565 FigureUnavailable when a feed's marks went NaN, at
600 symbols × 1,000 positions) pays the annotation per event, on the loop, before the hand-off: it
made a 46 ms p99 tick. The book, config and first full tick are bench/live_tick.py's; the burst mixes
FigureUnavailable on position figures (most of it), the rules' own events on positions, accounts and
markets, and per-stream feed alerts, in the engine's words. Prints the median and p99 per burst and
per event; asserts nothing.

    PYTHONPATH=. .venv/bin/python bench/annotate_burst.py [--events 600] [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
import time

import numpy as np

from bench.live_tick import T0, BenchClock, make_book, make_config, put_market, put_static
from monitor.app import Daemon
from monitor.records import AlertEvent, AlertState, FigureKey, Figures, Severity
from monitor.rules.model import UNAVAILABLE_ALERTNAME, fingerprint, instance_labels


def _event(alertname: str, key: FigureKey, value: float, sev: Severity, notes: dict[str, str]) -> AlertEvent:
    labels = instance_labels(alertname, key)
    if alertname == UNAVAILABLE_ALERTNAME:
        labels["figure"] = key.name
    return AlertEvent(
        fingerprint=fingerprint(labels),
        labels={**labels, "severity": sev.label},
        annotations={"figure": key.name, "value": f"{value:.6g}", **notes},
        state=AlertState.FIRING,
        severity=sev,
        starts_at_ns=T0,
        ends_at_ns=None,
        value=value,
        event_ns=T0,
    )


def burst(figures: Figures, n: int) -> list[AlertEvent]:
    """`n` events: ~80 % FigureUnavailable on position figures, the rest rule events across row kinds."""
    cols = figures.columns
    gap = {"reason": "no_mark", "rules": "LiquidationDistance", "summary": "x"}
    rule = {"threshold": "0.05", "clear": "0.06", "op": "<", "summary": "x"}
    out: list[AlertEvent] = []
    names = ("liquidation_distance_ratio", "liquidation_distance_sigma")
    legs = [k for name in names for k in cols[name].keys]
    for key in legs[: n * 8 // 10]:
        out.append(_event(UNAVAILABLE_ALERTNAME, key, math.nan, Severity.CRITICAL, gap))
    plan = (
        ("LiquidationDistance", "liquidation_distance_ratio"),
        ("MarginRatio", "margin_ratio"),
        ("FundingExtreme", "funding_rate_annualized_ratio"),
        ("HedgeRatioLow", "hedge_ratio"),
        ("StaleFeed", "feed_stale"),
    )
    i = 0
    while len(out) < n:
        alertname, name = plan[i % len(plan)]
        keys = cols[name].keys
        key = keys[(i // len(plan)) % len(keys)]
        fig = figures.items[key]
        out.append(_event(alertname, key, fig.value, Severity.WARNING, rule))
        i += 1
    return out


async def run(n_sym: int, n_pos: int, n_events: int, rounds: int) -> None:
    rng = np.random.default_rng(n_sym * 7919 + n_pos)
    book = make_book(n_sym, n_pos)
    with tempfile.TemporaryDirectory() as tmp:
        cfg, secrets = make_config(book, tmp)
        clock = BenchClock(start_ns=T0, cpu=True)
        d = Daemon(cfg, secrets, clock=clock)
        put_static(d, book, T0)
        put_market(d, book, T0, rng)
        figures = d.evaluator.evaluate(d.store.snapshot(T0), T0)
        events = burst(figures, n_events)
        d._annotate(events, figures)  # warm: memo tables, imports
        times = []
        for _ in range(rounds):
            t = time.process_time_ns()
            d._annotate(events, figures)
            times.append((time.process_time_ns() - t) / 1e6)
        times.sort()
        med, p99 = times[len(times) // 2], times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
        print(
            f"{n_sym} × {n_pos}: {len(events)} events annotated: median {med:.2f} ms, p99 {p99:.2f} ms "
            f"({1000 * med / len(events):.1f} µs per event; CPU time, {rounds} rounds)"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="50x100,600x1000")
    ap.add_argument("--events", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=30)
    a = ap.parse_args()
    for size in a.sizes.split(","):
        n_sym, n_pos = (int(x) for x in size.split("x"))
        asyncio.run(run(n_sym, n_pos, a.events, a.rounds))


if __name__ == "__main__":
    main()
