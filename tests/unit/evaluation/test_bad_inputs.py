"""Bad input never stops a tick: every new figure is present, and a missing one says why."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from monitor.evaluation.book_mc import lps_from_figures
from monitor.evaluation.models import EMPTY_MODELS, refresh_models
from monitor.evaluator import Evaluator
from monitor.records import AccountSnapshot, Balance, MarkPrice, Position
from monitor.store.state import StateStore
from tests.unit.evaluation.world import T0, bar_ns, config, path, put_bars, put_book, store

NEW = (
    "volatility_garch_annualized_ratio",
    "garch_persistence_ratio",
    "basis_zscore",
    "basis_mean_reverting",
    "basis_ou_half_life_seconds",
    "basis_ou_theta_per_second",
    "basis_ou_mean_usd",
    "basis_ou_stationary_sd_usd",
    "funding_settled_rate_ratio",
    "var_usd",
    "es_usd",
    "var_any_liquidation_touch_probability_ratio",
    "liquidation_touch_probability_mc_ratio",
    "recommended_hedge_ratio",
    "hedge_deviation_ratio",
    "sizing_target_vol_notional_usd",
    "sizing_half_kelly_notional_usd",
    "sizing_recommended_notional_usd",
    "topup_for_shock_usd",
    "close_cost_usd",
    "risk_models_age_seconds",
)


def _mark(st: StateStore, t: int, mark: float, rate: float = 0.0001) -> None:
    st.put(
        MarkPrice(
            venue="binance",
            symbol="BTCUSDT",
            ts_event_ns=t,
            ts_recv_ns=t,
            mark=mark,
            index=mark,
            funding_rate=rate,
            next_funding_ns=T0 + 10**13,
        )
    )


def nan_prices() -> tuple[StateStore, int]:
    st = store()
    for k in range(300):
        _mark(st, bar_ns(k), math.nan if k % 7 == 0 else 100.0 + k % 3, rate=math.nan)
    put_book(st, bar_ns(299), qty=-1.0, entry=100.0, tiers=None)
    return st, bar_ns(299)


def zero_and_negative_prices() -> tuple[StateStore, int]:
    st = store()
    for k in range(300):
        _mark(st, bar_ns(k), (0.0, -5.0, 100.0)[k % 3])
    put_book(st, bar_ns(299), qty=2.0, entry=100.0)
    return st, bar_ns(299)


def one_bar() -> tuple[StateStore, int]:
    st = store()
    _mark(st, T0, 100.0)
    put_book(st, T0, qty=-1.0, entry=100.0)
    return st, T0


def flat_prices_no_spot_quote() -> tuple[StateStore, int]:
    st = store()
    for k in range(300):
        _mark(st, bar_ns(k), 100.0)
    put_book(st, bar_ns(299), qty=-1.0, entry=100.0)  # the holdings' spot book never spoke
    return st, bar_ns(299)


def no_tiers_with_history() -> tuple[StateStore, int]:
    st = store()
    marks, basis = path(300)
    put_bars(st, marks, basis, 0, 300)
    put_book(st, bar_ns(299), qty=-1.0, tiers=None)
    return st, bar_ns(299)


def unwatched_legs_with_history() -> tuple[StateStore, int]:
    """Beside BTC, legs on symbols nobody watches: one the venue prices (cross and isolated), one bare."""
    st, t = no_tiers_with_history()
    put_book(st, t, qty=-1.0)
    btc = st.snapshot(t).accounts[("binance", "a")].positions
    venue = {"venue_mark_price": 150.0, "venue_maint_margin": 0.75, "venue_unrealized_pnl": -5.0}
    legs = (
        Position(symbol="SOLUSDT", side="BOTH", qty=1.0, entry_price=155.0, margin_mode="cross", **venue),
        Position(symbol="XRPUSDT", side="LONG", qty=100.0, entry_price=0.5, margin_mode="isolated",
                 isolated_wallet=10.0, **venue),
        Position(symbol="ETHUSDT", side="BOTH", qty=-0.01, entry_price=2_000.0, margin_mode="cross"),
    )  # fmt: skip
    st.put(AccountSnapshot(venue="binance", account="a", ts_event_ns=t, ts_recv_ns=t, positions=(*btc, *legs),
                           balances=(Balance(asset="USDT", wallet_balance=50_000.0),)))  # fmt: skip
    return st, t


@pytest.mark.parametrize(
    "world",
    [nan_prices, zero_and_negative_prices, one_bar, flat_prices_no_spot_quote, no_tiers_with_history,
     unwatched_legs_with_history],
)  # fmt: skip
def test_every_new_figure_present_and_flagged(world: Callable[[], tuple[StateStore, int]]) -> None:
    cfg = config()
    st, t = world()
    snap = st.snapshot(t)
    ev = Evaluator(cfg, started_ns=T0)
    first = ev.evaluate(snap, t)
    models = refresh_models(snap, cfg.evaluation, EMPTY_MODELS, lps_from_figures(first))
    figs = ev.evaluate(snap, t, models)
    names = {k.name for k in figs.items}
    assert set(NEW) <= names, set(NEW) - names
    for key, f in figs.items.items():
        if key.name in NEW and not math.isfinite(f.value):
            assert f.reason and f.reason != "not_available", key
    for key, f in figs.items.items():
        if key.name == "var_usd" and math.isfinite(f.value):
            assert f.value >= 0 and np.isfinite(f.value), key
