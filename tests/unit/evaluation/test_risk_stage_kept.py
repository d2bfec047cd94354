"""The risk stage's state kept between ticks: reusing it emits exactly what computing afresh does.

The stages keep what only the book's records or a refit change (the advice legs and hedge book, the
VaR stage's markets and Monte Carlo touches, the dynamics fits, the model ages' fit times). Here a
tick that reuses them is compared with a tick after everything kept was forgotten: the account
stream's next, equal records must be a hit; a changed position, tier record, holding or models
record must be seen at once. The books' array check (advice_close `_Books`) is held to the per-leg walk
on books `BookWalk` must refuse or sort.
"""

from __future__ import annotations

import dataclasses
import math

import msgspec
import numpy as np
import pytest

from monitor.evaluation import (
    advice,
    advice_close,
    advice_forecast,
    advice_kept,
    advice_legs,
    book_var,
    dynamics,
    feeds,
    garch_forecast,
    kept_book,
    market,
    model_age,
)
from monitor.evaluation.feeds import expected_streams
from monitor.evaluation.models import RiskModels
from monitor.evaluation.risk_stage import RiskKept, risk_figures
from monitor.evaluation.sink import FigureSink
from monitor.records import AccountSnapshot, BookLevels, Figure, FigureKey, Holding, LeverageTiers
from monitor.store.state import Snapshot
from tests.unit.evaluation.desk import Desk, _tiers, desk, models
from tests.unit.evaluation.reference import advice as ref_advice
from tests.unit.evaluation.test_stages_equal_reference import assert_same

BYBIT = frozenset({"bybit"})


def forget() -> None:
    """Everything the risk stage keeps between ticks."""
    advice_legs._SHARED.legs = None
    advice_kept._SHARED.hedge = None
    advice_kept._SHARED.iso_labels = None
    dynamics._SHARED.fits = None
    dynamics._SHARED.stepped = None
    dynamics._SHARED.settled = None
    dynamics._SHARED.ou = None
    advice_legs._SHARED.topups = None
    advice_kept._SHARED.forecast = advice_forecast._ForecastPlan()
    book_var._SHARED.book = book_var._SHARED.touches = book_var._SHARED.weights = None
    advice_kept._SHARED.perp_keys = None
    kept_book._Compared.last = None
    model_age._SHARED.last = None


def tick(d: Desk, snap: Snapshot, mods: RiskModels, kept: RiskKept | None = None) -> dict[FigureKey, Figure]:
    ev = d.cfg.evaluation
    fresh = feeds.feed_figures(snap, expected_streams(d.cfg), d.now_ns - 5_000_000_000, FigureSink(d.now_ns))
    mk = market.market_figures(snap, fresh, FigureSink(d.now_ns), step_s=ev.volatility_sample_s,
                               lam=ev.ewma_lambda)  # fmt: skip
    sink = FigureSink(d.now_ns)
    risk_figures(snap, mk, fresh, sink, mods, ev, bybit_venues=BYBIT, kept=kept)
    return dict(sink.items)


def test_two_evaluators_keep_their_own_risk_state(world: tuple[Desk, RiskModels]) -> None:
    """Each evaluator's `RiskKept` is its own: one daemon's tick fills only its own, and a tick on an
    empty one (a miss everywhere) is the same figures, bit for bit, as a tick on a filled one (hits)."""
    d, mods = world
    snap = d.snapshot()
    a, b = RiskKept(), RiskKept()
    first = tick(d, snap, mods, a)
    assert a.book_var.book is not None and a.model_age.last is not None and a.dynamics.fits is not None
    assert b.book_var.book is None and b.model_age.last is None and b.dynamics.fits is None
    assert book_var._SHARED.book is not a.book_var.book and dynamics._SHARED.fits is not a.dynamics.fits
    held = a.book_var.book, a.book_var.touches, a.model_age.last, a.dynamics.fits, a.dynamics.settled
    again = tick(d, snap, mods, a)  # hits
    assert (
        a.book_var.book,
        a.book_var.touches,
        a.model_age.last,
        a.dynamics.fits,
        a.dynamics.settled,
    ) == held
    other = tick(d, snap, mods, b)  # misses
    assert b.book_var.book is not a.book_var.book and b.model_age.last is not a.model_age.last
    assert b.dynamics.fits is not a.dynamics.fits
    assert a.advice.legs.legs is not None and b.advice.legs.legs is not a.advice.legs.legs
    assert a.advice.hedge is not None and b.advice.hedge is not a.advice.hedge
    assert_identical(again, first)
    assert_identical(other, first)


