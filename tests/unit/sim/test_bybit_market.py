"""The simulated Bybit market: one replay, a venue premium of its own, Bybit funding on its own grid.

Also the funding-sign check asked for in issue 8: the settled rate (either venue) is the venue
formula applied to the interval's averaged premium index (flat on Binance, growing weights on
Bybit), so when spot sits above the perp over an interval (positive basis) funding is negative.
"""

from __future__ import annotations

import statistics

import pytest

from monitor.clock import ManualClock
from monitor.sim.bybit.market import BybitMarket, bybit_funding_rate
from monitor.sim.bybit.symbols import bybit_spec
from monitor.sim.market import Market
from monitor.sim.server import Simulator
from monitor.sim.testing import BYBIT_TEST_KEYS, TEST_KEYS, bybit_config

SPEED = 60.0


def _rig(seed: int = 7, start_ns: int | None = None) -> tuple[ManualClock, Market, BybitMarket]:
    clock = ManualClock() if start_ns is None else ManualClock(start_ns)
    base = Market(replay="crash-2021-05-19", speed=SPEED, loop=True, seed=seed, clock=clock)
    return clock, base, BybitMarket(base, seed=seed, speed=SPEED, clock=clock)


def _step(
    clock: ManualClock, base: Market, bybit: BybitMarket, seconds: float = 1.0
) -> list[dict[str, float]]:
    clock.advance(seconds)
    return bybit.advance(base.advance())


def test_bybit_perp_is_the_binance_perp_times_its_premium_on_the_same_index() -> None:
    """Bybit's last = Binance's last × (1 + venue spread), on the same index; its mark is the median
    rule's, so it lies between the index-based prices and its last, never beyond both."""
    clock, base, bybit = _rig()
    for _ in range(50):
        samples = _step(clock, base, bybit, 7.0)
        assert samples[-1] == bybit.marks()
        for symbol, q in bybit.quotes.items():
            spec = bybit.specs[symbol]
            b = base.quotes[symbol]
            tick = float(spec.tick)
            assert q.last == pytest.approx(b.last * (1 + bybit.spreads[symbol].bps / 1e4), abs=tick * 1.01)
            assert q.index == round(b.index, spec.price_scale)
            venue_gap = q.last / b.last - 1  # Bybit's premium = Binance's + its spread (over the last)
            assert venue_gap == pytest.approx(bybit.spreads[symbol].bps / 1e4, abs=tick / q.last + 1e-7)
            lo, hi = sorted((q.index * 0.995, q.last))
            assert lo - tick <= q.mark <= max(hi, q.index * 1.005) + tick


def test_venue_premium_reverts_around_its_mean_with_its_sd() -> None:
    _clock, _base, bybit = _rig()
    seen: dict[str, list[float]] = {s: [] for s in bybit.specs}
    for _ in range(20_000):  # 20,000 × 60 replay s ≈ 1,000 half-lives
        for s, p in bybit.spreads.items():
            seen[s].append(p.step(60.0))
    for s, xs in seen.items():
        spec = bybit.specs[s]
        assert statistics.fmean(xs) == pytest.approx(spec.spread_mu_bps, abs=0.25 * spec.spread_sd_bps)
        assert statistics.pstdev(xs) == pytest.approx(spec.spread_sd_bps, rel=0.25)


def test_basis_and_funding_differ_between_the_venues() -> None:
    clock, base, bybit = _rig()
    funding_gap, mark_gap, spot_gap = set(), set(), set()
    for _ in range(600):
        _step(clock, base, bybit, 3.0)
        y, b = bybit.quotes["BTCUSDT"], base.quotes["BTCUSDT"]
        funding_gap.add(y.funding_rate != b.funding_rate)
        mark_gap.add(y.mark != b.mark)
        spot_gap.add(y.spot_bid != b.spot_bid)
    assert True in funding_gap and True in mark_gap and True in spot_gap


@pytest.mark.parametrize(
    ("symbol", "premium", "expected"),
    [
        ("BTCUSDT", 0.0002, 0.0001),  # inside the clamp: the interest rate
        ("BTCUSDT", 0.0030, 0.0025),  # above it: premium − 0.05 %
        ("BTCUSDT", -0.0100, -0.005),  # floored at −fundingCap
        ("SOLUSDT", 0.0002, 0.0000125),  # hourly: the premium counts 1/8, inside the clamp: interest
        ("SOLUSDT", 0.002, 0.0001875),  # 0.002 / 8 − 0.05 % / 8
        ("SOLUSDT", -0.002, -0.0001875),
    ],
)
def test_bybit_funding_formula(symbol: str, premium: float, expected: float) -> None:
    spec = bybit_spec(symbol)
    assert spec is not None
    assert bybit_funding_rate(premium, spec) == pytest.approx(expected, abs=1e-12)


def test_funding_has_the_sign_of_the_basis_over_the_interval_on_both_venues() -> None:
    """2021-05-19 10:03 → 14:33, all in the 08:00–16:00 interval: over the crash spot sits above
    the perp (positive basis), so the interval's averaged premium index is below zero beyond clamp
    and interest, and both venues' running rates at the end are negative. (That each rate is the
    formula of that average is test_funding_path.py's.)"""
    clock = ManualClock()
    base = Market(replay="crash-2021-05-19", speed=SPEED, loop="stop", seed=7, clock=clock)
    bybit = BybitMarket(base, seed=7, speed=SPEED, clock=clock)
    basis: list[float] = []
    while base.elapsed_s < base.duration_s:
        clock.advance(1.0)
        bybit.advance(base.advance())
        q = base.quotes["BTCUSDT"]
        basis.append((q.index - q.last) / q.index)
    assert statistics.fmean(basis) > 0
    for market in (base, bybit):
        assert market.quotes["BTCUSDT"].funding_rate < 0
    avg = base.funding_paths["BTCUSDT"].avg[-1]
    assert avg < -0.0006


def test_hourly_symbol_settles_every_hour_on_bybit_only() -> None:
    """SOLUSDT is 1 h on Bybit, 4 h on Binance: at the next whole hour only Bybit's SOL pays (carol)."""
    hour = 3_600_000
    clock = ManualClock()
    sim = Simulator(bybit_config(speed=1.0), TEST_KEYS | BYBIT_TEST_KEYS, clock)
    boundary = (sim.bybit.now_ms() // hour + 1) * hour
    assert boundary % (4 * hour) != 0  # not a Binance SOL (4 h) or BTC (8 h) settlement too
    sol = sim.bybit.engine.position("carol", "SOLUSDT")
    assert sol is not None
    wallet0 = sim.bybit.engine.wallet("carol").wallet
    n_sol = len(sim.bybit.funding.query("SOLUSDT", None, None, 10**6))
    n_btc = len(sim.bybit.funding.query("BTCUSDT", None, None, 10**6))
    while sim.bybit.now_ms() < boundary:
        clock.advance(30.0)
        sim.tick()
    rows = sim.bybit.funding.query("SOLUSDT", None, None, 10**6)
    assert len(rows) == n_sol + 1 and rows[-1].time_ms == boundary
    assert len(sim.bybit.funding.query("BTCUSDT", None, None, 10**6)) == n_btc
    assert sim.funding.query("SOLUSDT", boundary, None, 10) == []
    mark, rate = rows[-1].mark, rows[-1].rate
    assert mark is not None and rate != 0
    assert sim.bybit.engine.wallet("carol").wallet == pytest.approx(wallet0 - sol.qty * mark * rate, abs=1e-6)
