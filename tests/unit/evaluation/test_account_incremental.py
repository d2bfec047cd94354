"""A frame tick computes again only the accounts whose inputs moved, and its figures are those of a
frame tick that computes every account: same names in the same order, same keys, values bit for bit
(NaN where NaN), freshness, reasons and times (monitor/evaluation/account_subset.py).

Two levels: the account stage alone on the generated books of test_account_columnar (both venues'
models, hedge and isolated legs, NaN/0 marks, stale feeds, malformed tiers), and `Evaluator.frame`
on the desk-sized store of desk.py, after random mark moves on a subset of its symbols.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from monitor.evaluation.account import AccountStage
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.evaluator import Evaluator
from monitor.figure_columns import FigureColumn
from monitor.records import MarkPrice
from tests.unit.evaluation.desk import desk
from tests.unit.evaluation.test_account_columnar import _book

HORIZON_S = 86_400.0
BYBIT = frozenset({"byb"})


def assert_same_columns(got: dict[str, FigureColumn], want: dict[str, FigureColumn]) -> None:
    """Equal as the whole-book computation makes them: bit for bit, NaN where NaN."""
    assert list(got) == list(want)
    for name, w in want.items():
        g = got[name]
        assert g.keys == w.keys, name
        gv, wv = g.values, w.values
        nan = np.isnan(wv)
        assert np.array_equal(np.isnan(gv), nan), name
        assert gv[~nan].tobytes() == wv[~nan].tobytes(), name
        assert g.fresh.tolist() == w.fresh.tolist(), name
        assert list(g.reasons) == list(w.reasons), name
        assert g.unit == w.unit and g.ts_ns == w.ts_ns, name
        assert (g.ts_rows is None) == (w.ts_rows is None), name


def _moved(rng: np.random.Generator, markets: dict[Any, MarketView]) -> dict[Any, MarketView]:
    """A few markets moved: a mark up or down, to NaN or 0, its feed gone stale, its volatility unknown."""
    out = dict(markets)
    keys = list(out)
    for i in rng.choice(len(keys), size=min(len(keys), int(rng.integers(1, 4))), replace=False).tolist():
        v = out[keys[i]]
        r = rng.random()
        mark = math.nan if r < 0.05 else (0.0 if r < 0.08 else v.mark * float(rng.choice([0.9, 0.999, 1.2])))
        fresh = v.mark_fresh if rng.random() < 0.85 else not v.mark_fresh
        sigma = v.sigma_ann if rng.random() < 0.9 else math.nan
        out[keys[i]] = MarketView(mark, fresh, sigma, v.funding_rate, v.funding_interval_h)
    return out


@pytest.mark.parametrize("seed", range(30))
def test_the_stage_recomputes_the_moved_accounts_and_emits_what_a_whole_computation_does(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    snap, markets, fresh = _book(
        rng, n_sym=int(rng.integers(2, 15)), n_acct=int(rng.integers(2, 9)), n_legs=8
    )
    stage = AccountStage(BYBIT)
    stage(snap, markets, fresh, FigureSink(1), horizon_s=HORIZON_S)
    for step in range(8):
        markets = _moved(rng, markets)
        if rng.random() < 0.15:  # an account's own feed goes stale or comes back
            key = next(iter(fresh))
            fresh = {**fresh, key: not fresh[key]}
        got, want = FigureSink(2 + step), FigureSink(2 + step)
        stage(snap, markets, fresh, got, horizon_s=HORIZON_S, incremental=True)
        AccountStage(BYBIT)(snap, markets, fresh, want, horizon_s=HORIZON_S)
        assert_same_columns(got.columns(), want.columns())


def test_only_the_accounts_holding_a_moved_market_are_computed_again() -> None:
    """Eight accounts; one market moves: fewer accounts are computed than the book has; none when
    nothing moved; all after a full (non-incremental) call."""
    rng = np.random.default_rng(5)
    snap, markets, fresh = _book(rng, n_sym=40, n_acct=8, n_legs=3)
    stage = AccountStage(BYBIT)
    stage(snap, markets, fresh, FigureSink(1), horizon_s=HORIZON_S)
    assert stage.recomputed == -1
    stage(snap, markets, fresh, FigureSink(2), horizon_s=HORIZON_S, incremental=True)
    assert stage.recomputed == 0
    key, v = next((k, v) for k, v in markets.items() if v.mark > 0)
    holders = {
        a
        for (venue, a), acc in snap.accounts.items()
        if venue == key[0]
        for p in acc.positions
        if p.symbol == key[1]
    }
    moved = {
        **markets,
        key: MarketView(v.mark * 1.01, v.mark_fresh, v.sigma_ann, v.funding_rate, v.funding_interval_h),
    }
    got, want = FigureSink(3), FigureSink(3)
    stage(snap, moved, fresh, got, horizon_s=HORIZON_S, incremental=True)
    AccountStage(BYBIT)(snap, moved, fresh, want, horizon_s=HORIZON_S)
    assert_same_columns(got.columns(), want.columns())
    if all(i >= 0 for *_, i in stage._book_for(snap).plan) and 0 < len(holders) <= 4:
        assert stage.recomputed == len(holders)


def _mark(now: int, venue: str, symbol: str, price: float) -> MarkPrice:
    return MarkPrice(venue=venue, symbol=symbol, ts_event_ns=now, ts_recv_ns=now, mark=price, index=price,
                     funding_rate=1e-4, next_funding_ns=now + 3600 * 10**9)  # fmt: skip


@pytest.mark.parametrize("seed", [3, 11])
def test_incremental_frame_ticks_equal_frame_ticks_that_recompute_every_account(seed: int) -> None:
    """On the desk store (8 accounts, both venues' models): a full tick, then ten frame ticks each
    after random mark moves on one to five symbols; each incremental frame tick's Figures equal those
    of a frame tick on the same snapshot that computes every account."""
    rng = np.random.default_rng(seed)
    d = desk(30, 120, n_accounts=8, bars=160, seed=seed)
    ev = Evaluator(d.cfg, started_ns=d.now_ns - 3600 * 10**9)
    now = d.now_ns
    base = ev.evaluate(d.store.snapshot(now), now)
    marks = dict(d.store.snapshot(now).marks)
    keys = [k for k, m in marks.items() if m.mark > 0]
    partial = 0
    for _ in range(10):
        now += 5_000_000
        for i in rng.choice(len(keys), size=int(rng.integers(1, 6)), replace=False).tolist():
            venue, symbol = keys[i]
            price = marks[keys[i]].mark * float(rng.choice([0.7, 0.99, 1.01, 1.5]))
            d.store.put(_mark(now, venue, symbol, price))
        snap = d.store.snapshot(now)
        got = ev.frame(snap, now, base)
        partial += ev._accounts.recomputed > 0
        ev._accounts._kept = None  # forget the kept rows: the same frame tick, every account computed
        want = ev.frame(snap, now, base)
        assert got is not None and want is not None
        assert got.taken_at_ns == want.taken_at_ns
        assert_same_columns(dict(got.columns), dict(want.columns))
    assert partial > 0  # the incremental path ran (not only the fallback)