def assert_identical(kept: dict[FigureKey, Figure], afresh: dict[FigureKey, Figure]) -> None:
    """Bit for bit: the kept parts are the same numbers, not numbers within a tolerance."""
    assert list(kept) == list(afresh)
    for k, a in kept.items():
        b = afresh[k]
        assert _same(a.value, b.value) and (a.unit, a.ts_ns, a.fresh, a.reason) == (
            b.unit,
            b.ts_ns,
            b.fresh,
            b.reason,
        ), (k, a, b)


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def kept_and_afresh(d: Desk, mods: RiskModels) -> tuple[dict[FigureKey, Figure], dict[FigureKey, Figure]]:
    kept = tick(d, d.snapshot(), mods)
    forget()
    return kept, tick(d, d.snapshot(), mods)


def reput_accounts(d: Desk, change: str = "") -> None:
    """The account stream's next records: equal copies (new objects), or with one position changed."""
    for key, acct in list(d.snapshot().accounts.items()):
        ps = [msgspec.structs.replace(p) for p in acct.positions]  # equal, not the same objects
        if change == "qty" and key[0] == "binance" and ps:
            j = next(i for i, p in enumerate(ps) if p.qty != 0 and math.isfinite(p.entry_price))
            ps[j] = msgspec.structs.replace(ps[j], qty=ps[j].qty * 1.5)
            change = ""
        d.store.put(msgspec.structs.replace(acct, positions=tuple(ps)))


@pytest.fixture
def world() -> tuple[Desk, RiskModels]:
    forget()
    d = desk(16, 90, seed=7, n_accounts=5, bars=160)
    return d, models(d)


def test_the_next_equal_account_records_reuse_what_was_kept(world: tuple[Desk, RiskModels]) -> None:
    d, mods = world
    before = tick(d, d.snapshot(), mods)
    legs, hedge, bk = advice_legs._SHARED.legs, advice_kept._SHARED.hedge, book_var._SHARED.book
    reput_accounts(d)
    snap = d.snapshot()
    assert all(a is not b for a, b in zip(snap.accounts.values(), legs.records, strict=True))  # type: ignore[union-attr]
    kept = tick(d, snap, mods)
    assert (
        advice_legs._SHARED.legs is legs
        and advice_kept._SHARED.hedge is hedge
        and book_var._SHARED.book is bk
    )
    forget()
    assert_identical(kept, tick(d, snap, mods))
    assert_identical(kept, before)


def test_a_changed_position_is_seen_at_once(world: tuple[Desk, RiskModels]) -> None:
    d, mods = world
    before = tick(d, d.snapshot(), mods)
    reput_accounts(d, change="qty")
    kept, afresh = kept_and_afresh(d, mods)
    assert_identical(kept, afresh)
    moved = [k for k in before if k.name == "close_cost_usd" and not _same(before[k].value, kept[k].value)]
    assert len(moved) == 1  # the changed leg's cost to close
    # the Monte Carlo run no longer matches the book it simulated
    touch = [f for k, f in kept.items() if k.name == "liquidation_touch_probability_mc_ratio"]
    assert {f.reason for f in touch} == {"book_changed_since_refit"}


def test_a_changed_tier_record_or_holding_is_seen_at_once(world: tuple[Desk, RiskModels]) -> None:
    d, mods = world
    tick(d, d.snapshot(), mods)
    snap = d.snapshot()
    (venue, account, symbol), rec = next(
        (k, r) for k, r in snap.tiers.items() if k[0] == "binance" and any(
            p.symbol == k[2] and p.qty != 0 for p in snap.accounts[(k[0], k[1])].positions)
    )  # fmt: skip
    d.store.put(msgspec.structs.replace(rec, brackets=_tiers(0.001)))
    kept, afresh = kept_and_afresh(d, mods)
    assert_identical(kept, afresh)
    h = next(iter(snap.holdings.values()), None)
    if h is None:
        h = Holding(venue="config", ts_event_ns=d.now_ns, ts_recv_ns=d.now_ns, name="vault", asset="BTC",
                    quantity=1.0, price_venue="binance", price_symbol=d.symbols["binance"][0])  # fmt: skip
    before = tick(d, d.snapshot(), mods)
    d.store.put(msgspec.structs.replace(h, quantity=h.quantity + 3.0))
    kept, afresh = kept_and_afresh(d, mods)
    assert_identical(kept, afresh)
    dev = FigureKey(name="hedge_deviation_ratio", asset=h.asset)
    assert not _same(kept[dev].value, before[dev].value)
    assert isinstance(rec, LeverageTiers) and (venue, account, symbol) in snap.tiers


