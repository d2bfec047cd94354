"""The daemon's own tick (`Daemon.tick`: snapshot → evaluate → rules → hand-off to the outbox) by book size.

Run: `PYTHONPATH=. .venv/bin/python bench/live_tick.py [--sizes 1x2,50x100] [--ticks 60] [--refit-upto 100]`.
Prints; never asserts (timings depend on the machine; the reference and the live path are timed in
the same run so their ratio is comparable). Targets of issue 13 are printed beside the figures.

What runs is the daemon itself, never a pipeline re-assembled here: a real `Daemon(cfg, secrets,
clock=...)` built from a config of generated venues (Binance for every symbol with its spot books,
Bybit for the symbols its accounts hold), generated accounts (cross, isolated and hedge-mode legs on
Binance, a unified account on Bybit) and config.toml's rules; its `store` filled with records through
`store.put` (4,096-bar mark and spot histories as `BarHistory`, then live marks, book tops, depth);
the outbox and dispatcher on a temporary directory (no collectors, no HTTP, no delivery workers);
then `await daemon.tick()` again and again, every feed moving one second and every mark a random
step between ticks (the collectors' puts are outside the timing). The per-stage split is the
daemon's own (`eval_stats.stages_s`, exported as perpmon_evaluation_stage_duration_seconds).
Then as many frame ticks (`daemon.tick(frame=True)`, monitor/evaluator.py `Evaluator.frame`), each
after one burst of every mark 50 ms on (what `!markPrice@arr` delivers), with their own stages
(`eval_stats.frame_stages_s`): the account stage on the new marks merged into the last full tick.

Models: the tick reads the slow models (GARCH, OU, return history, Monte Carlo) that
monitor/refit.py fits off the loop. Up to `--refit-upto` positions they come from the daemon's own
`refresh_models` (a cold fit, then a warm one, which is timed; the daemon's ModelRefresher spreads
the same jobs over time on its CPU budget, bench/refit_budget.py). Above, a refit takes
minutes (issue 13: 197 s at 600 × 1,000), so one market per venue is fitted and shared by every
symbol, with the real return history and a 100-path Monte Carlo: the tick reads the same fields
either way (its cost does not depend on the fit's values), and the refit is reported as not timed.

The scalar reference: the account stage is also timed by calling `account_reference.account_figures`
(the per-position scalar code the tests keep as the reference) on the same snapshot, with the same
market figures and freshness the tick used; the daemon's own account stage is the columnar
`AccountStage` (monitor/evaluation/account.py), timed inside the tick. Likewise the risk stage's
dynamics and advice: the columnar stages and the per-market / per-leg code they replaced
(tests/unit/evaluation/reference/ref_dynamics.py, ref_advice.py), one after the other on the
same snapshot, models and market figures.

/metrics: `FigureExposition` (what the daemon serves) vs `generate_latest(PerpmonMetrics)` (the
reference collector) on the tick's Figures, alternating two consecutive ticks so values change.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the daemon runs

import argparse
import asyncio
import gc
import math
import statistics
import tempfile
import time
import tomllib
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType
from typing import Any

import msgspec
import numpy as np
from prometheus_client import CollectorRegistry, generate_latest

from monitor.app import Daemon
from monitor.clock import NS_PER_S, ManualClock
from monitor.config import parse_config
from monitor.evaluation.account_reference import account_figures
from monitor.evaluation.advice import advice_figures
from monitor.evaluation.book_mc import lps_from_figures, run_monte_carlo
from monitor.evaluation.dynamics import dynamics_figures
from monitor.evaluation.feeds import feed_figures
from monitor.evaluation.market import market_figures
from monitor.evaluation.models import (
    MarketModel,
    RiskModels,
    book_legs,
    fit_market,
    refresh_models,
    return_history,
)
from monitor.evaluation.sink import FigureSink
from monitor.exposition import FigureExposition
from monitor.metrics import EvaluationStats, PerpmonMetrics
from monitor.notify import Dispatcher, Outbox, build_notifiers
from monitor.records import (
    AccountSnapshot,
    Balance,
    BarHistory,
    BookLevels,
    Bracket,
    Figures,
    FundingInfo,
    LeverageTiers,
    MarkPrice,
    Position,
    Quote,
)
from monitor.store.ring import RingBuffer
from tests.unit.evaluation.reference import advice as ref_advice
from tests.unit.evaluation.reference import dynamics as ref_dynamics

ROOT = Path(__file__).resolve().parents[1]
S = NS_PER_S
T0 = 1_750_000_000 * S
SIZES = ((1, 2), (10, 30), (50, 100), (200, 300), (600, 1_000))
TARGET_MS = {(50, 100): 1.0, (600, 1_000): 5.0}  # tick median, issue 13
BASE_FLOORS = (0, 50_000, 250_000, 1_000_000, 5_000_000, 20_000_000, 50_000_000, 100_000_000)
BASE_MMRS = (0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15)
LEVELS = 20


class BenchClock(ManualClock):
    """`now` moves only when the bench says (a one-second tick); durations are real.

    `cpu`: durations in CPU time of the loop's thread, not wall time: on a box shared with other
    work (the 2-core dev box), wall time mostly measures the wait for a core.
    """

    def __init__(self, start_ns: int, cpu: bool = False) -> None:
        super().__init__(start_ns)
        self._read = time.thread_time_ns if cpu else time.perf_counter_ns

    def monotonic_ns(self) -> int:
        return self._read()


# ---------------------------------------------------------------------------------------------- the book
class Book(msgspec.Struct, kw_only=True):
    symbols: list[str]
    marks: dict[tuple[str, str], float]  # (venue, symbol) → mark, moved every tick
    spot: dict[str, float]  # symbol → spot (Binance)
    tiers: dict[str, tuple[Bracket, ...]]
    accounts: list[tuple[str, str, tuple[Position, ...], float]]  # venue, name, legs, wallet
    venue_symbols: dict[str, list[str]]


def _brackets(rng: np.random.Generator) -> tuple[Bracket, ...]:
    k = int(rng.integers(4, len(BASE_FLOORS) + 1))
    scale = float(rng.choice([0.01, 0.1, 1.0]))
    floors = [f * scale for f in BASE_FLOORS[:k]]
    out, cum = [], 0.0
    for i in range(k):
        if i:
            cum += floors[i] * (BASE_MMRS[i] - BASE_MMRS[i - 1])
        cap = floors[i + 1] if i + 1 < k else floors[i] * 4 + 1e9 * scale
        out.append(
            Bracket(
                floor=floors[i], cap=cap, mmr=BASE_MMRS[i], cum=cum, max_leverage=round(0.5 / BASE_MMRS[i])
            )
        )
    return tuple(out)


def make_book(n_sym: int, n_pos: int, seed: int = 13) -> Book:
    """Positions spread over every symbol first, then at random; a third of the accounts on Bybit."""
    rng = np.random.default_rng(seed)
    symbols = ["BTCUSDT", *(f"S{i:03d}USDT" for i in range(1, n_sym))][:n_sym]
    price = dict(
        zip(symbols, np.exp(rng.uniform(math.log(0.05), math.log(70_000), n_sym)).tolist(), strict=True)
    )
    price["BTCUSDT"] = 65_000.0
    n_acct = min(n_pos, max(3, min(10, n_pos // 100)))
    names = [f"acct{j:02d}" for j in range(n_acct)]
    venue_of = {name: ("bybit" if j % 3 == 2 else "binance") for j, name in enumerate(names)}
    legs: dict[str, list[Position]] = {n: [] for n in names}
    held: set[tuple[str, str, str]] = set()
    placed, i = 0, -1
    while placed < n_pos and i < 100 * n_pos:
        i += 1
        sym = symbols[i % n_sym] if i < n_sym else symbols[int(rng.integers(n_sym))]
        name = names[i % n_acct] if i < n_sym else names[int(rng.integers(n_acct))]
        venue = venue_of[name]
        notional = float(np.exp(rng.uniform(math.log(1e3), math.log(2e6))))
        qty = notional / price[sym] * float(rng.choice([-1.0, 1.0]))
        entry = price[sym] * (1 + float(rng.normal(0, 0.03)))
        isolated = venue == "binance" and i % 7 == 3
        side = "BOTH"
        if venue == "binance" and i % 11 == 5:  # hedge mode: a LONG or a SHORT leg
            side = "LONG" if qty > 0 else "SHORT"
        if (name, sym, side) in held or (
            side == "BOTH" and any((name, sym, s) in held for s in ("LONG", "SHORT"))
        ):
            continue  # one leg per (account, symbol, side); one-way and hedge mode never mixed
        if side != "BOTH" and (name, sym, "BOTH") in held:
            continue
        held.add((name, sym, side))
        placed += 1
        lev = float(rng.uniform(2, 20))
        legs[name].append(
            Position(
                symbol=sym,
                side=side,  # type: ignore[arg-type]
                qty=qty,
                entry_price=entry,
                margin_mode="isolated" if isolated else "cross",
                isolated_wallet=notional / lev if isolated else 0.0,
                leverage=lev,
                venue_mark_price=price[sym],
                venue_liquidation_price=entry * (1 - math.copysign(0.8 / lev, qty)),
            )
        )
    accounts = [
        (venue_of[n], n, tuple(legs[n]), sum(abs(p.qty) * p.entry_price for p in legs[n]) / 6 + 1_000.0)
        for n in names
    ]
    bybit = sorted({p.symbol for v, _, ps, _ in accounts if v == "bybit" for p in ps}) or symbols[:1]
    venue_symbols = {"binance": symbols, "bybit": bybit}
    marks = {
        (v, s): price[s] * (1 + float(rng.normal(0, 3e-4))) for v, ss in venue_symbols.items() for s in ss
    }
    return Book(
        symbols=symbols,
        marks=marks,
        spot={s: price[s] for s in symbols},
        tiers={s: _brackets(rng) for s in symbols},
        accounts=accounts,
        venue_symbols=venue_symbols,
    )


def make_config(book: Book, state_dir: str) -> tuple[Any, Any]:
    """config.toml's evaluation and rules; the generated venues, accounts and one custody holding."""
    shipped = tomllib.loads((ROOT / "config.toml").read_text())
    env: dict[str, str] = {}
    accounts = []
    for venue, name, _, _ in book.accounts:
        accounts.append(
            {
                "name": name,
                "venue": venue,
                "api_key_env": f"K_{name.upper()}",
                "api_secret_env": f"S_{name.upper()}",
            }
        )
        env[f"K_{name.upper()}"], env[f"S_{name.upper()}"] = "k", "s"
    data = {
        "state_dir": state_dir,
        "http": {"port": 0},
        "evaluation": shipped["evaluation"],
        "rules": shipped["rules"],
        "receivers": [{"name": "console", "type": "console"}],
        "venues": [
            {
                "name": "binance",
                "kind": "binanceusdm",
                "symbols": book.venue_symbols["binance"],
                "spot_symbols": book.symbols,
                "stale_after_s": 10.0,
            },
            {"name": "bybit", "kind": "bybit", "symbols": book.venue_symbols["bybit"], "stale_after_s": 10.0},
        ],
        "accounts": accounts,
        "holdings": [
            {
                "name": "custody",
                "asset": "BTC",
                "quantity": 50.0,
                "price_venue": "binance",
                "price_symbol": "BTCUSDT",
            }
        ],
    }
    return parse_config(data, env)


