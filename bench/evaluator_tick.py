"""Evaluator tick on the default book (config.toml): the figures before the slow models vs all of them.

Run: `.venv/bin/python bench/evaluator_tick.py`. Prints figures; no asserts. The book is the shipped
default: "hedge" short 50 BTC (cross, 400,000 USDT) against 50 BTC in custody, "degen" long 2 BTC
on 6,000 USDT, Binance's BTC brackets, 4,096 bars of history (real BTC closes on the grid) in
the store. Measured in the same run:
- snapshot: `StateStore.snapshot` (now also copying the spot grid and settlements);
- base stages: feeds, markets, accounts, book (the figure set before GARCH/OU/VaR/advice);
- full tick: `Evaluator.evaluate` with fitted models (every figure);
- risk stages alone (GARCH stepping, OU z, VaR/ES, advice) with 0 and 60 bars since the refit;
- the refit (`refresh_models`: GARCH + OU fits, return history, Monte Carlo), which runs off the loop;
- the event loop during a refit in a worker thread (as monitor/refit.py runs it): tick time and
  lateness of a 20 ms timer, against the same loop with no refit running (GIL sharing is the cost).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the daemon runs

import asyncio
import re
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import numpy as np

from monitor.config import load_config
from monitor.evaluation.account import account_figures
from monitor.evaluation.book import book_figures
from monitor.evaluation.book_mc import lps_from_figures
from monitor.evaluation.feeds import expected_streams, feed_figures
from monitor.evaluation.market import market_figures
from monitor.evaluation.models import EMPTY_MODELS, refresh_models
from monitor.evaluation.risk_stage import risk_figures
from monitor.evaluation.sink import FigureSink
from monitor.evaluator import Evaluator
from monitor.records import (
    AccountSnapshot,
    Balance,
    Bracket,
    Holding,
    LeverageTiers,
    MarkPrice,
    Position,
    Quote,
)
from monitor.store.state import StateStore

ROOT = Path(__file__).resolve().parents[1]
S = 1_000_000_000
BARS = 4_096
TIERS = (
    Bracket(floor=0, cap=50_000, mmr=0.004, cum=0, max_leverage=125),
    Bracket(floor=50_000, cap=250_000, mmr=0.005, cum=50, max_leverage=100),
    Bracket(floor=250_000, cap=1_000_000, mmr=0.01, cum=1_300, max_leverage=50),
    Bracket(floor=1_000_000, cap=10_000_000, mmr=0.025, cum=16_300, max_leverage=20),
    Bracket(floor=10_000_000, cap=20_000_000, mmr=0.05, cum=266_300, max_leverage=10),
)


def closes() -> np.ndarray:
    path = ROOT / "tests" / "testdata" / "risk" / "binance_spot_BTCUSDT_1d_close.csv"
    c = np.loadtxt(path, delimiter=",", comments="#", skiprows=4, usecols=1)
    return np.asarray(np.resize(c, BARS + 200), dtype=np.float64)


def put_bars(st: StateStore, step_s: float, t0: int, marks: np.ndarray, start: int, stop: int) -> None:
    rng = np.random.default_rng(start)
    for k in range(start, stop):
        t = t0 + int(k * step_s * S)
        m = float(marks[k])
        st.put(
            MarkPrice(
                venue="binance",
                symbol="BTCUSDT",
                ts_event_ns=t,
                ts_recv_ns=t,
                mark=m,
                index=m,
                funding_rate=0.0001,
                next_funding_ns=t0 + 10**15,
            )
        )
        s = m * (1 + rng.normal(0, 2e-4))
        for market, px in (("spot", s), ("perp", m)):
            st.put(
                Quote(
                    venue="binance",
                    symbol="BTCUSDT",
                    market=market,  # type: ignore[arg-type]
                    ts_event_ns=t,
                    ts_recv_ns=t,
                    bid=px - 0.5,
                    bid_size=3.0,
                    ask=px + 0.5,
                    ask_size=3.0,
                )
            )


def put_book(st: StateStore, t: int, mark: float) -> None:
    for name, qty, wallet in (("hedge", -50.0, 400_000.0), ("degen", 2.0, 6_000.0)):
        pos = Position(symbol="BTCUSDT", side="BOTH", qty=qty, entry_price=mark, margin_mode="cross")
        st.put(
            AccountSnapshot(
                venue="binance",
                account=name,
                ts_event_ns=t,
                ts_recv_ns=t,
                positions=(pos,),
                balances=(Balance(asset="USDT", wallet_balance=wallet, cross_wallet_balance=wallet),),
            )
        )
        st.put(
            LeverageTiers(
                venue="binance", account=name, symbol="BTCUSDT", ts_event_ns=t, ts_recv_ns=t, brackets=TIERS
            )
        )
    st.put(
        Holding(
            venue="config",
            ts_event_ns=t,
            ts_recv_ns=t,
            name="custody",
            asset="BTC",
            quantity=50.0,
            price_venue="binance",
            price_symbol="BTCUSDT",
        )
    )


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    for _ in range(min(20, n)):
        fn()
    xs = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        xs.append(time.perf_counter() - t)
    xs.sort()
    return statistics.median(xs) * 1e3, xs[int(0.99 * (len(xs) - 1))] * 1e3


def main() -> None:
    names = re.findall(r'_env\s*=\s*"([A-Z0-9_]+)"', (ROOT / "config.toml").read_text())
    cfg, _ = load_config(ROOT / "config.toml", env=dict.fromkeys(names, "x"))
    ev = cfg.evaluation
    step = ev.volatility_sample_s
    marks = closes()
    st = StateStore(grid_step_s=step, history_points=BARS)
    t0 = 1_700_000_000 * S
    put_bars(st, step, t0, marks, 0, BARS + 1)
    now = t0 + int(BARS * step * S)
    put_book(st, now, float(marks[BARS]))
    evaluator = Evaluator(cfg, started_ns=t0)
    snap = st.snapshot(now)
    first = evaluator.evaluate(snap, now)

    t = time.perf_counter()
    models = refresh_models(snap, ev, EMPTY_MODELS, lps_from_figures(first))
    refit_s = time.perf_counter() - t
    no_mc = msgspec.structs.replace(ev, mc_paths=100)
    t = time.perf_counter()
    refresh_models(snap, no_mc, models, lps_from_figures(first))
    refit_warm_small_mc_s = time.perf_counter() - t

    expected = expected_streams(cfg)

    def base() -> None:
        sink = FigureSink(now)
        fresh = feed_figures(snap, expected, t0, sink)
        mk = market_figures(snap, fresh, sink, step_s=step, lam=ev.ewma_lambda)
        account_figures(snap, mk, fresh, sink, horizon_s=ev.horizon_s)
        book_figures(snap, mk, sink)

    sink0 = FigureSink(now)
    fresh0 = feed_figures(snap, expected, t0, sink0)
    mk0 = market_figures(snap, fresh0, sink0, step_s=step, lam=ev.ewma_lambda)

    def risk_only(s: object = snap) -> None:
        risk_figures(s, mk0, fresh0, FigureSink(now), models, ev)  # type: ignore[arg-type]

    n = 2_000
    print(
        f"default book, {BARS} bars of {step:g} s, {len(first.items)} figures per tick before the first "
        f"refit (flagged), {len(evaluator.evaluate(snap, now, models).items)} after"
    )
    for label, fn in (
        ("snapshot", lambda: st.snapshot(now)),
        ("base stages (figures before this change)", base),
        ("full tick with models (every figure)", lambda: evaluator.evaluate(snap, now, models)),
        ("risk stages alone, 0 bars since refit", risk_only),
    ):
        med, p99 = timed(fn, n)
        print(f"  {label:48s} median {med:7.3f} ms   p99 {p99:7.3f} ms")
    st2 = StateStore(grid_step_s=step, history_points=BARS)
    put_bars(st2, step, t0, marks, 0, BARS + 61)
    later = t0 + int((BARS + 60) * step * S)
    put_book(st2, later, float(marks[BARS + 60]))
    snap2 = st2.snapshot(later)
    med, p99 = timed(lambda: risk_only(snap2), n)
    print(f"  {'risk stages alone, 60 bars since refit':48s} median {med:7.3f} ms   p99 {p99:7.3f} ms")
    print(
        f"  refit (GARCH+OU fit, history, MC {ev.mc_paths} paths x {ev.var_horizon_s / step:g} steps x "
        f"{len(ev.var_confidences)} levels): {refit_s:.3f} s; warm start with 100 MC paths: "
        f"{refit_warm_small_mc_s:.3f} s (off the loop)"
    )

    def full() -> object:
        return evaluator.evaluate(snap, now, models)

    def refit() -> object:
        return refresh_models(snap, ev, models, lps_from_figures(first))

    quiet = asyncio.run(loop_during_refit(full, None, refit_s))
    busy = asyncio.run(loop_during_refit(full, refit, 0.0))
    report_loop("event loop, no refit running", *quiet)
    report_loop("event loop while a refit runs in a thread", *busy)


async def loop_during_refit(
    tick: Callable[[], object], refit: Callable[[], object] | None, seconds: float
) -> tuple[list[float], list[float]]:
    """(tick ms, timer lateness ms) of a 20 ms evaluation loop for `seconds`, with `refit` in a thread."""
    ticks, late = [], []
    job = asyncio.create_task(asyncio.to_thread(refit)) if refit is not None else None
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end or (job is not None and not job.done()):
        want = loop.time() + 0.02
        await asyncio.sleep(0.02)
        late.append((loop.time() - want) * 1e3)
        t = time.perf_counter()
        tick()
        ticks.append((time.perf_counter() - t) * 1e3)
        if job is not None and job.done():
            break
    if job is not None:
        await job
    return ticks, late


def report_loop(label: str, ticks: list[float], late: list[float]) -> None:
    ticks.sort()
    late.sort()
    p99 = int(0.99 * (len(ticks) - 1))
    print(
        f"  {label:48s} tick median {statistics.median(ticks):6.3f} ms p99 {ticks[p99]:6.3f} ms; "
        f"timer late median {statistics.median(late):5.2f} ms p99 {late[p99]:5.2f} ms (n={len(ticks)})"
    )


if __name__ == "__main__":
    main()
