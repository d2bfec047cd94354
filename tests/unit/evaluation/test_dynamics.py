"""GARCH between refits, OU basis statistics and settled funding, as the evaluator emits them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from arch import arch_model

from monitor.evaluation.garch_forecast import garch_now
from monitor.evaluation.models import EMPTY_MODELS, refresh_models
from monitor.evaluator import Evaluator
from monitor.records import MarkPrice, SettledFunding
from monitor.risk.volatility import periods_per_year
from tests.unit.evaluation.world import (
    STEP_S,
    T0,
    M,
    S,
    bar_ns,
    config,
    path,
    put_bars,
    put_book,
    reason,
    store,
    value,
)

FIT_BARS = 501  # bars 0..500 finished at the refit (bar 501 still filling)
LATER_BARS = 701


def _fitted_then_moved_on() -> tuple[object, object, np.ndarray]:
    cfg = config()
    marks, basis = path(LATER_BARS + 1)
    st = store()
    put_bars(st, marks, basis, 0, FIT_BARS + 1)
    t_fit = bar_ns(FIT_BARS)
    put_book(st, t_fit)
    models = refresh_models(st.snapshot(t_fit), cfg.evaluation, EMPTY_MODELS, {})
    put_bars(st, marks, basis, FIT_BARS + 1, LATER_BARS + 1)
    return cfg, (st, models), marks


def test_garch_between_refits_equals_arch_filter() -> None:
    """200 bars after the refit, the tick's σ² equals arch's fixed-parameter filter on all 700 returns."""
    cfg, (st, models), marks = _fitted_then_moved_on()  # type: ignore[misc]
    g = models.markets[("binance", "BTCUSDT")].garch
    assert g.n_obs == FIT_BARS - 1
    now = bar_ns(LATER_BARS)
    snap = st.snapshot(now)
    r = np.diff(np.log(marks[:LATER_BARS]))  # finished bars 0..700 → 700 returns
    fixed = arch_model(100.0 * r, mean="Zero", vol="GARCH", p=1, q=1, dist="t", rescale=False).fix(
        [g.omega * 1e4, g.alpha, g.beta, g.nu]
    )
    arch_next = float(np.asarray(fixed.forecast(horizon=1, reindex=False).variance)[-1, 0]) / 1e4
    got = garch_now(models.markets[("binance", "BTCUSDT")], snap.mark_grid[("binance", "BTCUSDT")], STEP_S)
    assert got.sigma2 == pytest.approx(arch_next, rel=1e-9)
    figs = Evaluator(cfg, started_ns=T0).evaluate(snap, now, models)
    ann = value(figs, "volatility_garch_annualized_ratio", **M)
    assert ann == pytest.approx(math.sqrt(arch_next * periods_per_year(STEP_S)), rel=1e-9)
    assert value(figs, "garch_persistence_ratio", **M) == pytest.approx(g.alpha + g.beta)


def test_ou_basis_statistics_and_zscore_by_hand() -> None:
    """OLS of B[k+1] on B[k] over the refit's bars gives θ, μ, half-life, sd; z uses the basis now."""
    cfg, (st, models), _marks = _fitted_then_moved_on()  # type: ignore[misc]
    _, basis = path(LATER_BARS + 1)
    b = basis[:FIT_BARS]
    slope, icept = np.polyfit(b[:-1], b[1:], 1)
    resid = b[1:] - (icept + slope * b[:-1])
    sd_eps = math.sqrt(float(resid @ resid) / (b.size - 1 - 2))
    theta = -math.log(slope) / STEP_S
    mu = icept / (1 - slope)
    stat_sd = sd_eps / math.sqrt(1 - slope * slope)
    now = bar_ns(LATER_BARS)
    figs = Evaluator(cfg, started_ns=T0).evaluate(st.snapshot(now), now, models)
    assert value(figs, "basis_ou_theta_per_second", **M) == pytest.approx(theta, rel=1e-6)
    assert value(figs, "basis_ou_half_life_seconds", **M) == pytest.approx(math.log(2) / theta, rel=1e-6)
    assert value(figs, "basis_ou_mean_usd", **M) == pytest.approx(mu, rel=1e-6)
    assert value(figs, "basis_ou_stationary_sd_usd", **M) == pytest.approx(stat_sd, rel=1e-6)
    basis_now = basis[LATER_BARS]  # the spot quote straddles mark + basis of the newest bar
    assert value(figs, "basis_zscore", **M) == pytest.approx((basis_now - mu) / stat_sd, rel=1e-6)
    assert value(figs, "basis_mean_reverting", **M) == 1.0
    assert 0.7 < slope < 0.9  # the AR(1) slope the world was built with (0.8)


