"""The slow models on their CPU budget at desk scale: 600 symbols, 1,000 positions, real fits.

Run: `.venv/bin/python bench/refit_budget.py [--seconds 480] [--budget 0.25] [--horizon-s 86400]`.
Prints; no asserts. The store holds 4,096 one-minute bars per symbol (mark and spot, from a
one-factor GARCH(1,1)-t path with an AR(1) basis, generated), the last mark and spot quote, and
ten cross accounts holding 1,000 perpetual positions over the 600 symbols. The daemon's own
`ModelRefresher` runs on it (LiveClock, worker thread, `[evaluation]` defaults unless overridden:
refit_s 300, 60 s bars, a one-day VaR horizon = 1,440 Monte Carlo steps) while the event loop is
otherwise idle, so the process's CPU time is the refits' (plus a little loop). Printed every 30 s
and at the end: markets fitted, book runs, the CPU share (process CPU / wall, and the refits' own
thread CPU / wall), the Monte Carlo size the budget chose, the planned round, and when every
symbol had its first fit. The old behaviour for comparison: `refresh_models` once, all at once.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the daemon runs

import argparse
import asyncio
import time

import msgspec
import numpy as np

from monitor.clock import LiveClock
from monitor.config import EvaluationConfig
from monitor.records import AccountSnapshot, Balance, BarHistory, MarkPrice, Position, Quote
from monitor.refit import ModelRefresher
from monitor.store.state import StateStore

S = 1_000_000_000
N_SYMBOLS, N_POSITIONS, N_ACCOUNTS, BARS, STEP_S = 600, 1_000, 10, 4_096, 60.0


def paths(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(marks, spots) of shape (BARS + 1, N): one-factor GARCH(1,1)-t returns, AR(1) basis in bps."""
    n = N_SYMBOLS
    beta = rng.uniform(0.5, 1.5, n)
    omega, alpha, persist = (
        2e-7 * rng.uniform(0.5, 2, n),
        rng.uniform(0.03, 0.12, n),
        rng.uniform(0.95, 0.99, n),
    )
    b = persist - alpha
    s2 = omega / (1 - persist)
    r = np.empty((BARS, n))
    for t in range(BARS):
        z = 0.6 * beta * rng.standard_normal() + 0.8 * rng.standard_t(5, n) * np.sqrt(3 / 5)
        r[t] = np.sqrt(s2) * z / np.sqrt(0.36 * beta**2 + 0.64)
        s2 = omega + alpha * r[t] ** 2 + b * s2
    start = rng.uniform(0.05, 60_000, n)
    marks = start * np.exp(np.vstack([np.zeros(n), np.cumsum(r, axis=0)]))
    basis = np.zeros((BARS + 1, n))
    for t in range(1, BARS + 1):
        basis[t] = 0.9 * basis[t - 1] + rng.normal(0, 2e-4, n)
    return marks, marks * (1 + basis)


