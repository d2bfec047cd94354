"""The columnar stages (dynamics, advice, feeds) against the per-market, per-leg and per-stream code.

`test_stages_equal_reference` holds the stages equal on the generated desks; here the corners those
desks do not reach: feeds lagging by the venue's clock or heard at odd times; markets without a
model, fits without parameters, a fit on a bar the ring no longer holds, a non-positive forecast,
OU fits of every kind; the Bybit model with a malformed tier table and unpriced legs; and the
sizing formula on its own, element by element against the scalar.
"""

from __future__ import annotations

import dataclasses
import math

import msgspec
import numpy as np
import pytest

from monitor.evaluation import advice, book, dynamics, feeds, garch_forecast, market
from monitor.evaluation.feeds import expected_streams
from monitor.evaluation.models import MarketModel, RiskModels
from monitor.evaluation.sink import FigureSink
from monitor.evaluator import Evaluator
from monitor.records import Bracket, FeedState, LeverageTiers
from monitor.risk.basis import OUFit
from monitor.risk.liquidity import BookWalk, close_many
from monitor.risk.reasons import Reason
from monitor.risk.sizing import sizing_advice, sizing_columns
from monitor.store.state import FeedView, Snapshot
from tests.unit.evaluation.desk import Desk, S, desk, models
from tests.unit.evaluation.reference import advice as ref_advice
from tests.unit.evaluation.reference import book as ref_book
from tests.unit.evaluation.reference import dynamics as ref_dynamics
from tests.unit.evaluation.reference import feeds as ref_feeds
from tests.unit.evaluation.reference import liquidity as ref_liquidity
from tests.unit.evaluation.reference import market as ref_market
from tests.unit.evaluation.test_stages_equal_reference import assert_same, same_value


def _varied(d: Desk) -> RiskModels:
    """The desk's models with every kind of fit somewhere among the markets."""
    base = models(d, history=False)
    out: dict[tuple[str, str], MarketModel] = {}
    for j, (key, m) in enumerate(sorted(base.markets.items())):
        g, ou = m.garch, m.ou
        k = j % 8
        if k == 0:
            continue  # never fitted
        if k == 1:
            g = msgspec.structs.replace(g, reason=Reason.FIT_FAILED)
        elif k == 2:
            g = msgspec.structs.replace(g, reason=Reason.NON_STATIONARY, sigma2_next=-1e-9)
        elif k == 3:
            m = dataclasses.replace(m, last_bar_ns=m.last_bar_ns - 10**15)  # before the ring
        elif k == 4:
            g = msgspec.structs.replace(g, reason=Reason.NON_STATIONARY, alpha=0.2, beta=0.8)
        elif k == 5:
            ou = OUFit(theta=math.nan, mu=math.nan, sigma=math.nan, half_life_s=math.nan,
                       stationary_sd=math.nan, b=math.nan, n_obs=3, mean_reverting=False,
                       reason=Reason.EMPTY_HISTORY)  # fmt: skip
        elif k == 6:
            ou = msgspec.structs.replace(ou, stationary_sd=0.0)
        out[key] = dataclasses.replace(m, garch=g, ou=ou)
    return dataclasses.replace(base, markets=out)


@pytest.fixture(scope="module")
def world() -> tuple[Desk, Snapshot, dict[tuple[str, str], bool]]:
    d = desk(24, 160, seed=11, n_accounts=6, bars=200)
    snap = d.snapshot()
    fresh = feeds.feed_figures(snap, expected_streams(d.cfg), d.now_ns - 5 * S, FigureSink(d.now_ns))
    return d, snap, fresh


def test_dynamics_equal_the_per_market_code_for_every_kind_of_fit(
    world: tuple[Desk, Snapshot, dict[tuple[str, str], bool]],
) -> None:
    d, snap, fresh = world
    step = d.cfg.evaluation.volatility_sample_s
    mods = _varied(d)
    new, old = FigureSink(d.now_ns), FigureSink(d.now_ns)
    got = dynamics.dynamics_figures(snap, mods, fresh, new, step_s=step)
    want = ref_dynamics.dynamics_figures(snap, mods, fresh, old, step_s=step)
    assert_same(new.items, old.items)
    assert {g.reason for g in want.values()} >= {
        "not_fitted_yet",
        "fit_failed",
        "zero_volatility",
        "fit_outdated",
    }
    for k, w in want.items():
        assert same_value(got[k].sigma2, w.sigma2) and got[k].reason == w.reason
    for key in list(snap.marks)[:5]:  # the one-market form is the same computation
        one = garch_forecast.garch_now(mods.markets.get(key), snap.mark_grid.get(key), step)
        assert same_value(one.sigma_ann, want[key].sigma_ann) and one.reason == want[key].reason