def fill_history(d: Daemon, book: Book, rng: np.random.Generator) -> None:
    """`history_points` bars of marks (and spot on Binance) ending one bucket before the first tick."""
    ev = d.cfg.evaluation
    step = round(ev.volatility_sample_s * S)
    n = ev.history_points
    opens = tuple(range(T0 - n * step, T0, step))
    for (venue, sym), mark in book.marks.items():
        path = mark * np.exp(np.cumsum(rng.standard_t(4, n)[::-1] * 2e-3))[::-1]
        d.store.put(
            BarHistory(
                venue=venue,
                ts_event_ns=T0,
                ts_recv_ns=T0,
                symbol=sym,
                series="mark",
                interval_s=ev.volatility_sample_s,
                opens_ns=opens,
                closes=tuple(path.tolist()),
            )
        )
        if venue == "binance":
            spot = path * (1 + rng.normal(0, 2e-4, n))
            d.store.put(
                BarHistory(
                    venue=venue,
                    ts_event_ns=T0,
                    ts_recv_ns=T0,
                    symbol=sym,
                    series="spot",
                    interval_s=ev.volatility_sample_s,
                    opens_ns=opens,
                    closes=tuple(spot.tolist()),
                )
            )


def put_static(d: Daemon, book: Book, t: int) -> None:
    for venue, ss in book.venue_symbols.items():
        for sym in ss:
            d.store.put(
                FundingInfo(venue=venue, symbol=sym, ts_event_ns=t, ts_recv_ns=t, interval_s=8 * 3600.0)
            )
    for venue, name, legs, _ in book.accounts:
        for sym in sorted({p.symbol for p in legs}):
            d.store.put(
                LeverageTiers(
                    venue=venue,
                    account=name,
                    symbol=sym,
                    ts_event_ns=t,
                    ts_recv_ns=t,
                    brackets=book.tiers[sym],
                )
            )
    put_accounts(d, book, t)


