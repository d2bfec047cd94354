"""Book VaR/ES: parametric, historical and filtered historical by hand, Monte Carlo rebuilt from the fits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtri

from monitor.evaluation.book_mc import lps_from_figures
from monitor.evaluation.models import EMPTY_MODELS, refresh_models
from monitor.evaluator import Evaluator
from monitor.records import Figures
from monitor.risk.montecarlo import McBook, McMarket, monte_carlo
from tests.unit.evaluation.world import (
    RATE,
    STEP_S,
    T0,
    bar_ns,
    config,
    path,
    put_bars,
    put_book,
    reason,
    store,
    value,
)

N = 400  # bars 0..399 finished at the refit


def _book() -> tuple[object, object, object, Figures, int]:
    cfg = config()
    marks, basis = path(N + 1)
    st = store()
    put_bars(st, marks, basis, 0, N + 1)
    t = bar_ns(N)
    put_book(st, t, qty=-8.0, holdings=10.0)
    snap = st.snapshot(t)
    first = Evaluator(cfg, started_ns=T0).evaluate(snap, t)  # LPs for Monte Carlo come from a tick
    models = refresh_models(snap, cfg.evaluation, EMPTY_MODELS, lps_from_figures(first))
    figs = Evaluator(cfg, started_ns=T0).evaluate(snap, t, models)
    return cfg, snap, models, figs, t


def _var(figs: Figures, method: str, alpha: str, name: str = "var_usd") -> float:
    return value(figs, name, method=method, confidence=alpha)


def test_parametric_and_historical_by_hand() -> None:
    """Legs: 10 BTC spot at the spot mid, −8 BTC perp at the mark; overlapping 60-bar windows of both."""
    cfg, _snap, _models, figs, _t = _book()  # type: ignore[misc]
    marks, basis = path(N + 1)
    spot = marks + basis
    steps = round(cfg.evaluation.var_horizon_s / STEP_S)  # type: ignore[attr-defined]
    assert steps == 60
    # finished bars 0..N-1; window j is the log move from bar j to bar j + 60
    rt = np.column_stack([np.log(p[steps:N] / p[: N - steps]) for p in (spot, marks)])
    w = np.array([10.0 * spot[N], -8.0 * marks[N]])
    sigma = math.sqrt(float(w @ np.cov(rt, rowvar=False) @ w))
    pnl = np.expm1(rt) @ w
    for alpha in (0.95, 0.99):
        z = float(ndtri(alpha))
        a = f"{alpha:g}"
        assert _var(figs, "parametric", a) == pytest.approx(z * sigma, rel=1e-9)
        pdf = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        assert _var(figs, "parametric", a, "es_usd") == pytest.approx(sigma * pdf / (1 - alpha), rel=1e-9)
        q = float(np.quantile(pnl, 1 - alpha))
        assert _var(figs, "historical", a) == pytest.approx(-q, rel=1e-9)
        assert _var(figs, "historical", a, "es_usd") == pytest.approx(-float(pnl[pnl <= q].mean()), rel=1e-9)
    # 399 returns hold under ten independent 60-bar windows: the value carries that caveat
    assert reason(figs, "var_usd", method="historical", confidence="0.99") == "few_independent_windows"


def test_short_history_scales_one_step_by_its_autocorrelation() -> None:
    """A horizon longer than the history: one-step VaR × √(Newey–West horizon variance / one-step)."""
    cfg = config(var_horizon_s=30_000.0)  # 500 bars > 399 returns
    marks, basis = path(N + 1)
    st = store()
    put_bars(st, marks, basis, 0, N + 1)
    t = bar_ns(N)
    put_book(st, t, qty=-8.0, holdings=10.0)
    snap = st.snapshot(t)
    figs = Evaluator(cfg, started_ns=T0).evaluate(
        snap, t, refresh_models(snap, cfg.evaluation, EMPTY_MODELS, {})
    )
    spot = marks + basis
    r = np.column_stack([np.diff(np.log(spot[:N])), np.diff(np.log(marks[:N]))])
    w = np.array([10.0 * spot[N], -8.0 * marks[N]])
    pnl = np.expm1(r) @ w
    x = pnl - pnl.mean()
    n, lags = x.size, min(499, x.size // 4)
    gamma = [float(x[: n - k] @ x[k:]) / n for k in range(lags + 1)]
    var_t = 500 * (gamma[0] + 2 * sum((1 - k / (lags + 1)) * gamma[k] for k in range(1, lags + 1)))
    ratio = math.sqrt(var_t / gamma[0])
    assert _var(figs, "historical", "0.99") == pytest.approx(-float(np.quantile(pnl, 0.01)) * ratio, rel=1e-9)
    sigma = math.sqrt(float(w @ np.cov(r, rowvar=False) @ w)) * ratio
    assert _var(figs, "parametric", "0.99") == pytest.approx(float(ndtri(0.99)) * sigma, rel=1e-9)
    assert reason(figs, "var_usd", method="parametric", confidence="0.99") == "autocorrelation_scaled"


def test_hedged_book_var_is_basis_var_not_zero() -> None:
    """Fully hedged (10 spot, −10 perp): VaR is far below the unhedged spot's but above zero."""
    cfg = config()
    marks, basis = path(N + 1)
    out = {}
    for qty in (-10.0, -1e-9):
        st = store()
        put_bars(st, marks, basis, 0, N + 1)
        t = bar_ns(N)
        put_book(st, t, qty=qty)
        snap = st.snapshot(t)
        models = refresh_models(snap, cfg.evaluation, EMPTY_MODELS, {})
        out[qty] = _var(Evaluator(cfg, started_ns=T0).evaluate(snap, t, models), "parametric", "0.99")
    assert 0 < out[-10.0] < 0.1 * out[-1e-9]
    # the basis reverts within a few bars: over 60 bars its risk is far below √60 × the one-step risk
    spot = marks + basis
    r = np.column_stack([np.diff(np.log(spot[:N])), np.diff(np.log(marks[:N]))])
    w = np.array([10.0 * spot[N], -10.0 * marks[N]])
    sqrt_time = float(ndtri(0.99)) * math.sqrt(float(w @ np.cov(r, rowvar=False) @ w) * 60)
    assert out[-10.0] < 0.5 * sqrt_time