def _bad_tiers(snap: Snapshot) -> Snapshot:
    """Bybit tier records with a gap (the padded table leaves them empty; Bybit's MM still prices them),
    and the legs without a live mark stripped of the venue's mark and UPnL (no mark at all)."""
    tiers = dict(snap.tiers)
    for i, (key, t) in enumerate(sorted(tiers.items())):
        if key[0] == "bybit" and i % 3 == 0:
            bs = list(t.brackets)
            bs[1] = Bracket(floor=bs[1].floor * 1.5, cap=bs[1].cap, mmr=bs[1].mmr, cum=bs[1].cum,
                            max_leverage=bs[1].max_leverage)  # fmt: skip
            tiers[key] = LeverageTiers(venue=t.venue, account=t.account, symbol=t.symbol, ts_event_ns=0,
                                       ts_recv_ns=0, brackets=tuple(bs))  # fmt: skip
    accounts = {}
    for (venue, name), a in snap.accounts.items():  # legs without a live mark: without the venue's too
        m = snap.marks
        legs = tuple(
            p if (venue, p.symbol) in m and m[(venue, p.symbol)].mark > 0
            else msgspec.structs.replace(p, venue_mark_price=math.nan, venue_unrealized_pnl=math.nan)
            for p in a.positions
        )  # fmt: skip
        accounts[(venue, name)] = msgspec.structs.replace(a, positions=legs)
    return dataclasses.replace(snap, tiers=tiers, accounts=accounts)


@pytest.mark.parametrize("shock", [0.2, 0.9, 1.5])
def test_advice_equals_the_per_leg_code_with_malformed_tiers(
    world: tuple[Desk, Snapshot, dict[tuple[str, str], bool]], shock: float
) -> None:
    d, snap, fresh = world
    ev = d.cfg.evaluation
    snap = _bad_tiers(snap)
    mk = market.market_figures(snap, fresh, FigureSink(0), step_s=ev.volatility_sample_s, lam=ev.ewma_lambda)
    garch = dynamics.dynamics_figures(snap, _varied(d), fresh, FigureSink(0), step_s=ev.volatility_sample_s)
    kw = dict(target_vol=ev.target_vol, shock=shock, bybit_venues=Evaluator(d.cfg)._bybit)
    for _ in range(2):  # the second tick reuses the columns built on the first
        new, old = FigureSink(d.now_ns), FigureSink(d.now_ns)
        advice.advice_figures(snap, mk, garch, new, **kw)  # type: ignore[arg-type]
        ref_advice.advice_figures(snap, mk, garch, old, **kw)  # type: ignore[arg-type]
        assert_same(new.items, old.items)
    reasons = {f.reason.split(":")[0] for k, f in new.items.items() if k.name == "topup_for_shock_usd"}
    assert {"missing_tier", "nan_input", "no_mark"} <= reasons
    # the next second: every account record new (the venue's reconcile), the tier records the same
    moved = dataclasses.replace(snap, accounts={
        k: msgspec.structs.replace(a, positions=tuple(
            msgspec.structs.replace(p, qty=p.qty * 1.5, venue_unrealized_pnl=p.venue_unrealized_pnl * 2)
            for p in a.positions))
        for k, a in snap.accounts.items()
    })  # fmt: skip
    new, old = FigureSink(d.now_ns), FigureSink(d.now_ns)
    advice.advice_figures(moved, mk, garch, new, **kw)  # type: ignore[arg-type]
    ref_advice.advice_figures(moved, mk, garch, old, **kw)  # type: ignore[arg-type]
    assert_same(new.items, old.items)
    new, old = FigureSink(d.now_ns), FigureSink(d.now_ns)
    book.book_figures(moved, mk, new, fresh)
    ref_book.book_figures(moved, mk, old, fresh)
    assert_same(new.items, old.items)


def test_sizing_columns_are_the_scalar_advice_element_by_element() -> None:
    rng = np.random.default_rng(4)
    specials = [0.0, -0.0, math.nan, math.inf, -math.inf, -1.0, 1e-300]
    n = 600
    cap, sig, mu = (rng.normal(0, 1e5, n), rng.uniform(-0.1, 2, n), rng.normal(0, 0.3, n))
    for col in (cap, sig, mu):
        idx = rng.integers(0, n, 120)
        col[idx] = rng.choice(specials, 120)
    for target in (0.2, 0.0, -0.1, math.inf):
        tv, hk, rec, code = sizing_columns(cap, target, sig, mu, sig * sig)
        for j in range(n):
            a = sizing_advice(float(cap[j]), target, float(sig[j]), mu=float(mu[j]), var=float(sig[j] ** 2))
            got = (float(tv[j]), float(hk[j]), float(rec[j]))
            want = (a.target_vol_notional, a.half_kelly_notional, a.recommended_notional)
            assert all(same_value(x, y) for x, y in zip(got, want, strict=True)), (j, got, want)
            assert int(code[j]) == a.reason, j