def put_accounts(d: Daemon, book: Book, t: int) -> None:
    for venue, name, legs, wallet in book.accounts:
        d.store.put(
            AccountSnapshot(
                venue=venue,
                account=name,
                ts_event_ns=t,
                ts_recv_ns=t,
                positions=legs,
                balances=(Balance(asset="USDT", wallet_balance=wallet, cross_wallet_balance=wallet),),
            )
        )


def put_market(d: Daemon, book: Book, t: int, rng: np.random.Generator, marks_only: bool = False) -> None:
    """What the collectors put in one second: a moved mark, book tops and depth per (venue, symbol).

    `marks_only`: the marks alone, as one `!markPrice@arr` burst (what wakes a frame tick).
    """
    keys = list(book.marks)
    steps = np.exp(rng.normal(0, 1e-3, len(keys)))
    for (venue, sym), k in zip(keys, steps.tolist(), strict=True):
        m = book.marks[(venue, sym)] = book.marks[(venue, sym)] * k
        d.store.put(
            MarkPrice(
                venue=venue,
                symbol=sym,
                ts_event_ns=t,
                ts_recv_ns=t,
                mark=m,
                index=m * 0.9999,
                funding_rate=1e-4,
                next_funding_ns=T0 + 10**15,
            )
        )
        if marks_only:
            continue
        tick = m * 1e-4
        d.store.put(
            Quote(
                venue=venue,
                symbol=sym,
                market="perp",
                ts_event_ns=t,
                ts_recv_ns=t,
                bid=m - tick,
                bid_size=5.0,
                ask=m + tick,
                ask_size=5.0,
            )
        )
        px = (
            tuple(m - tick * (i + 1) for i in range(LEVELS)),
            tuple(m + tick * (i + 1) for i in range(LEVELS)),
        )
        qty = tuple(float(2 + i) for i in range(LEVELS))
        d.store.put(
            BookLevels(
                venue=venue,
                symbol=sym,
                market="perp",
                ts_event_ns=t,
                ts_recv_ns=t,
                bid_px=px[0],
                bid_qty=qty,
                ask_px=px[1],
                ask_qty=qty,
            )
        )
        if venue == "binance":
            s = m * 1.0001
            d.store.put(
                Quote(
                    venue=venue,
                    symbol=sym,
                    market="spot",
                    ts_event_ns=t,
                    ts_recv_ns=t,
                    bid=s - tick,
                    bid_size=5.0,
                    ask=s + tick,
                    ask_size=5.0,
                )
            )
    if not marks_only:
        put_accounts(d, book, t)  # the account stream's reconcile: a fresh snapshot each second


