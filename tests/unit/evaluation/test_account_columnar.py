"""The columnar account stage emits exactly what the per-leg reference emits, on generated books.

`account.AccountStage` (the daemon's path) prices every position of every account at once;
`account_reference.account_figures` prices them one at a time and is the specification. The books
are generated to reach every branch: several accounts on Binance's and on Bybit's model, cross,
isolated and hedge legs, NaN and missing marks, stale marks, missing and malformed tiers, tiers
with an inconsistent cum, wallets at or below zero (margin ratio +inf), NaN wallets, legs priced
from the venue's account data, legs with nothing usable, zero quantities, and venue LPs beside
ours. Every figure must be there in both, in the same order, with the same freshness and reason,
and values equal to 1e-12 relative (NaN where NaN, ±inf where ±inf).
"""

from __future__ import annotations

import dataclasses
import math
from types import MappingProxyType
from typing import Any

import msgspec
import numpy as np
import pytest

from monitor.evaluation import account_reference
from monitor.evaluation.account import AccountStage, account_figures
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.records import AccountSnapshot, Balance, Bracket, LeverageTiers, Position
from monitor.store.state import Snapshot

FLOORS = [0, 50_000, 250_000, 1_000_000, 5_000_000, 20_000_000, 50_000_000, 100_000_000]
MMRS = [0.004, 0.005, 0.01, 0.025, 0.05, 0.10, 0.125, 0.15]
EMPTY: MappingProxyType[Any, Any] = MappingProxyType({})


def _tiers(rng: np.random.Generator) -> tuple[Bracket, ...]:
    k = int(rng.integers(1, len(FLOORS) + 1))
    scale = float(rng.choice([0.01, 0.1, 1.0]))
    floors = [f * scale for f in FLOORS[:k]]
    cums = [0.0]
    for i in range(1, k):
        cums.append(cums[-1] + floors[i] * (MMRS[i] - MMRS[i - 1]))
    kind = rng.random()
    if kind < 0.08 and k > 1:  # a published cum that disagrees with the recursion: MM jumps
        cums[-1] *= 1.3
    caps = [*floors[1:], floors[-1] * 10 + 1e6]
    if kind > 0.96 and k > 2:  # a gap: the padded table drops the row, the reference prices from it
        caps[0] = floors[1] * 0.9
    return tuple(
        Bracket(floor=f, cap=c, mmr=m, cum=u, max_leverage=1 / m)
        for f, c, m, u in zip(floors, caps, MMRS[:k], cums, strict=True)
    )