def build(now: int) -> tuple[StateStore, int]:
    rng = np.random.default_rng(7)
    st = StateStore(grid_step_s=STEP_S, history_points=BARS)
    marks, spots = paths(rng)
    step = int(STEP_S * S)
    t0 = now - BARS * step
    opens = tuple(t0 + k * step for k in range(BARS))
    symbols = [f"S{i:03d}USDT" for i in range(N_SYMBOLS)]
    for j, sym in enumerate(symbols):
        for series, px in (("mark", marks), ("spot", spots)):
            closes = tuple(float(x) for x in px[:BARS, j])
            bars = BarHistory(
                venue="binance",
                ts_event_ns=now,
                ts_recv_ns=now,
                symbol=sym,
                series=series,  # type: ignore[arg-type]
                interval_s=STEP_S,
                opens_ns=opens,
                closes=closes,
            )
            st.put(bars)
        m = float(marks[BARS, j])
        st.put(MarkPrice(venue="binance", symbol=sym, ts_event_ns=now, ts_recv_ns=now, mark=m, index=m,
                         funding_rate=1e-4, next_funding_ns=now + 8 * 3600 * S))  # fmt: skip
        s = float(spots[BARS, j])
        st.put(Quote(venue="binance", symbol=sym, market="spot", ts_event_ns=now, ts_recv_ns=now,
                     bid=s * 0.9999, bid_size=10.0, ask=s * 1.0001, ask_size=10.0))  # fmt: skip
    per = N_POSITIONS // N_ACCOUNTS
    for a in range(N_ACCOUNTS):
        pos = []
        for i in range(per):
            j = (a * per + i) % N_SYMBOLS  # 1,000 legs over 600 symbols: some symbols held twice
            px = float(marks[BARS, j])
            pos.append(Position(symbol=symbols[j], side="BOTH", qty=float(rng.choice([-1, 1])) * 20_000 / px,
                                entry_price=px, margin_mode="cross"))  # fmt: skip
        st.put(AccountSnapshot(venue="binance", account=f"acct{a}", ts_event_ns=now, ts_recv_ns=now,
                               positions=tuple(pos), balances=(Balance(asset="USDT", wallet_balance=5e6,
                               cross_wallet_balance=5e6),)))  # fmt: skip
    return st, N_SYMBOLS


async def run(ev: EvaluationConfig, seconds: float) -> None:
    clock = LiveClock()
    st, n = build(clock.now_ns())
    ref = ModelRefresher(clock, st.snapshot, lambda: None, lambda: ev)
    task = asyncio.create_task(ref.run())
    w0, c0 = time.perf_counter(), time.process_time()
    all_fitted_at = None
    next_print = 30.0
    try:
        while (el := time.perf_counter() - w0) < seconds:
            await asyncio.sleep(0.5)
            if all_fitted_at is None and len(ref.models.markets) >= n:
                all_fitted_at = el
                print(f"  every symbol had its first fit after {el:.1f} s")
            if el >= next_print:
                next_print += 30.0
                report(ref, el, time.process_time() - c0, ev)
    finally:
        task.cancel()
    el = time.perf_counter() - w0
    print("end:")
    report(ref, el, time.process_time() - c0, ev)
    print(f"  first fit of all {n} symbols: {all_fitted_at:.1f} s" if all_fitted_at else "  not all fitted")


def report(ref: ModelRefresher, wall: float, cpu: float, ev: EvaluationConfig) -> None:
    mc = ref.models.mc
    b = ref.models.budget
    print(
        f"  t={wall:6.0f} s  markets fitted {ref.market_fits:5d}  book runs {ref.book_fits}  "
        f"CPU share: process {cpu / wall:6.1%}, refit threads {ref.cpu_s / wall:6.1%} "
        f"(budget {ev.model_cpu_budget:.0%}, last minute {b.cpu_share:.1%})  "
        f"MC {mc.n_paths} paths x {mc.steps} steps {mc.note or mc.reason or 'ok'}  "
        f"planned round {b.round_s:.0f} s  errors {ref.errors}"
    )
    se = {a: r.var_se for a, r in mc.results.items()}
    var = {a: r.var for a, r in mc.results.items()}
    if var:
        print("    MC VaR " + ", ".join(f"{a:g}: {var[a]:,.0f} ± {se[a]:,.0f} USD" for a in var))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=480.0)
    ap.add_argument("--budget", type=float, default=0.25)
    ap.add_argument("--horizon-s", type=float, default=86_400.0)
    ap.add_argument("--refit-s", type=float, default=300.0)
    args = ap.parse_args()
    ev = msgspec.structs.replace(
        EvaluationConfig(), model_cpu_budget=args.budget, var_horizon_s=args.horizon_s, refit_s=args.refit_s
    )
    print(
        f"{N_SYMBOLS} symbols x {N_POSITIONS} positions, {BARS} bars of {STEP_S:g} s, budget "
        f"{args.budget:.0%} of a core, refit_s {args.refit_s:g}, VaR horizon {args.horizon_s:g} s"
    )
    asyncio.run(run(ev, args.seconds))


if __name__ == "__main__":
    main()