def test_a_new_models_record_is_seen_at_once(world: tuple[Desk, RiskModels]) -> None:
    d, mods = world
    before = tick(d, d.snapshot(), mods)
    key = next(k for k, m in sorted(mods.markets.items()) if not math.isnan(m.garch.alpha))
    m = mods.markets[key]
    refit = dataclasses.replace(
        mods,
        markets={**mods.markets, key: dataclasses.replace(
            m, garch=msgspec.structs.replace(m.garch, alpha=m.garch.alpha / 2), fitted_at_ns=d.now_ns - 5)},
        mc=dataclasses.replace(mods.mc, lp_unknown=frozenset()),
    )  # fmt: skip
    kept, afresh = kept_and_afresh(d, refit)
    assert_identical(kept, afresh)
    persistence = FigureKey(name="garch_persistence_ratio", venue=key[0], symbol=key[1])
    assert kept[persistence].value != before[persistence].value
    age = FigureKey(name="market_model_age_seconds", venue=key[0], symbol=key[1])
    assert kept[age].value == 5e-9


def _odd_books(d: Desk) -> None:
    """Perpetual books the array check must hand to `BookWalk`, or check as it would."""
    snap = d.snapshot()
    keys = sorted({(v, p.symbol) for (v, _a), acct in snap.accounts.items() for p in acct.positions
                   if p.qty != 0 and p.symbol in d.symbols[v]})  # fmt: skip
    shapes = [
        ((101.0, 100.0, 99.0), (1.0, 2.0, 3.0), (99.5, 102.0), (1.0, 1.0)),  # crossed
        ((99.0, 100.0, 98.0), (1.0, 2.0, 3.0), (101.0, 102.0, 103.0), (1.0, 2.0, 3.0)),  # bids unsorted
        ((100.0, 100.0, 99.0), (1.0, 2.0, 3.0), (101.0, 101.0), (1.0, 2.0)),  # tied levels
        ((100.0, 99.0), (1.0,), (101.0, 102.0), (1.0, 2.0)),  # a size missing
        ((100.0, 99.0), (1.0, -2.0), (101.0, 102.0), (1.0, 2.0)),  # a negative size
        ((100.0, 99.0), (1.0, math.nan), (101.0, 102.0), (1.0, 2.0)),  # NaN size
        ((100.0, 99.0), (1.0, 2.0), (101.0, math.inf), (1.0, 2.0)),  # inf price
        ((100.0, 0.0), (1.0, 2.0), (101.0, 102.0), (1.0, 2.0)),  # zero price
        ((), (), (101.0, 102.0), (1.0, 2.0)),  # no bids: the top of book instead
        ((100.0,), (1e9,), (101.0, 102.0, 103.0, 104.0), (1e-3, 1e-3, 1e-3, 1e-3)),  # one deep, one thin
    ]
    for (venue, symbol), (bp, bq, ap, aq) in zip(keys, shapes, strict=False):
        t = d.now_ns
        d.store.put(BookLevels(venue=venue, symbol=symbol, market="perp", ts_event_ns=t, ts_recv_ns=t,
                               bid_px=bp, bid_qty=bq, ask_px=ap, ask_qty=aq))  # fmt: skip
    assert len(keys) >= len(shapes)


def test_the_books_checked_as_arrays_cost_what_the_walk_of_each_leg_costs(
    world: tuple[Desk, RiskModels],
) -> None:
    d, mods = world
    _odd_books(d)
    snap = d.snapshot()
    ev = d.cfg.evaluation
    fresh = feeds.feed_figures(snap, expected_streams(d.cfg), d.now_ns, FigureSink(d.now_ns))
    mk = market.market_figures(snap, fresh, FigureSink(d.now_ns), step_s=ev.volatility_sample_s,
                               lam=ev.ewma_lambda)  # fmt: skip
    garch = dynamics.dynamics_figures(snap, mods, fresh, FigureSink(d.now_ns), step_s=ev.volatility_sample_s)
    new, old = FigureSink(d.now_ns), FigureSink(d.now_ns)
    kw = dict(target_vol=ev.target_vol, shock=ev.shock, bybit_venues=BYBIT)
    advice.advice_figures(snap, mk, garch, new, **kw)  # type: ignore[arg-type]
    ref_advice.advice_figures(snap, mk, garch, old, **kw)  # type: ignore[arg-type]
    assert_same(dict(new.items), dict(old.items))
    reasons = {f.reason for k, f in new.items.items() if k.name == "close_cost_usd"}
    assert {"bad_parameter", "nan_input", "non_positive_price", "insufficient_depth"} <= reasons


def test_kept_accounts_compare_by_content() -> None:
    d = desk(4, 12, seed=3, bars=40)
    recs = list(d.snapshot().accounts.values())
    copies = [msgspec.structs.replace(a, positions=tuple(msgspec.structs.replace(p) for p in a.positions))
              for a in recs]  # fmt: skip
    assert kept_book.same_accounts(recs, copies)
    a = copies[0]
    richer = tuple(msgspec.structs.replace(b, wallet_balance=b.wallet_balance + 1) for b in a.balances)
    other = msgspec.structs.replace(a, balances=richer)
    assert not kept_book.same_accounts(recs, [other, *copies[1:]])
    assert not kept_book.same_accounts(recs, copies[:-1])
    assert isinstance(a, AccountSnapshot)