def test_feeds_equal_the_per_stream_code_lagging_down_and_far_in_time() -> None:
    """Streams lagging by the venue's clock, down with and without a reason, heard at odd times."""
    d = desk(8, 20, seed=12, bars=40)
    snap = d.snapshot()
    expected = expected_streams(d.cfg)
    now = d.now_ns
    views = {}
    for j, (venue, stream) in enumerate(sorted(expected)):
        k = j % 6
        recv = {0: now - 1 * S, 1: now - 10**6 * S, 2: 1, 3: now - 2 * S, 4: now, 5: 0}[k]
        event = {0: now - 3_600 * S, 1: 0, 2: 7, 3: now - 2 * S, 4: -5, 5: 0}[k]
        state = FeedState.DOWN if j % 5 == 1 else FeedState.UP
        why = "gone" if j % 10 == 1 else ""
        views[(venue, stream)] = FeedView(venue, stream, state, why, recv, event, messages=3)
    snap = dataclasses.replace(snap, feeds=views)
    since = {k: now - 99 * S for k in list(expected)[::7]}
    for started in (0, now - 5 * S):
        a, b = FigureSink(now), FigureSink(now)
        got = feeds.feed_figures(snap, expected, started, a, since)
        assert got == ref_feeds.feed_figures(snap, expected, started, b, since)
        assert_same(a.items, b.items)
        assert {f.reason.split(":")[0] for f in a.items.values()} >= {"lagging", "silent", "gone", ""}


def test_the_book_walk_on_unsorted_tied_and_tuple_levels_is_cost_to_close() -> None:
    """Levels out of order, prices repeated, given as tuples (the collector's) or arrays."""
    rng = np.random.default_rng(6)
    for k in range(300):
        n = int(rng.integers(1, 25))
        bp = np.round(rng.uniform(90, 100, n), 0 if k % 3 == 0 else 6)  # k % 3 == 0: ties
        ap = np.round(rng.uniform(100.5, 110, n), 0 if k % 3 == 0 else 6)
        bq, aq = rng.uniform(0, 3, n), rng.uniform(0, 3, n)
        if k % 2:
            bp, ap = np.sort(bp)[::-1].copy(), np.sort(ap)
        args = (bp, bq, ap, aq) if k % 4 < 2 else tuple(tuple(x.tolist()) for x in (bp, bq, ap, aq))
        walk = BookWalk(*args)  # type: ignore[arg-type]
        for q in (0.3, -0.3, 2.5, -2.5, 40.0, float(rng.normal(0, 4))):
            got, want = walk.close(q), ref_liquidity.cost_to_close(q, bp, bq, ap, aq)
            for field in want.__struct_fields__:
                a, b = getattr(got, field), getattr(want, field)
                assert same_value(a, b) if isinstance(b, float) else a == b, (k, q, field)


def test_close_many_is_the_walk_of_each_position_at_every_depth() -> None:
    """Rows of one depth walked together equal each walk alone, past the depths BLAS unrolls (32, 64)."""
    rng = np.random.default_rng(9)
    for depth in (1, 2, 7, 8, 9, 20, 31, 32, 33, 64, 70):
        walks, qs = [], []
        for _ in range(60):
            m = float(np.exp(rng.uniform(-3, 10)))
            bp = tuple((m * (1 - 1e-4 * (k + 1 + rng.random()))) for k in range(depth))
            ap = tuple((m * (1 + 1e-4 * (k + 1 + rng.random()))) for k in range(depth))
            bq, aq = tuple(rng.uniform(0, 5, depth).tolist()), tuple(rng.uniform(0, 5, depth).tolist())
            walks.append(BookWalk(sorted(bp, reverse=True), bq, sorted(ap), aq))
            qs.append(float(rng.choice([-1, 1]) * rng.uniform(0, 3 * depth)))
        for long in (True, False):
            sel = [i for i, q in enumerate(qs) if (q > 0) == long and q != 0]
            sides = [walks[i].levels(long) for i in sel]
            cost, slip, filled, code = close_many(
                np.array([qs[i] for i in sel]),
                np.array([s[0] for s in sides]),
                np.array([s[1] for s in sides]),
                np.array([walks[i].mid for i in sel]),
            )
            for r, i in enumerate(sel):
                want = walks[i].close(qs[i])
                assert int(code[r]) == want.reason, (depth, i)
                assert same_value(float(filled[r]), want.filled_qty), (depth, i)
                for got, exp in ((cost[r], want.cost), (slip[r], want.slippage_bps)):
                    assert float(got) == exp or (math.isnan(exp) and math.isnan(got)), (
                        depth,
                        i,
                    )  # bit for bit


def test_market_volatility_given_by_a_what_if_and_estimated_equals_the_reference(
    world: tuple[Desk, Snapshot, dict[tuple[str, str], bool]],
) -> None:
    d, snap, fresh = world
    ev = d.cfg.evaluation
    keys = list(snap.marks)
    given = {keys[0]: 0.8, keys[1]: 0.0, keys[2]: math.nan, keys[3]: -1.0}
    snap = dataclasses.replace(snap, given_volatility=given)
    for cache in (None, market.EwmaCache()):
        new, old = FigureSink(d.now_ns), FigureSink(d.now_ns)
        kw = dict(step_s=ev.volatility_sample_s, lam=ev.ewma_lambda)
        market.market_figures(snap, fresh, new, cache=cache, **kw)  # type: ignore[arg-type]
        ref_market.market_figures(snap, fresh, old, **kw)  # type: ignore[arg-type]
        assert_same(new.items, old.items)
    reasons = {f.reason for k, f in new.items.items() if k.name == "volatility_annualized_ratio"}
    assert {"given", ""} <= reasons
