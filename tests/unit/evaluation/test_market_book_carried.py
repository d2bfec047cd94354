"""What the market and book stages carry between ticks never makes a figure differ from recomputing it.

The EWMA cache trusts the store's grid revision instead of comparing every bar it saw: a backfill
that rewrites bars already seen (same buckets, new values) must make it start again from the
window; a snapshot that promises nothing (no revision) is never carried. The book keeps the legs'
structure while only quantities move, and rebuilds it when a leg comes or goes.
"""

from __future__ import annotations

import dataclasses
import math

import msgspec
import numpy as np
import pytest

from monitor.evaluation import book, ewma_cache, market
from monitor.evaluation.sink import FigureSink
from monitor.records import BarHistory, MarkPrice
from monitor.store.state import StateStore
from tests.unit.evaluation.desk import T0, S, desk
from tests.unit.evaluation.reference import book as ref_book
from tests.unit.evaluation.reference import market as ref_market
from tests.unit.evaluation.test_stages_equal_reference import assert_same, same_value

STEP = 60 * S
KEY = ("v", "AUSDT")


def _put(st: StateStore, k: int, price: float, symbol: str = "AUSDT") -> None:
    t = T0 + k * STEP
    st.put(MarkPrice(venue="v", symbol=symbol, ts_event_ns=t, ts_recv_ns=t, mark=price, index=price))


def _bars(first: int, closes: tuple[float, ...]) -> BarHistory:
    opens = tuple(T0 + (first + j) * STEP for j in range(len(closes)))
    return BarHistory(
        venue="v", ts_event_ns=0, ts_recv_ns=0, symbol="AUSDT", series="mark", interval_s=60.0,
        opens_ns=opens, closes=closes,
    )  # fmt: skip


def _sigma(cache: market.EwmaCache, snap: object, lam: float = 0.94) -> tuple[float, str]:
    var, whys = cache.variances(snap, [KEY], lam)  # type: ignore[arg-type]
    return ref_market.annualised(float(var[0]), whys[0], 60.0)


def _windowed(snap: object, lam: float = 0.94) -> tuple[float, str]:
    return ref_market._ewma_sigma_ann(snap.mark_grid[KEY][1], 60.0, lam)  # type: ignore[attr-defined]


def test_a_backfill_rewriting_bars_already_seen_makes_the_cache_start_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Same buckets, new values, no bar added: only the revision says the history changed."""
    rng = np.random.default_rng(3)
    st = StateStore(grid_step_s=60.0, history_points=512)
    price, k = 100.0, 0
    while k < 200:
        k += 1 if k != 120 else 8  # a gap: seven buckets carried forward, to be backfilled
        price *= math.exp(float(rng.normal(0, 0.004)))
        _put(st, k, price)
    cache = market.EwmaCache()
    before = st.snapshot(T0 + k * STEP + S)
    first, want0 = _sigma(cache, before), _windowed(before)
    assert first[1] == want0[1] == "" and same_value(first[0], want0[0])
    ts_before = before.mark_grid[KEY][0].copy()
    calls: list[int] = []
    windowed = ewma_cache.windowed_variance
    monkeypatch.setattr(ewma_cache, "windowed_variance", lambda v, lam: calls.append(1) or windowed(v, lam))
    carried = _sigma(cache, st.snapshot(T0 + k * STEP + 2 * S))
    assert calls == []  # nothing changed: carried
    st.put(_bars(121, (140.0, 60.0, 150.0, 55.0, 160.0, 50.0, 170.0)))  # the venue's candles for the gap
    after = st.snapshot(T0 + k * STEP + 3 * S)
    assert np.array_equal(after.mark_grid[KEY][0], ts_before)  # the same buckets: only values moved
    got = _sigma(cache, after)
    assert calls == [1]  # started again from the window
    want = _windowed(after)
    assert got[1] == want[1] and same_value(got[0], want[0])
    assert not same_value(got[0], carried[0])  # the rewrite mattered: carrying would have been wrong


def test_a_snapshot_without_revisions_is_never_carried(monkeypatch: pytest.MonkeyPatch) -> None:
    st = StateStore(grid_step_s=60.0, history_points=256)
    rng = np.random.default_rng(4)
    for k in range(1, 80):
        _put(st, k, 100.0 * math.exp(float(rng.normal(0, 0.01))))
    calls: list[int] = []
    windowed = ewma_cache.windowed_variance
    monkeypatch.setattr(ewma_cache, "windowed_variance", lambda v, lam: calls.append(1) or windowed(v, lam))
    cache = market.EwmaCache()
    for j in range(3):
        snap = dataclasses.replace(st.snapshot(T0 + 80 * STEP + j * S), mark_grid_bars=None)
        got, want = _sigma(cache, snap), _windowed(snap)
        assert got[1] == want[1] and same_value(got[0], want[0])
    assert calls == [1, 1, 1]


def test_markets_coming_and_going_keep_each_markets_own_recursion() -> None:
    """The cache's columns follow the markets listed; one market's state never lands on another's."""
    rng = np.random.default_rng(5)
    st = StateStore(grid_step_s=60.0, history_points=256)
    cache = market.EwmaCache()
    symbols = ["AUSDT", "BUSDT", "CUSDT"]
    prices = dict.fromkeys(symbols, 100.0)
    for k in range(1, 120):
        listed = symbols if k < 60 else ["CUSDT", "AUSDT"] if k < 90 else ["BUSDT", "CUSDT", "AUSDT"]
        for s in listed:
            prices[s] *= math.exp(float(rng.normal(0, 0.003 * (1 + symbols.index(s)))))
            _put(st, k, prices[s], s)
        if k % 7 == 0:
            snap = st.snapshot(T0 + k * STEP + S)
            keys = [("v", s) for s in listed]
            var, whys = cache.variances(snap, keys, 0.94)
            for i, key in enumerate(keys):
                want = ref_market._ewma_sigma_ann(snap.mark_grid[key][1], 60.0, 0.94)
                got = ref_market.annualised(float(var[i]), whys[i], 60.0)
                assert got[1] == want[1] and same_value(got[0], want[0]), (k, key)


def test_the_book_follows_quantities_and_legs_that_move_between_ticks() -> None:
    d = desk(15, 60, seed=11, bars=40)
    snap = d.snapshot()
    markets = ref_market.market_figures(snap, {}, FigureSink(d.now_ns), step_s=5.0, lam=0.94)
    rng = np.random.default_rng(6)
    accounts = dict(snap.accounts)
    for step in range(5):
        key = list(accounts)[step % len(accounts)]
        acct = accounts[key]
        legs = [msgspec.structs.replace(p, qty=p.qty * float(rng.uniform(0.5, 1.5))) for p in acct.positions]
        if step == 2:
            legs = legs[1:]  # a leg closed: the book's structure changes
        if step == 3:  # a new record with the very same legs (a balance update)
            accounts = {
                k: msgspec.structs.replace(a, ts_recv_ns=a.ts_recv_ns + 1) for k, a in accounts.items()
            }
        else:
            accounts[key] = msgspec.structs.replace(acct, positions=tuple(legs))
        moved = dataclasses.replace(snap, accounts=accounts)
        new, old = FigureSink(d.now_ns), FigureSink(d.now_ns)
        book.book_figures(moved, markets, new)
        ref_book.book_figures(moved, markets, old)
        assert_same(new.items, old.items)