def put_one_mark(d: Daemon, book: Book, key: tuple[str, str], t: int) -> None:
    """One market's mark moved a little: a single-symbol frame."""
    venue, sym = key
    m = book.marks[key] = book.marks[key] * 1.0002
    d.store.put(
        MarkPrice(
            venue=venue,
            symbol=sym,
            ts_event_ns=t,
            ts_recv_ns=t,
            mark=m,
            index=m * 0.9999,
            funding_rate=1e-4,
            next_funding_ns=T0 + 10**15,
        )
    )


# ---------------------------------------------------------------------------------------------- models
def shared_models(d: Daemon, now: int, figs: Figures | None) -> RiskModels:
    """One fitted market per venue shared by every symbol; the real return history and Monte Carlo."""
    ev = d.cfg.evaluation
    snap = d.store.snapshot(now)
    proto: dict[str, MarketModel] = {}
    for key, grid in snap.mark_grid.items():
        if key[0] not in proto:
            proto[key[0]] = fit_market(
                grid, snap.spot_grid.get(key), ev.volatility_sample_s, ev.garch_min_obs, None
            )
    fitted = {key: proto[key[0]] for key in snap.mark_grid}
    frozen = MappingProxyType(fitted)
    steps = max(1, round(ev.var_horizon_s / ev.volatility_sample_s))
    history = return_history(snap, book_legs(snap), ev.volatility_sample_s, ev.history_points, steps)
    mc = run_monte_carlo(snap, msgspec.structs.replace(ev, mc_paths=100), frozen, lps_from_figures(figs))
    return RiskModels(fitted_at_ns=now, step_s=ev.volatility_sample_s, markets=frozen, history=history, mc=mc)


