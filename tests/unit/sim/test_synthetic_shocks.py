"""Synthetic GARCH-t + jump paths, scripted shocks and corrupted frames: the market-side scenario tools."""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.clock import ManualClock
from monitor.sim.binance.streams import render
from monitor.sim.corrupt import PRICE_FIELDS, corrupt
from monitor.sim.market import Market
from monitor.sim.replay import PricePath, load_bars
from monitor.sim.scenarios import SCENARIOS
from monitor.sim.server import Simulator
from monitor.sim.shocks import Shock, apply_shock
from monitor.sim.synthetic import GarchJumpParams, garch_jump_returns, synthetic_path
from monitor.sim.testing import fast_config


def test_same_seed_same_path_other_seed_other_path() -> None:
    a = synthetic_path(30_000.0, 2.0, seed=11)
    b = synthetic_path(30_000.0, 2.0, seed=11)
    c = synthetic_path(30_000.0, 2.0, seed=12)
    assert np.array_equal(a.prices, b.prices) and not np.array_equal(a.prices, c.prices)
    assert a.prices[0] == 30_000.0 and a.duration_s == pytest.approx(2 * 86_400.0)
    assert np.all(a.prices > 0) and np.all(np.diff(a.times) == 60.0)


def test_series_has_the_garch_t_jump_properties() -> None:
    """60 days of minutes: long-run vol near the target, fat tails, clustering, jumps at the set rate."""
    p = GarchJumpParams()
    days = 60
    s = garch_jump_returns(days * 1_440, seed=3, params=p)
    diffusive = s.returns - s.jumps
    annual = float(np.std(diffusive)) * math.sqrt(365 * 1_440)
    assert annual == pytest.approx(p.annual_vol, rel=0.15)
    z = diffusive / s.sigma  # standardised t: excess kurtosis 6 / (nu - 4) is infinite at nu = 4
    kurt = float(np.mean(z**4) / np.mean(z**2) ** 2)
    assert kurt > 4.5
    sq = diffusive**2 - np.mean(diffusive**2)
    lag1 = float(np.sum(sq[1:] * sq[:-1]) / np.sum(sq * sq))
    assert lag1 > 0.05  # volatility clusters; iid returns would give ~0 (sd ~ 1/sqrt(n) = 0.003)
    n_jumps = int(np.count_nonzero(s.jumps))
    expected = p.jumps_per_day * days
    assert abs(n_jumps - expected) < 4 * math.sqrt(expected)
    # the recursion: sigma²[k+1] = ω + α ε[k]² + β sigma²[k]
    omega = p.step_variance * (1 - p.alpha - p.beta)
    assert np.allclose(s.sigma[1:] ** 2, omega + p.alpha * diffusive[:-1] ** 2 + p.beta * s.sigma[:-1] ** 2)


def test_params_are_checked() -> None:
    with pytest.raises(ValueError, match="alpha"):
        GarchJumpParams(alpha=0.5, beta=0.6)
    with pytest.raises(ValueError, match="nu"):
        GarchJumpParams(nu=2.0)


def test_a_synthetic_path_feeds_the_market_like_a_replay() -> None:
    """The market takes it as its path: marks follow it (other symbols scaled), spot via the OU basis."""
    clock = ManualClock()
    path = synthetic_path(50_000.0, 1.0, seed=5)
    m = Market(replay="crash-2021-05-19", speed=60.0, loop=True, seed=1, clock=clock, path=path)
    clock.advance(30.0)  # 30 replay minutes
    samples = m.advance()
    assert m.quotes["BTCUSDT"].last == pytest.approx(path.price_at(1_800.0), abs=1e-8)
    assert len(samples) == 120  # a mark every 15 replay seconds, the last one now
    q = m.quotes["BTCUSDT"]
    assert q.index != q.mark and abs(q.index / q.mark - 1) < 0.05