def test_the_fit_bar_found_by_arithmetic_is_the_one_the_search_finds() -> None:
    """`garch_forecast._bar_index` on gap-filled grids, grids with gaps, another step and empty ones."""
    rng = np.random.default_rng(4)
    step = 5_000_000_000
    for k in range(300):
        n = int(rng.integers(0, 12))
        ts = 10 * step + step * np.arange(n, dtype=np.int64)
        if k % 3 == 1 and n > 2:  # a gap: later buckets shifted
            ts[n // 2 :] += step * int(rng.integers(1, 4))
        if k % 5 == 2:  # a grid on another step than the one asked
            ts = ts * 2
        m = max(0, n - 1)
        for last in (*ts.tolist(), 0, 10 * step - 1, int(ts[-1]) + step if n else 1, 10 * step + step // 2):
            i = int(np.searchsorted(ts[:m], last))
            want = i if i < m and int(ts[i]) == last else -1
            assert garch_forecast._bar_index(ts, m, last, step) == want, (k, ts.tolist(), last)


def test_books_of_one_depth_everywhere_cost_what_the_walk_costs(world: tuple[Desk, RiskModels]) -> None:
    """Every leg's market on levels of one depth (the desk's usual case, gathered without a loop)."""
    d, mods = world
    snap = d.snapshot()
    markets = sorted({(v, p.symbol) for (v, _a), acct in snap.accounts.items() for p in acct.positions})
    rng = np.random.default_rng(8)
    for j, (venue, symbol) in enumerate(markets):
        mid = float(rng.uniform(1, 1e4))
        bp = [mid * (1 - 1e-4 * (k + 1)) for k in range(3)]
        ap = [mid * (1 + 1e-4 * (k + 1)) for k in range(3)]
        bq, aq = [float(x) for x in rng.uniform(0.01, 50, 3)], [float(x) for x in rng.uniform(0.01, 50, 3)]
        if j % 7 == 1:
            bp[0], bp[1] = bp[1], bp[0]  # unsorted bids
        if j % 7 == 2:
            ap[0] = bp[0]  # locked
        if j % 7 == 3:
            aq[2] = math.nan
        if j % 7 == 4:
            bq[1] = -1.0
        t, sides = d.now_ns, dict(bid_px=tuple(bp), bid_qty=tuple(bq), ask_px=tuple(ap), ask_qty=tuple(aq))
        d.store.put(
            BookLevels(venue=venue, symbol=symbol, market="perp", ts_event_ns=t, ts_recv_ns=t, **sides)
        )
    snap = d.snapshot()
    legs = advice_legs.advice_legs(snap, BYBIT)
    keys = advice_close._perp_keys(legs.mkeys)
    none, shapes = advice_close._gather(snap, keys)  # the store's book arrays
    assert [s for s, _ms, _a in shapes] == [(3, 3)] and not any(none)
    by_hand = dataclasses.replace(snap, books=dict(snap.books))  # records only: the one-depth path
    none_r, shapes_r = advice_close._gather(by_hand, keys)
    assert [s for s, _ms, _a in shapes_r] == [(3, 3)] and none_r == none
    assert np.array_equal(shapes[0][2], shapes_r[0][2], equal_nan=True) and shapes[0][1] == shapes_r[0][1]
    ev = d.cfg.evaluation
    fresh = feeds.feed_figures(snap, expected_streams(d.cfg), d.now_ns, FigureSink(d.now_ns))
    mk = market.market_figures(snap, fresh, FigureSink(d.now_ns), step_s=ev.volatility_sample_s,
                               lam=ev.ewma_lambda)  # fmt: skip
    garch = dynamics.dynamics_figures(snap, mods, fresh, FigureSink(d.now_ns), step_s=ev.volatility_sample_s)
    new, old = FigureSink(d.now_ns), FigureSink(d.now_ns)
    kw = dict(target_vol=ev.target_vol, shock=ev.shock, bybit_venues=BYBIT)
    advice.advice_figures(snap, mk, garch, new, **kw)  # type: ignore[arg-type]
    ref_advice.advice_figures(snap, mk, garch, old, **kw)  # type: ignore[arg-type]
    assert_same(dict(new.items), dict(old.items))
    reasons = {f.reason for k, f in new.items.items() if k.name == "close_cost_usd"}
    assert {"", "bad_parameter", "nan_input", "non_positive_price"} <= reasons