def _book(
    rng: np.random.Generator, n_sym: int, n_acct: int, n_legs: int
) -> tuple[Snapshot, dict[tuple[str, str], MarketView], dict[tuple[str, str], bool]]:
    venues = ("bin", "byb")
    marks = {
        (v, f"S{s}"): float(np.exp(rng.uniform(np.log(0.05), np.log(70_000))))
        for v in venues
        for s in range(n_sym)
    }
    markets: dict[tuple[str, str], MarketView] = {}
    for key, m in marks.items():
        r = rng.random()
        if r < 0.1:
            continue  # not watched
        mark = math.nan if r < 0.15 else (0.0 if r < 0.17 else m)
        sigma = float(rng.choice([0.6, 0.0, math.nan, 1.2]))
        markets[key] = MarketView(mark, bool(rng.random() < 0.9), sigma, 1e-4, 8.0)
    accounts: dict[tuple[str, str], AccountSnapshot] = {}
    tiers: dict[tuple[str, str, str], LeverageTiers] = {}
    fresh: dict[tuple[str, str], bool] = {}
    for a in range(n_acct):
        venue = venues[a % 2]
        name = f"a{a}"
        fresh[(venue, f"account:{name}")] = bool(rng.random() < 0.9)
        legs: list[Position] = []
        for _ in range(3 * n_legs):
            if len(legs) >= n_legs:
                break
            sym = f"S{int(rng.integers(0, n_sym))}"
            m = marks[(venue, sym)]
            mode = "isolated" if rng.random() < 0.2 else "cross"
            notional = float(np.exp(rng.uniform(np.log(10), np.log(5e7))))
            size = notional / m
            hedge = mode == "cross" and venue == "bin" and rng.random() < 0.15
            sides = (
                [("LONG", size), ("SHORT", -size * rng.uniform(0.2, 1.5))]
                if hedge
                else [("BOTH", size * float(rng.choice([1.0, -1.0])))]
            )
            if any(p.symbol == sym and p.margin_mode == "cross" for p in legs):
                continue  # one margin mode and one position mode per symbol
            for side, q in sides:
                if rng.random() < 0.03:
                    q = 0.0
                entry = m * (1 + rng.normal(0, 0.05))
                if rng.random() < 0.02:
                    entry = float(rng.choice([math.nan, -1.0]))
                r = rng.random()
                vmark = m * (1 + rng.normal(0, 1e-3)) if r < 0.6 else math.nan
                vupnl = q * (vmark - entry) if r < 0.45 else (q * 0.01 * m if r < 0.7 else math.nan)
                vmm = notional * 0.005 if rng.random() < 0.6 else math.nan
                vlp = m * float(rng.choice([0.5, 0.9, 1.1, 2.0])) if rng.random() < 0.7 else math.nan
                legs.append(
                    Position(
                        symbol=sym,
                        side=side,  # type: ignore[arg-type]
                        qty=float(q),
                        entry_price=float(entry),
                        margin_mode=mode,  # type: ignore[arg-type]
                        isolated_wallet=notional / float(rng.uniform(1, 60)) if mode == "isolated" else 0.0,
                        venue_mark_price=float(vmark),
                        venue_liquidation_price=float(vlp),
                        venue_maint_margin=float(vmm),
                        venue_unrealized_pnl=float(vupnl),
                    )
                )
        for p in legs:
            if (venue, name, p.symbol) not in tiers and rng.random() < 0.9:
                tiers[(venue, name, p.symbol)] = LeverageTiers(
                    venue=venue,
                    account=name,
                    symbol=p.symbol,
                    ts_event_ns=0,
                    ts_recv_ns=0,
                    brackets=_tiers(rng),
                )
        total = sum(abs(p.qty) * marks[(venue, p.symbol)] for p in legs)
        w = total / float(rng.uniform(0.7, 30))
        r = rng.random()
        wallet = -w * 0.01 if r < 0.08 else (0.0 if r < 0.1 else (math.nan if r < 0.12 else w))
        bal = (
            Balance(asset="USDT", wallet_balance=wallet, cross_wallet_balance=wallet),
            Balance(asset="USDC", wallet_balance=w * 0.1),
            Balance(asset="BTC", wallet_balance=1.0),
        )
        accounts[(venue, name)] = AccountSnapshot(
            venue=venue, account=name, ts_event_ns=0, ts_recv_ns=0, positions=tuple(legs), balances=bal
        )
    snap = Snapshot(
        taken_at_ns=0,
        marks=EMPTY,
        quotes=EMPTY,
        funding=EMPTY,
        tiers=MappingProxyType(tiers),
        accounts=MappingProxyType(accounts),
        holdings=EMPTY,
        gone=EMPTY,
        feeds=EMPTY,
        mark_grid=EMPTY,
    )
    return snap, markets, fresh


def _same(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b) or math.isinf(a) or math.isinf(b):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == b or abs(a - b) <= 1e-12 * max(abs(a), abs(b))


def _compare(snap: Snapshot, markets: Any, fresh: Any, stage: AccountStage) -> int:
    want, got = FigureSink(1), FigureSink(1)
    account_reference.account_figures(
        snap, markets, fresh, want, horizon_s=86_400.0, bybit_venues=frozenset({"byb"})
    )
    stage(snap, markets, fresh, got, horizon_s=86_400.0)
    assert list(got.items) == list(want.items)
    for key, w in want.items.items():
        g = got.items[key]
        assert (g.fresh, g.reason, g.unit) == (w.fresh, w.reason, w.unit), key
        assert _same(g.value, w.value), (key, g.value, w.value)
    return len(want.items)