def test_trending_basis_is_flagged_not_mean_reverting() -> None:
    """A basis that only drifts up (b ≥ 1) gives no half-life, no z, and the flag 0 with the reason."""
    cfg = config()
    marks, _ = path(200)
    basis = np.linspace(10.0, 400.0, 200) ** 1.5 / 100.0  # accelerating: OLS slope above 1
    st = store()
    put_bars(st, marks, basis, 0, 200)
    t = bar_ns(199)
    put_book(st, t)
    snap = st.snapshot(t)
    models = refresh_models(snap, cfg.evaluation, EMPTY_MODELS, {})
    figs = Evaluator(cfg, started_ns=T0).evaluate(snap, t, models)
    assert value(figs, "basis_mean_reverting", **M) == 0.0
    for name in ("basis_ou_half_life_seconds", "basis_ou_theta_per_second", "basis_zscore"):
        assert math.isnan(value(figs, name, **M)), name
        assert reason(figs, name, **M) == "not_mean_reverting"


def test_settled_funding_is_the_last_estimate_before_the_settlement() -> None:
    """When the next funding time moves on past a settlement, the rate before it is the settled one."""
    cfg = config()
    st = store()
    nxt = T0 + 3600 * S
    for t, rate, next_ns in (
        (T0, 0.0001, nxt),
        (nxt - S, 0.00037, nxt),
        (nxt + S, 0.0002, nxt + 8 * 3600 * S),
    ):
        st.put(
            MarkPrice(
                venue="binance",
                symbol="BTCUSDT",
                ts_event_ns=t,
                ts_recv_ns=t,
                mark=100.0,
                index=100.0,
                funding_rate=rate,
                next_funding_ns=next_ns,
            )
        )
    figs = Evaluator(cfg, started_ns=T0).evaluate(st.snapshot(nxt + S), nxt + S)
    assert value(figs, "funding_settled_rate_ratio", **M) == 0.00037
    assert value(figs, "funding_settled_timestamp_seconds", **M) == nxt / 1e9
    assert value(figs, "funding_rate_ratio", **M) == 0.0002  # the running estimate stays separate
    assert reason(figs, "funding_settled_rate_ratio", **M) == "estimated_before_settlement"
    # the venue's settled history (collectors/backfill.py) replaces the estimate, unflagged
    st.put(
        SettledFunding(
            venue="binance",
            ts_event_ns=nxt,
            ts_recv_ns=nxt + S,
            symbol="BTCUSDT",
            times_ns=(nxt,),
            rates=(0.00041,),
        )
    )
    figs = Evaluator(cfg, started_ns=T0).evaluate(st.snapshot(nxt + 2 * S), nxt + 2 * S)
    assert value(figs, "funding_settled_rate_ratio", **M) == 0.00041
    assert reason(figs, "funding_settled_rate_ratio", **M) == ""


def test_interval_change_is_not_a_settlement() -> None:
    """A next-funding time that moves before it was reached (a new interval) settles nothing."""
    st = store()
    for t, next_ns in ((T0, T0 + 3600 * S), (T0 + S, T0 + 7200 * S)):
        st.put(
            MarkPrice(
                venue="binance",
                symbol="BTCUSDT",
                ts_event_ns=t,
                ts_recv_ns=t,
                mark=100.0,
                index=100.0,
                funding_rate=0.0001,
                next_funding_ns=next_ns,
            )
        )
    figs = Evaluator(config(), started_ns=T0).evaluate(st.snapshot(T0 + S), T0 + S)
    assert math.isnan(value(figs, "funding_settled_rate_ratio", **M))
    assert reason(figs, "funding_settled_rate_ratio", **M) == "no_settlement_seen"


def test_before_any_refit_figures_say_not_fitted_yet() -> None:
    cfg = config()
    marks, basis = path(50)
    st = store()
    put_bars(st, marks, basis, 0, 50)
    t = bar_ns(49)
    figs = Evaluator(cfg, started_ns=T0).evaluate(st.snapshot(t), t)
    for name in ("volatility_garch_annualized_ratio", "basis_zscore", "basis_ou_half_life_seconds"):
        assert math.isnan(value(figs, name, **M)) and reason(figs, name, **M) == "not_fitted_yet"
    assert reason(figs, "risk_models_age_seconds") == "not_fitted_yet"


def test_short_and_flat_histories_are_flagged() -> None:
    """Too few returns: empty_history; a flat price (a dead feed carried forward): zero_volatility."""
    cfg = config()
    for marks, why in ((path(40)[0], "empty_history"), (np.full(300, 100.0), "zero_volatility")):
        st = store()
        put_bars(st, marks, None, 0, marks.size)
        t = bar_ns(marks.size - 1)
        snap = st.snapshot(t)
        models = refresh_models(snap, cfg.evaluation, EMPTY_MODELS, {})
        figs = Evaluator(cfg, started_ns=T0).evaluate(snap, t, models)
        assert math.isnan(value(figs, "volatility_garch_annualized_ratio", **M))
        assert reason(figs, "volatility_garch_annualized_ratio", **M) == why
        assert reason(figs, "basis_zscore", **M) == "no_spot_history"
