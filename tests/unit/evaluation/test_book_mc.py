"""Monte Carlo across venues: a hedge on another venue stays a hedge (correlated paths, never independent)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from monitor.config import parse_config
from monitor.evaluation.book_mc import correlation_factor, run_monte_carlo
from monitor.evaluation.models import EMPTY_MODELS, refresh_models
from monitor.records import AccountSnapshot, Balance, MarkPrice, Position
from tests.unit.evaluation.world import TIERS, S, bar_ns, path, put_bars, put_book, store

N = 400


def _config():  # type: ignore[no-untyped-def]
    venues = [
        {"name": "binance", "symbols": ["BTCUSDT"], "spot_symbols": ["BTCUSDT"]},
        {"name": "other", "symbols": ["BTCUSDT"]},
    ]
    holdings = [
        {
            "name": "custody",
            "asset": "BTC",
            "quantity": 10.0,
            "price_venue": "binance",
            "price_symbol": "BTCUSDT",
        }
    ]
    ev = {"volatility_sample_s": 60.0, "var_horizon_s": 3_600.0, "mc_paths": 4_000}
    return parse_config({"venues": venues, "holdings": holdings, "evaluation": ev}, env={})[0]


def _two_venue_book(short_elsewhere: float):  # type: ignore[no-untyped-def]
    """Custody 10 BTC valued on binance; a short perpetual of `short_elsewhere` BTC on venue "other"."""
    marks, basis = path(N + 1)
    st = store()
    put_bars(st, marks, basis, 0, N + 1)
    for k in range(N + 1):  # the other venue's mark follows the same path
        t = bar_ns(k)
        m = float(marks[k]) * 1.0002
        st.put(
            MarkPrice(
                venue="other",
                symbol="BTCUSDT",
                ts_event_ns=t,
                ts_recv_ns=t,
                mark=m,
                index=m,
                funding_rate=0.0001,
                next_funding_ns=t + 3600 * S,
            )
        )
    t = bar_ns(N)
    put_book(st, t, qty=0.0, holdings=10.0, tiers=TIERS)
    if short_elsewhere:
        pos = Position(
            symbol="BTCUSDT",
            side="BOTH",
            qty=-short_elsewhere,
            entry_price=float(marks[N]),
            margin_mode="cross",
        )
        st.put(
            AccountSnapshot(
                venue="other",
                account="b",
                ts_event_ns=t,
                ts_recv_ns=t,
                positions=(pos,),
                balances=(Balance(asset="USDT", wallet_balance=1e6),),
            )
        )
    return st.snapshot(t)


def test_perfectly_correlated_markets_get_a_valid_factor() -> None:
    """Same returns on two venues: the correlation is singular; A·Aᵀ still reproduces it."""
    snap = _two_venue_book(10.0)
    factor, why = correlation_factor(snap, [("binance", "BTCUSDT"), ("other", "BTCUSDT")], 60.0, 4096)
    assert why == "" and factor is not None
    np.testing.assert_allclose(factor @ factor.T, np.ones((2, 2)), atol=1e-9)


def test_hedge_on_another_venue_cuts_monte_carlo_var() -> None:
    cfg = _config()
    var = {}
    for short in (0.0, 10.0):
        snap = _two_venue_book(short)
        models = refresh_models(
            snap, cfg.evaluation, EMPTY_MODELS, {("other", "b", "BTCUSDT", "BOTH"): math.nan}
        )
        res = models.mc.results[0.99]
        assert models.mc.reason == "", models.mc.reason
        var[short] = res.var
    assert var[10.0] < 0.2 * var[0.0]


def test_too_little_overlap_between_assets_refuses_the_run() -> None:
    """BTC and ETH with five shared buckets: no correlation estimate, so no run (never independent)."""
    cfg = _config()
    snap = _two_venue_book(10.0)
    models = refresh_models(snap, cfg.evaluation, EMPTY_MODELS, {})
    t = bar_ns(N)
    eth = Position(symbol="ETHUSDT", side="BOTH", qty=5.0, entry_price=2_000.0, margin_mode="cross")
    acct = AccountSnapshot(
        venue="other", account="e", ts_event_ns=t, ts_recv_ns=t, positions=(eth,), balances=()
    )
    ts, v = snap.mark_grid[("other", "BTCUSDT")]
    grids = {**snap.mark_grid, ("other", "ETHUSDT"): (ts[-6:], v[-6:] / 20.0)}
    marks = {**snap.marks, ("other", "ETHUSDT"): snap.marks[("other", "BTCUSDT")]}
    wider = dataclasses.replace(
        snap, mark_grid=grids, marks=marks, accounts={**snap.accounts, ("other", "e"): acct}
    )
    fitted = {**models.markets, ("other", "ETHUSDT"): models.markets[("other", "BTCUSDT")]}
    run = run_monte_carlo(wider, cfg.evaluation, fitted, {})
    assert run.reason == "no_correlation" and not run.results