def test_monte_carlo_is_the_fitted_models_simulated() -> None:
    """The MC figures equal monte_carlo() on inputs built here from the fits, the quotes and the LP."""
    cfg, snap, models, figs, _t = _book()  # type: ignore[misc]
    ev = cfg.evaluation  # type: ignore[attr-defined]
    mm = models.markets[("binance", "BTCUSDT")]  # type: ignore[attr-defined]
    q = snap.quotes[("binance", "BTCUSDT", "spot")]  # type: ignore[attr-defined]
    mark = snap.marks[("binance", "BTCUSDT")].mark  # type: ignore[attr-defined]
    spot = 0.5 * (q.bid + q.ask)
    g, ou = mm.garch, mm.ou
    assert ou.mean_reverting
    one = np.array
    market = McMarket(
        spot=one([spot]),
        basis=one([spot - mark]),
        omega=one([g.omega]),
        alpha=one([g.alpha]),
        beta=one([g.beta]),
        nu=one([g.nu]),
        sigma2=one([g.sigma2_next]),
        ou_theta=one([ou.theta]),
        ou_mu=one([ou.mu]),
        ou_sigma=one([ou.sigma]),
        funding_history=one([[RATE]]),
        funding_interval_h=one([8.0]),
    )
    lp = value(figs, "liquidation_price_usd", venue="binance", account="a", symbol="BTCUSDT", side="BOTH")
    book = McBook(
        spot_q=one([10.0]), perp_asset=one([0], dtype=np.intp), perp_q=one([-8.0]), perp_lp=one([lp])
    )
    res = {
        a: monte_carlo(
            market,
            book,
            horizon_s=ev.var_horizon_s,
            step_s=STEP_S,
            n_paths=ev.mc_paths,
            alpha=a,
            rng=np.random.default_rng(ev.mc_seed),
        )
        for a in (0.95, 0.99)
    }
    for a, r in res.items():
        assert _var(figs, "monte_carlo", f"{a:g}") == pytest.approx(r.var, rel=1e-12)
        assert _var(figs, "monte_carlo", f"{a:g}", "es_usd") == pytest.approx(r.es, rel=1e-12)
    assert reason(figs, "var_usd", method="monte_carlo", confidence="0.99") == "funding_from_current_estimate"
    assert value(figs, "var_any_liquidation_touch_probability_ratio") == res[0.99].p_any_touch
    pos = {"venue": "binance", "account": "a", "symbol": "BTCUSDT", "side": "BOTH"}
    assert value(figs, "liquidation_touch_probability_mc_ratio", **pos) == res[0.99].p_touch[0]
    assert res[0.99].var >= res[0.95].var > 0 and res[0.99].es >= res[0.99].var


