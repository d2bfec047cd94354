"""The account stage: the per-leg reference vs the columnar stage the daemon runs, on generated books.

Run: `.venv/bin/python bench/account_stage.py`. Prints medians (ms); no asserts. Books: N symbols,
P positions (one position per symbol and account, one-way, cross, a tenth isolated; where an account
holds more positions than there are symbols, the rest are hedge pairs, LONG and SHORT of one symbol;
every mark live and fresh, tiers for every symbol, the venue's marks and LPs beside ours), held by
one account or spread over ten; half the accounts
on Bybit's model where there are several. For the columnar stage the tick is split into compute
(`account._compute`: every number and reason) and emit (one `FigureSink.add` per figure, which the
columnar-Figures work removes); the book's columns are built once and reused, as tick after tick
in the daemon; their first build, and the tick after one account's record changed (tier tables
kept), are printed apart. The reference is `account_reference`.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the daemon runs

import dataclasses
import statistics
import time
from collections.abc import Callable
from types import MappingProxyType
from typing import Any

import msgspec
import numpy as np

from monitor.evaluation import account as columnar
from monitor.evaluation import account_reference
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.records import AccountSnapshot, Balance, Bracket, LeverageTiers, Position
from monitor.store.state import Snapshot

FLOORS = [0, 50_000, 250_000, 1_000_000, 5_000_000, 20_000_000, 50_000_000, 100_000_000]
MMRS = [0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15]
EMPTY: MappingProxyType[Any, Any] = MappingProxyType({})
HORIZON_S = 86_400.0


def tiers(rng: np.random.Generator) -> tuple[Bracket, ...]:
    k = int(rng.integers(5, len(FLOORS) + 1))
    scale = float(rng.choice([0.01, 0.1, 1.0]))
    floors = [f * scale for f in FLOORS[:k]]
    cums = [0.0]
    for i in range(1, k):
        cums.append(cums[-1] + floors[i] * (MMRS[i] - MMRS[i - 1]))
    caps = [*floors[1:], floors[-1] * 10]
    return tuple(
        Bracket(floor=f, cap=c, mmr=m, cum=u, max_leverage=1 / m)
        for f, c, m, u in zip(floors, caps, MMRS[:k], cums, strict=True)
    )


def book(
    n_sym: int, n_pos: int, n_acct: int, seed: int = 1
) -> tuple[Snapshot, dict[Any, MarketView], dict[Any, bool], frozenset[str]]:
    rng = np.random.default_rng(seed)
    venues = ["bin", "byb"] if n_acct > 1 else ["bin"]
    mark = np.exp(rng.uniform(np.log(0.05), np.log(70_000), n_sym))
    markets = {
        (v, f"S{s}"): MarketView(float(mark[s]), True, 0.6, 1e-4, 8.0) for v in venues for s in range(n_sym)
    }
    accounts, tier_recs, fresh = {}, {}, {}
    per = [n_pos // n_acct + (a < n_pos % n_acct) for a in range(n_acct)]
    for a, n in enumerate(per):
        venue, name = venues[a % len(venues)], f"a{a}"
        fresh[(venue, f"account:{name}")] = True
        # one position per symbol, one-way; past the symbols, the rest are hedge pairs (LONG and SHORT)
        one = n if n <= n_sym else 2 * n_sym - n
        syms = rng.choice(n_sym, size=min(n, n_sym), replace=False).tolist()
        legs = []
        for k, s in enumerate(syms):
            m = float(mark[s])
            notional = float(np.exp(rng.uniform(np.log(1e3), np.log(2e6))))
            q = notional / m * float(rng.choice([-1.0, 1.0]))
            iso = k < one and rng.random() < 0.1
            sides = (
                [("BOTH", q)]
                if k < one
                else [("LONG", abs(q)), ("SHORT", -abs(q) * float(rng.uniform(0.3, 1.5)))]
            )
            for side, qq in sides:
                legs.append(
                    Position(
                        symbol=f"S{s}",
                        side=side,  # type: ignore[arg-type]
                        qty=qq,
                        entry_price=m * (1 + float(rng.normal(0, 0.03))),
                        margin_mode="isolated" if iso else "cross",
                        isolated_wallet=notional / float(rng.uniform(2, 50)) if iso else 0.0,
                        venue_mark_price=m,
                        venue_liquidation_price=m * 0.8,
                    )
                )
            tier_recs[(venue, name, f"S{s}")] = LeverageTiers(
                venue=venue, account=name, symbol=f"S{s}", ts_event_ns=0, ts_recv_ns=0, brackets=tiers(rng)
            )
        wallet = sum(abs(p.qty) * mark[int(p.symbol[1:])] for p in legs) / 5
        accounts[(venue, name)] = AccountSnapshot(
            venue=venue,
            account=name,
            ts_event_ns=0,
            ts_recv_ns=0,
            positions=tuple(legs),
            balances=(Balance(asset="USDT", wallet_balance=wallet, cross_wallet_balance=wallet),),
        )
    snap = Snapshot(
        taken_at_ns=0, marks=EMPTY, quotes=EMPTY, funding=EMPTY, tiers=MappingProxyType(tier_recs),
        accounts=MappingProxyType(accounts), holdings=EMPTY, gone=EMPTY, feeds=EMPTY, mark_grid=EMPTY,
    )  # fmt: skip
    return snap, markets, fresh, frozenset({"byb"})


def reference(
    snap: Snapshot, markets: dict[Any, MarketView], fresh: dict[Any, bool], bybit: frozenset[str]
) -> None:
    account_reference.account_figures(
        snap, markets, fresh, FigureSink(0), horizon_s=HORIZON_S, bybit_venues=bybit
    )


def median_ms(fn: Callable[[], object], rounds: int) -> float:
    fn()
    xs = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        xs.append(time.perf_counter() - t)
    return statistics.median(xs) * 1e3


def main() -> None:
    head = f"{'symbols x positions (accounts)':32s} {'figures':>8s} {'reference':>10s} {'columnar':>9s} "
    print(head + f"{'compute':>8s} {'emit':>7s} {'first build':>11s} {'after update':>14s}  (medians, ms)")
    for n_sym, n_pos, n_acct in ((1, 2, 1), (50, 100, 1), (50, 100, 10), (600, 1_000, 1), (600, 1_000, 10)):
        snap, markets, fresh, bybit = book(n_sym, n_pos, n_acct)
        big = n_pos >= 1_000
        stage = columnar.AccountStage(bybit)
        t = time.perf_counter()
        stage(snap, markets, fresh, FigureSink(0), horizon_s=HORIZON_S)
        first = (time.perf_counter() - t) * 1e3
        sink = FigureSink(0)
        stage(snap, markets, fresh, sink, horizon_s=HORIZON_S)
        ref = median_ms(lambda: reference(snap, markets, fresh, bybit), 3 if big else 30)  # noqa: B023
        full = median_ms(lambda: stage(snap, markets, fresh, FigureSink(0), horizon_s=HORIZON_S), 200)  # noqa: B023
        bk = stage._book
        assert bk is not None
        compute = median_ms(lambda: columnar._compute(bk, markets, fresh, HORIZON_S), 200)  # noqa: B023
        # an account update (a fill, a funding payment): one account's record replaced, tiers unchanged
        key = next(iter(snap.accounts))
        accts = dict(snap.accounts)
        accts[key] = msgspec.structs.replace(accts[key], ts_event_ns=1)
        upd = dataclasses.replace(snap, accounts=MappingProxyType(accts))
        t = time.perf_counter()
        stage(upd, markets, fresh, FigureSink(0), horizon_s=HORIZON_S)
        update = (time.perf_counter() - t) * 1e3
        print(
            f"{f'{n_sym} x {n_pos:,} ({n_acct})':32s} {len(sink.items):8,d} {ref:10.2f} {full:9.2f} "
            f"{compute:8.2f} {full - compute:7.2f} {first:11.2f} {update:14.2f}"
        )


if __name__ == "__main__":
    main()
