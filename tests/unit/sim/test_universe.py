"""The generated universe (monitor/sim/universe.py): deterministic, venue-shaped, correlations spread."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from monitor.clock import ManualClock
from monitor.sim.brackets import tier_for
from monitor.sim.market import Market
from monitor.sim.replay import PricePath, load_bars
from monitor.sim.universe import generate_universe, universe_accounts, universe_keys

REPLAY = "crash-2021-05-19"


@pytest.fixture(scope="module")
def path() -> PricePath:
    return PricePath.from_bars(load_bars(REPLAY))


def test_the_same_seed_draws_the_same_world_and_a_bigger_one_extends_it(path: PricePath) -> None:
    a, b, big = generate_universe(20, 7, path), generate_universe(20, 7, path), generate_universe(40, 7, path)
    assert a.specs == b.specs and np.array_equal(a.idio, b.idio)
    assert big.specs[:20] == a.specs and np.array_equal(big.idio[:20], a.idio)  # prefix-stable
    other = generate_universe(20, 8, path)
    assert [s.tick for s in other.specs] != [s.tick for s in a.specs]
    assert universe_keys(7, "u001") == universe_keys(7, "u001") != universe_keys(8, "u001")


def test_filters_tiers_and_funding_are_ones_the_venue_could_publish(path: PricePath) -> None:
    u = generate_universe(200, 7, path)
    levels = [float(x) for x in u.level]
    assert min(levels) < 0.01 and max(levels) > 1_000  # orders of magnitude apart
    assert {s.funding_hours for s in u.specs} == {1, 4, 8}
    for spec, level in zip(u.specs, levels, strict=True):
        tick, step = float(spec.tick), float(spec.step)
        assert 1e-5 <= tick / level < 1e-3  # about one part in 10^4
        assert 0.5 <= step * level <= 50 or step in (0.001, 1000.0)  # a step worth a few dollars
        assert spec.price_precision == len(spec.tick.partition(".")[2])
        assert spec.funding_cap >= 0.003 and spec.interest_rate == pytest.approx(
            1e-4 * spec.funding_hours / 8
        )
        tiers = u.brackets[spec.symbol]
        assert tiers[0].floor == 0 and tiers[0].cum == 0
        for lo, hi in itertools.pairwise(tiers):
            assert lo.cap == hi.floor and hi.mmr > lo.mmr and hi.max_leverage <= lo.max_leverage
            # cum keeps maintenance margin continuous at each floor (the venue's recursion)
            at = hi.floor
            assert at * lo.mmr - lo.cum == pytest.approx(at * hi.mmr - hi.cum, abs=1e-6)


def test_returns_correlate_with_the_base_path_over_a_spread(path: PricePath) -> None:
    u = generate_universe(50, 7, path)
    t = u.grid_t[::4]  # 1-minute returns (the replay is 4.5 h: 5-minute ones would be few and noisy)
    base = np.interp(t, path.times, path.prices)
    prices = np.array([p * u.multipliers(float(x), float(p)) for x, p in zip(t, base, strict=True)]).T
    r_base = np.diff(np.log(base))
    corr = np.array([np.corrcoef(r_base, np.diff(np.log(row)))[0, 1] for row in prices])
    assert corr.min() > 0.2 and corr.max() < 0.97
    assert corr.min() < 0.5 and corr.max() > 0.85  # spread from loose to tight
    assert np.corrcoef(corr, u.rho)[0, 1] > 0.9  # each contract near the ρ it was drawn with


def test_generated_positions_fit_their_tiers_and_most_accounts_are_safe(path: PricePath) -> None:
    m = Market(replay=REPLAY, speed=60, loop=True, seed=7, clock=ManualClock(), universe_symbols=60)
    assert m.universe is not None
    accounts = universe_accounts(m.universe, 6, 120, 7, m.first_mark)
    legs = [(a.name, p) for a in accounts for p in a.positions]
    assert len(legs) == 120 and {a.name for a in accounts} == {f"u{k:03d}" for k in range(1, 7)}
    for a in accounts:
        assert len({p.symbol for p in a.positions}) == len(a.positions) == 20
    modes = [p.margin_mode for _, p in legs]
    assert 0.05 < modes.count("isolated") / len(modes) < 0.4
    assert {p.qty > 0 for _, p in legs} == {True, False}
    for _, p in legs:
        tiers = m.universe.brackets[p.symbol]
        assert p.leverage <= tier_for(tiers, abs(p.qty) * (p.entry_price or 0)).max_leverage
        assert math.isclose(
            abs(p.qty) / float(m.specs[p.symbol].step),
            round(abs(p.qty) / float(m.specs[p.symbol].step)),
            rel_tol=1e-9,
        )


def test_the_market_moves_every_generated_contract_with_the_base(path: PricePath) -> None:
    clock = ManualClock()
    m = Market(replay=REPLAY, speed=60, loop=True, seed=7, clock=clock, universe_symbols=30)
    before = m.marks()
    clock.advance(600.0)
    samples = m.advance()
    after = m.marks()
    assert len(after) == 34 and all(after[s] > 0 for s in after)
    assert sum(after[s] != before[s] for s in after) == 34
    assert all(set(s) == set(after) for s in samples)  # every sample carries every contract
    q = m.quotes["U0001USDT"]
    assert q.bid < q.ask and q.index > 0 and abs(q.funding_rate) <= m.specs["U0001USDT"].funding_cap