def test_book_changed_since_refit_is_not_reported_as_the_old_number() -> None:
    """A position opened after the refit: parametric/historical lack its leg, MC simulated another book."""
    cfg = config()
    marks, basis = path(N + 1)
    st = store()
    put_bars(st, marks, basis, 0, N + 1)
    t = bar_ns(N)
    put_book(st, t, qty=0.0, holdings=10.0)  # custody only at the refit
    models = refresh_models(st.snapshot(t), cfg.evaluation, EMPTY_MODELS, {})
    put_book(st, t, qty=-8.0, holdings=10.0)
    figs = Evaluator(cfg, started_ns=T0).evaluate(st.snapshot(t), t, models)
    for method, why in (
        ("parametric", "history_missing_leg: binance/BTCUSDT perp"),
        ("historical", "history_missing_leg: binance/BTCUSDT perp"),
        ("filtered_historical", "history_missing_leg: binance/BTCUSDT perp"),
        ("monte_carlo", "book_changed_since_refit"),
    ):
        assert (
            math.isnan(_var(figs, method, "0.95"))
            and reason(figs, "var_usd", method=method, confidence="0.95") == why
        )
    pos = {"venue": "binance", "account": "a", "symbol": "BTCUSDT", "side": "BOTH"}
    assert reason(figs, "liquidation_touch_probability_mc_ratio", **pos) == "opened_since_refit"


def test_no_book_and_no_fit_are_flagged() -> None:
    cfg = config()
    marks, basis = path(N + 1)
    st = store()
    put_bars(st, marks, basis, 0, N + 1)
    t = bar_ns(N)
    snap = st.snapshot(t)
    figs = Evaluator(cfg, started_ns=T0).evaluate(
        snap, t, refresh_models(snap, cfg.evaluation, EMPTY_MODELS, {})
    )
    for method in ("parametric", "historical", "filtered_historical", "monte_carlo"):
        assert reason(figs, "var_usd", method=method, confidence="0.99") == "no_position"
    put_book(st, t)
    figs = Evaluator(cfg, started_ns=T0).evaluate(st.snapshot(t), t)
    assert reason(figs, "var_usd", method="historical", confidence="0.99") == "not_fitted_yet"
    assert reason(figs, "var_any_liquidation_touch_probability_ratio") == "not_fitted_yet"


def test_the_self_check_forecasts_the_one_step_model_not_the_horizon() -> None:
    """With horizon windows in the history, the forecast the VaR self-check opens is the one-step
    VaR of the same legs by the same methods (one-step rows of bars 0..N-1), never the 60-bar figure:
    scoring a horizon VaR against a one-step PnL would almost never see an exception."""
    cfg, snap, models, _figs, t = _book()  # type: ignore[misc]
    ev = Evaluator(cfg, started_ns=T0)  # type: ignore[arg-type]
    figs = ev.evaluate(snap, t, models)  # type: ignore[arg-type]
    marks, basis = path(N + 1)
    spot = marks + basis
    r1 = np.column_stack([np.log(p[1:N] / p[: N - 1]) for p in (spot, marks)])
    w = np.array([10.0 * spot[N], -8.0 * marks[N]])
    sigma1 = math.sqrt(float(w @ np.cov(r1, rowvar=False) @ w))
    pnl1 = np.expm1(r1) @ w
    forecast = ev._var_check._open
    assert forecast is not None
    for alpha in (0.95, 0.99):
        assert forecast.var[("parametric", alpha)] == pytest.approx(float(ndtri(alpha)) * sigma1, rel=1e-9)
        assert forecast.var[("historical", alpha)] == pytest.approx(
            -float(np.quantile(pnl1, 1 - alpha)), rel=1e-9
        )
        assert forecast.var[("historical", alpha)] < 0.5 * _var(figs, "historical", f"{alpha:g}")
    assert value(figs, "var_backtest_observations", method="historical", confidence="0.99") == 0.0