def test_shock_moves_the_path_by_the_fraction_over_the_window() -> None:
    path = PricePath([0.0, 1_000.0, 2_000.0], [100.0, 110.0, 100.0], [1.0, 1.0, 1.0])
    shocked = apply_shock(path, Shock(at_s=500.0, move=-0.2, over_s=60.0))
    assert shocked.price_at(499.0) == pytest.approx(path.price_at(499.0))
    assert shocked.price_at(560.0) == pytest.approx(path.price_at(560.0) * 0.8)
    assert shocked.price_at(1_500.0) == pytest.approx(path.price_at(1_500.0) * 0.8)
    # half-way: half the move (to within the linear interpolation between the window's vertices)
    assert shocked.price_at(530.0) == pytest.approx(path.price_at(530.0) * 0.9, rel=1e-3)
    assert {500.0, 560.0} <= set(shocked.times.tolist())  # the window's ends are vertices
    assert shocked.volume_at(2_000.0) == path.volume_at(2_000.0)


def test_a_gap_shock_jumps_at_once() -> None:
    path = PricePath([0.0, 100.0], [100.0, 100.0])
    gap = apply_shock(path, Shock(at_s=50.0, move=-0.5, over_s=0.0))
    assert gap.price_at(49.9) == pytest.approx(100.0) and gap.price_at(50.0) == pytest.approx(50.0)


def test_the_engine_sees_the_bottom_of_a_shock_a_coarse_tick_jumps_over() -> None:
    clock = ManualClock()
    path = PricePath([0.0, 10_000.0], [40_000.0, 40_000.0])
    m = Market(replay="crash-2021-05-19", speed=1.0, loop=False, seed=1, clock=clock, path=path)
    m.apply_shock(Shock(at_s=100.0, move=-0.2, over_s=0.0))  # a market-wide gap: spot too
    m.apply_shock(Shock(at_s=160.0, move=0.25, over_s=0.0))  # straight back up a minute later
    clock.advance(400.0)
    lows = [s["BTCUSDT"] for s in m.advance()]
    assert min(lows) == pytest.approx(32_000.0, rel=2e-3)
    assert m.quotes["BTCUSDT"].mark == pytest.approx(40_000.0, rel=2e-3)


def test_shock_arguments_are_checked() -> None:
    with pytest.raises(ValueError):
        Shock(at_s=0.0, move=-1.0)
    with pytest.raises(ValueError):
        Shock(at_s=-1.0, move=-0.1)


@pytest.mark.parametrize("kind", ["nan", "negative", "zero", "wrong_type"])
def test_corruption_breaks_prices_only(kind: str) -> None:
    clock = ManualClock()
    m = Market(replay="crash-2021-05-19", speed=1.0, loop=True, seed=1, clock=clock)
    for name in ("btcusdt@markPrice@1s", "btcusdt@bookTicker", "!markPrice@arr@1s", "btcusdt@miniTicker"):
        (good,) = render(name, "futures", m, 0)
        bad = corrupt(good, kind)  # type: ignore[arg-type]
        rows = zip(good, bad, strict=True) if isinstance(good, list) else [(good, bad)]
        for g, b in rows:
            assert set(g) == set(b)
            for k in g:
                if k in PRICE_FIELDS:
                    value = b[k]
                    if kind == "nan":
                        assert value == "NaN"
                    elif kind == "zero":
                        assert float(value) == 0.0
                    elif kind == "negative":
                        assert float(value) == -float(g[k])
                    else:
                        assert isinstance(value, float) and value == float(g[k])
                elif k == "E" and kind == "wrong_type":
                    assert b[k] == str(g[k])
                else:
                    assert b[k] == g[k]


def test_simulator_runs_a_synthetic_path_when_configured() -> None:
    """`path = "synthetic"`: the seeded path from the replay's first price, `synthetic_days` long."""
    cfg = fast_config(path="synthetic", synthetic_days=3.0, seed=21)
    sim = Simulator(cfg, {}, ManualClock())
    want = synthetic_path(load_bars(cfg.replay)[0].open, 3.0, 21)
    assert np.array_equal(sim.market.perp_path.prices, want.prices)
    assert sim.market.quotes["BTCUSDT"].last == pytest.approx(want.prices[0], abs=1e-8)
    replay = Simulator(fast_config(), {}, ManualClock())
    assert replay.market.perp_path.duration_s < 86_400.0  # the crash window, not a synthetic month


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_scenario_builds_a_simulator(name: str) -> None:
    scenario = SCENARIOS[name]
    sim = Simulator(fast_config(**scenario.overrides), {}, ManualClock())
    for shock in scenario.shocks:
        sim.market.apply_shock(shock)
    assert sim.market.perp_path.duration_s > max((s.at_s + s.over_s for s in scenario.shocks), default=0.0)