@pytest.mark.parametrize("seed", range(40))
def test_the_columnar_stage_emits_what_the_reference_emits(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n_acct = int(rng.integers(1, 7))
    snap, markets, fresh = _book(
        rng, n_sym=int(rng.integers(1, 15)), n_acct=n_acct, n_legs=int(rng.integers(1, 12))
    )
    stage = AccountStage(frozenset({"byb"}))
    assert _compare(snap, markets, fresh, stage) > 0
    # the next tick: same records (the columns are reused), marks moved, one mark gone
    moved = {
        k: MarketView(v.mark * float(rng.choice([0.97, 1.0, 1.3])), v.mark_fresh, v.sigma_ann, 1e-4, 8.0)
        for k, v in markets.items()
    }
    if moved:
        moved.pop(next(iter(moved)))
    _compare(snap, moved, fresh, stage)


def test_a_large_account_and_the_function_form() -> None:
    """An account of 300 legs on each model: the others' sums (total less own) stay within 1e-12."""
    rng = np.random.default_rng(7)
    snap, markets, fresh = _book(rng, n_sym=600, n_acct=2, n_legs=300)
    assert _compare(snap, markets, fresh, AccountStage(frozenset({"byb"}))) > 3_000
    sink = FigureSink(1)
    account_figures(snap, markets, fresh, sink, horizon_s=86_400.0, bybit_venues=frozenset({"byb"}))
    assert len(sink.items) > 3_000


@pytest.mark.parametrize("seed", range(6))
def test_hedge_contracts_on_inconsistent_tiers_match_the_scalar_scan(seed: int) -> None:
    """LONG and SHORT of one symbol on tiers whose cum jumps: roots on either side, some only at a floor.

    Wallets are swept across the range where equity meets MM only through the jump at a tier floor
    (TIER_BOUNDARY) and where two roots lie about equally far from the mark.
    """
    rng = np.random.default_rng(100 + seed)
    cum_jump = (
        Bracket(floor=0, cap=10_000, mmr=0.01, cum=0, max_leverage=50),
        Bracket(floor=10_000, cap=100_000, mmr=0.05, cum=900.0, max_leverage=10),
        Bracket(floor=100_000, cap=1e9, mmr=0.1, cum=9_000.0, max_leverage=5),
    )
    accounts, tiers, fresh = {}, {}, {}
    markets = {("bin", "X"): MarketView(100.0, True, 0.8, 1e-4, 8.0)}
    for a in range(120):
        name = f"h{a}"
        sl, ss = float(rng.uniform(50, 1_500)), float(rng.uniform(50, 1_500))
        legs = (
            Position(
                symbol="X", side="LONG", qty=sl, entry_price=float(rng.uniform(80, 120)), margin_mode="cross"
            ),
            Position(
                symbol="X",
                side="SHORT",
                qty=-ss,
                entry_price=float(rng.uniform(80, 120)),
                margin_mode="cross",
            ),
        )
        wallet = float(rng.uniform(-2_000, 20_000))
        accounts[("bin", name)] = AccountSnapshot(
            venue="bin",
            account=name,
            ts_event_ns=0,
            ts_recv_ns=0,
            positions=legs,
            balances=(Balance(asset="USDT", wallet_balance=wallet, cross_wallet_balance=wallet),),
        )
        tiers[("bin", name, "X")] = LeverageTiers(
            venue="bin", account=name, symbol="X", ts_event_ns=0, ts_recv_ns=0, brackets=cum_jump
        )
        fresh[("bin", f"account:{name}")] = True
    snap = Snapshot(
        taken_at_ns=0, marks=EMPTY, quotes=EMPTY, funding=EMPTY, tiers=MappingProxyType(tiers),
        accounts=MappingProxyType(accounts), holdings=EMPTY, gone=EMPTY, feeds=EMPTY, mark_grid=EMPTY,
    )  # fmt: skip
    _compare(snap, markets, fresh, AccountStage())
    sink = FigureSink(1)
    AccountStage()(snap, markets, fresh, sink, horizon_s=86_400.0)
    reasons = {f.reason for k, f in sink.items.items() if k.name == "liquidation_price_usd"}
    assert {"", "tier_boundary"} <= reasons


@pytest.mark.parametrize("seed", range(6))
def test_a_restated_account_keeps_the_columns_and_a_changed_one_rebuilds_them(seed: int) -> None:
    """A reconcile restating the same legs and wallet (a new record, equal content) reuses the book's
    columns; a moved leg or wallet rebuilds them. Either way the figures are the reference's."""
    rng = np.random.default_rng(200 + seed)
    snap, markets, fresh = _book(rng, n_sym=8, n_acct=3, n_legs=6)
    stage = AccountStage(frozenset({"byb"}))
    _compare(snap, markets, fresh, stage)
    before = stage._book
    assert before is not None
    restated = {k: msgspec.structs.replace(a, ts_event_ns=1) for k, a in snap.accounts.items()}
    again = dataclasses.replace(snap, accounts=MappingProxyType(restated))
    _compare(again, markets, fresh, stage)
    assert stage._book is not before and stage._book.q is before.q  # new records, the same columns
    key, acct = next((k, a) for k, a in restated.items() if a.positions)
    legs = (msgspec.structs.replace(acct.positions[0], qty=acct.positions[0].qty * 2), *acct.positions[1:])
    moved = dataclasses.replace(
        again, accounts=MappingProxyType({**restated, key: msgspec.structs.replace(acct, positions=legs)})
    )
    _compare(moved, markets, fresh, stage)
    assert stage._book.q is not before.q