def _fhs_by_hand(r: np.ndarray, lam: float = 0.94) -> np.ndarray:
    """Each leg: σ²₀ = mean r² of its first 20 returns, σ²_{t+1} = λσ²_t + (1 − λ)r²_t; r_t·σ_now/σ_t."""
    out = np.empty_like(r)
    for j in range(r.shape[1]):
        s2 = [float(np.mean(r[:20, j] ** 2))]
        for x in r[:, j]:
            s2.append(lam * s2[-1] + (1 - lam) * x * x)
        out[:, j] = r[:, j] * np.sqrt(s2[-1] / np.array(s2[:-1]))
    return out


def test_filtered_historical_by_hand() -> None:
    """One-step log returns of both legs rescaled per leg to today's EWMA σ, then the same overlapping
    60-bar windows, PnL, quantile and tail mean as historical; the self-check forecast is the same
    over the rescaled one-step rows."""
    cfg, snap, models, _figs, t = _book()  # type: ignore[misc]
    ev = Evaluator(cfg, started_ns=T0)  # type: ignore[arg-type]
    figs = ev.evaluate(snap, t, models)  # type: ignore[arg-type]
    marks, basis = path(N + 1)
    spot = marks + basis
    r1 = np.column_stack([np.log(p[1:N] / p[: N - 1]) for p in (spot, marks)])
    f1 = _fhs_by_hand(r1)
    windows = np.array([f1[j : j + 60].sum(axis=0) for j in range(f1.shape[0] - 59)])
    w = np.array([10.0 * spot[N], -8.0 * marks[N]])
    pnl = np.expm1(windows) @ w
    pnl1 = np.expm1(f1) @ w
    forecast = ev._var_check._open
    assert forecast is not None
    for alpha in (0.95, 0.99):
        a = f"{alpha:g}"
        q = float(np.quantile(pnl, 1 - alpha))
        assert _var(figs, "filtered_historical", a) == pytest.approx(-q, rel=1e-9)
        assert _var(figs, "filtered_historical", a, "es_usd") == pytest.approx(
            -float(pnl[pnl <= q].mean()), rel=1e-9
        )
        assert forecast.var[("filtered_historical", alpha)] == pytest.approx(
            -float(np.quantile(pnl1, 1 - alpha)), rel=1e-9
        )
    # the rescaling moved the number: this is not historical under another name
    assert _var(figs, "filtered_historical", "0.99") != pytest.approx(
        _var(figs, "historical", "0.99"), rel=1e-3
    )
    assert (
        reason(figs, "var_usd", method="filtered_historical", confidence="0.99") == "few_independent_windows"
    )


def test_filtered_historical_short_history_takes_historicals_horizon_scale() -> None:
    """A horizon longer than the history: the rescaled one-step PnL's quantile × the Newey–West ratio
    of the book's own one-step PnL (the same ratio historical uses)."""
    cfg = config(var_horizon_s=30_000.0)
    marks, basis = path(N + 1)
    st = store()
    put_bars(st, marks, basis, 0, N + 1)
    t = bar_ns(N)
    put_book(st, t, qty=-8.0, holdings=10.0)
    snap = st.snapshot(t)
    figs = Evaluator(cfg, started_ns=T0).evaluate(
        snap, t, refresh_models(snap, cfg.evaluation, EMPTY_MODELS, {})
    )
    spot = marks + basis
    r = np.column_stack([np.diff(np.log(spot[:N])), np.diff(np.log(marks[:N]))])
    w = np.array([10.0 * spot[N], -8.0 * marks[N]])
    ratio = _var(figs, "historical", "0.99") / -float(np.quantile(np.expm1(r) @ w, 0.01))  # checked above
    fpnl = np.expm1(_fhs_by_hand(r)) @ w
    assert _var(figs, "filtered_historical", "0.99") == pytest.approx(
        -float(np.quantile(fpnl, 0.01)) * ratio, rel=1e-9
    )
    assert (
        reason(figs, "var_usd", method="filtered_historical", confidence="0.99") == "autocorrelation_scaled"
    )