# ---------------------------------------------------------------------------------------------- timing
def pct(xs: list[float], q: float) -> float:
    s = sorted(xs)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]


def timed(fn: Callable[[], object], n: int, clock: BenchClock) -> list[float]:
    out = []
    for _ in range(n):
        t = clock.monotonic_ns()
        fn()
        out.append((clock.monotonic_ns() - t) / 1e6)
    return out


async def bench_size(
    n_sym: int, n_pos: int, ticks: int, refit_upto: int, cpu: bool, settle: bool = True
) -> None:
    rng = np.random.default_rng(n_sym * 7919 + n_pos)
    book = make_book(n_sym, n_pos)
    with tempfile.TemporaryDirectory() as tmp:
        cfg, secrets = make_config(book, tmp)
        clock = BenchClock(start_ns=T0, cpu=cpu)
        d = Daemon(cfg, secrets, clock=clock)
        d.outbox = Outbox(Path(tmp) / "outbox.sqlite3")
        notifiers = build_notifiers(cfg.receivers, secrets.receiver_urls, clock=clock)
        d.dispatcher = Dispatcher(cfg.receivers, notifiers, d.outbox, clock, secrets=secrets.all())
        t_setup = time.perf_counter()
        fill_history(d, book, rng)
        put_static(d, book, T0)
        put_market(d, book, T0, rng)
        setup_s = time.perf_counter() - t_setup
        await d.tick()  # the first tick: shapes, held streams, LPs for the Monte Carlo
        refit = "not timed (minutes at this size; see the docstring)"
        if n_pos <= refit_upto:  # every model at once, no budget: the reference the refitter spreads out
            snap, ev, lps = d.store.snapshot(clock.now_ns()), d.cfg.evaluation, lps_from_figures(d.latest)
            cold = refresh_models(snap, ev, d.refresher.models, lps)
            t = time.perf_counter()
            d.refresher.models = refresh_models(snap, ev, cold, lps)  # warm: what every refit_s costs
            refit = f"{time.perf_counter() - t:.2f} s (refresh_models, warm, all at once)"
        else:
            d.refresher.models = shared_models(d, clock.now_ns(), d.latest)
        n_legs = sum(len(a[2]) for a in book.accounts)
        print(
            f"\n== {n_sym} symbols × {n_legs} positions ({len(book.accounts)} accounts; "
            f"{sum(len(v) for v in book.venue_symbols.values())} markets; setup {setup_s:.1f} s)"
        )

        totals: list[float] = []
        stages: dict[str, list[float]] = {}
        for _ in range(3):  # warm-up, then the heap settled as the daemon's loop does after its first ticks
            clock.advance(1.0)
            put_market(d, book, clock.now_ns(), rng)
            await d.tick()
        if settle:
            d.settle_heap()
        else:
            gc.collect()
        cow = RingBuffer.copies_on_write
        for _ in range(ticks):
            clock.advance(1.0)
            put_market(d, book, clock.now_ns(), rng)
            t = clock.monotonic_ns()
            await d.tick()
            totals.append((clock.monotonic_ns() - t) / 1e6)
            for k, v in d.eval_stats.stages_s.items():
                stages.setdefault(k, []).append(v * 1e3)
        cow = RingBuffer.copies_on_write - cow
        figs = d.latest
        assert figs is not None
        nan: dict[str, int] = {}
        for f in figs.items.values():
            if not f.available:
                nan[f.reason.split(":")[0]] = nan.get(f.reason.split(":")[0], 0) + 1
        top = ", ".join(f"{r or '?'} {n}" for r, n in sorted(nan.items(), key=lambda x: -x[1])[:4])
        med = statistics.median(totals)
        target = TARGET_MS.get((n_sym, n_pos))
        tgt = f"   target ≤ {target:g} ms median: {'met' if med <= target else 'NOT met'}" if target else ""
        print(
            f"tick (Daemon.tick)      median {med:8.2f} ms   p99 {pct(totals, 0.99):8.2f} ms   "
            f"({ticks} ticks, {len(figs.items):,} figures){tgt}"
        )
        print(f"  figures NaN: {sum(nan.values()):,} ({top or 'none'})")
        print(
            "  perpmon_evaluation_duration_seconds of the last tick: "
            f"{d.eval_stats.last_duration_s * 1e3:.2f} ms"
        )
        ev_sum = [
            sum(v[i] for k, v in stages.items() if k not in ("snapshot", "rules", "handoff"))
            for i in range(ticks)
        ]
        for k, v in stages.items():
            print(f"  {k:22s} median {statistics.median(v):8.2f} ms   p99 {pct(v, 0.99):8.2f} ms")
            if k == "join":
                print(f"  {'(evaluate: sum)':22s} median {statistics.median(ev_sum):8.2f} ms")

        # frame ticks (Evaluator.frame): every mark moved in one burst, the account stage redone on them
        frame_totals: list[float] = []
        frame_stages: dict[str, list[float]] = {}
        kinds = dict(d.eval_stats.kinds)
        for _ in range(ticks):
            clock.advance(0.05)
            put_market(d, book, clock.now_ns(), rng, marks_only=True)
            t = clock.monotonic_ns()
            await d.tick(frame=True)
            frame_totals.append((clock.monotonic_ns() - t) / 1e6)
            for k, v in d.eval_stats.frame_stages_s.items():
                frame_stages.setdefault(k, []).append(v * 1e3)
        ran = d.eval_stats.kinds["frame"] - kinds["frame"]
        print(
            f"frame tick (Daemon.tick(frame=True)) median {statistics.median(frame_totals):8.2f} ms   "
            f"p99 {pct(frame_totals, 0.99):8.2f} ms   ({ran} of {ticks} ran as frame ticks)"
        )
        for k, v in frame_stages.items():
            print(f"  {k:22s} median {statistics.median(v):8.2f} ms   p99 {pct(v, 0.99):8.2f} ms")
        # one symbol's mark per frame (a Bybit message, a wick): only its holders' accounts are computed
        one_totals, one_acc, recomputed = [], [], []
        keys = list(book.marks)
        for _ in range(ticks):
            clock.advance(0.002)
            put_one_mark(d, book, keys[int(rng.integers(len(keys)))], clock.now_ns())
            t = clock.monotonic_ns()
            await d.tick(frame=True)
            one_totals.append((clock.monotonic_ns() - t) / 1e6)
            one_acc.append(d.eval_stats.frame_stages_s.get("account", math.nan) * 1e3)
            recomputed.append(getattr(d.evaluator._accounts, "recomputed", -1))  # -1 on main: all
        print(
            f"frame tick, one mark moved  median {statistics.median(one_totals):8.2f} ms   "
            f"p99 {pct(one_totals, 0.99):8.2f} ms   "
            f"(account stage median {statistics.median(one_acc):.2f} ms; "
            f"accounts computed again: median {statistics.median(recomputed):g} of {len(book.accounts)}, "
            "−1 = all)"
        )

        # the scalar reference of the account stage, on the same snapshot with the same inputs
        now = clock.now_ns()
        snap = d.store.snapshot(now)
        ev = d.evaluator
        scratch = FigureSink(now)
        fresh = feed_figures(snap, ev._expected_now, ev._started_ns or now, scratch, ev._held.since_ns)
        markets = market_figures(
            snap, fresh, scratch, step_s=cfg.evaluation.volatility_sample_s, lam=cfg.evaluation.ewma_lambda
        )
        ref = timed(
            lambda: account_figures(
                snap,
                markets,
                fresh,
                FigureSink(now),
                horizon_s=cfg.evaluation.horizon_s,
                bybit_venues=ev._bybit,
            ),
            max(5, ticks // 4),
            clock,
        )
        print(
            f"  account, scalar reference (account_figures) median {statistics.median(ref):8.2f} ms   "
            f"p99 {pct(ref, 0.99):8.2f} ms"
        )
        # the risk stage's per-market and per-leg reference beside the columnar stages, same snapshot
        fits, step = d.refresher.models, cfg.evaluation.volatility_sample_s
        garch = dynamics_figures(snap, fits, fresh, FigureSink(now), step_s=step)
        kw: dict[str, Any] = dict(target_vol=cfg.evaluation.target_vol, shock=cfg.evaluation.shock)
        kw["bybit_venues"] = ev._bybit
        for stage, live_fn, ref_fn in (
            (
                "dynamics",
                lambda: dynamics_figures(snap, fits, fresh, FigureSink(now), step_s=step),
                lambda: ref_dynamics.dynamics_figures(snap, fits, fresh, FigureSink(now), step_s=step),
            ),
            (
                "advice",
                lambda: advice_figures(snap, markets, garch, FigureSink(now), **kw),
                lambda: ref_advice.advice_figures(snap, markets, garch, FigureSink(now), **kw),
            ),
        ):
            t_cols = timed(live_fn, max(5, ticks // 4), clock)
            t_rows = timed(ref_fn, max(5, ticks // 4), clock)
            print(
                f"  risk: {stage:8s} columnar median {statistics.median(t_cols):8.2f} ms   "
                f"per-leg reference median {statistics.median(t_rows):8.2f} ms"
            )
        snaps = timed(lambda: d.store.snapshot(now), max(5, ticks // 4), clock)
        print(
            f"  StateStore.snapshot alone, nothing put since: median {statistics.median(snaps):.2f} ms; "
            f"rings copied on write in the timed ticks' puts: {cow} (a view still held when written)"
        )

        # /metrics: what the daemon serves vs the reference collector, on two consecutive ticks' figures
        prev = figs
        clock.advance(1.0)
        put_market(d, book, clock.now_ns(), rng)
        await d.tick()
        pair = [prev, d.latest]
        expo = FigureExposition()
        k = [0]

        def nxt() -> Figures:
            k[0] ^= 1
            f = pair[k[0]]
            assert f is not None
            return f

        fast = timed(lambda: expo.render(nxt()), 10, clock)
        reg = CollectorRegistry()
        cur: list[Figures | None] = [None]
        reg.register(
            PerpmonMetrics(
                figures=lambda: cur[0],
                collectors=[],
                evaluation=EvaluationStats(),
                delivery=lambda: [],
                firing=lambda: [],
                started_ns=T0,
                version="bench",
            )
        )

        def ref_scrape() -> bytes:
            cur[0] = nxt()
            return generate_latest(reg)

        n_ref = 3 if len(figs.items) > 20_000 else 6
        slow = timed(ref_scrape, n_ref, clock)
        series = 2 * len(figs.items) + sum(1 for f in figs.items.values() if not f.available)
        print(
            f"/metrics figure part, {series:,} series: FigureExposition median "
            f"{statistics.median(fast):.1f} ms (p99 {pct(fast, 0.99):.1f}), "
            f"generate_latest(PerpmonMetrics) median {statistics.median(slow):.1f} ms"
        )
        print(f"refit: {refit}")
        d.outbox.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default=",".join(f"{s}x{p}" for s, p in SIZES))
    ap.add_argument("--ticks", type=int, default=60)
    ap.add_argument("--cpu", action="store_true", help="CPU time of the loop's thread instead of wall time")
    ap.add_argument(
        "--refit-upto", type=int, default=30, help="time the real refit up to this many positions"
    )
    ap.add_argument(
        "--no-settle", action="store_true", help="skip Daemon.settle_heap (gc.freeze) after the warm-up ticks"
    )
    a = ap.parse_args()
    sizes = [tuple(int(x) for x in s.split("x")) for s in a.sizes.split(",")]
    print(
        "bench/live_tick.py: Daemon.tick on generated books; targets 50 × 100 ≤ 1 ms, 600 × 1,000 ≤ 5 ms; "
        + ("CPU time of the loop thread" if a.cpu else "wall time")
    )
    for n_sym, n_pos in sizes:
        asyncio.run(bench_size(n_sym, n_pos, a.ticks, a.refit_upto, a.cpu, not a.no_settle))


if __name__ == "__main__":
    main()
