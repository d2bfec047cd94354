"""The running funding estimate is the replayed moment's (funding_path.py), on both venues.

The estimate a venue shows is its premium index averaged from the start of the interval to now,
through its formula. The checks recompute that average independently, by a plain loop over the
market's own premium grid on the replayed day's clock, and compare it with what the quotes carry,
tick by tick through a bounce: forwards, backwards over the same moments, forwards again.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from monitor.clock import ManualClock
from monitor.sim.bybit.market import BybitMarket, bybit_funding_rate
from monitor.sim.funding import funding_rate
from monitor.sim.funding_path import running_average
from monitor.sim.market import Market
from monitor.sim.premium import PremiumParams, impact_premium

H8 = 8 * 3600.0


def _average_by_loop(market: Market, t: float, *, spread: float, linear: bool) -> float:
    """The premium index averaged over [interval start, the moment at path time t], summed point by
    point: point j's premium holds over (point j−1, point j]; before the first bar, the calm level.
    A moment on a boundary closes the interval that ends there."""
    ser = market.series["BTCUSDT"]
    event = market.epoch_s + (ser.t - ser.t[0])
    moment = market.epoch_s + t - float(ser.t[0])
    start = math.ceil(moment / H8) * H8 - H8
    level = PremiumParams.for_symbol("BTCUSDT", market.event).level + spread
    num = den = 0.0
    if event[0] > start:
        lead = float(event[0]) - start
        w = lead * lead / 2 if linear else lead
        num, den = level * w, w
    for j in range(1, len(event)):
        a = max(float(event[j - 1]), start) - start
        b = min(float(event[j]), moment) - start
        if b <= a:
            continue
        w = (b * b - a * a) / 2 if linear else b - a
        p = impact_premium(float(ser.last[j]) * (1 + spread), float(ser.index[j]), bool(ser.crash[j]))
        num, den = num + p * w, den + w
    return num / den


def test_both_venues_show_the_estimate_of_the_replayed_moment_through_a_bounce() -> None:
    clock = ManualClock()
    binance = Market(replay="crash-2021-05-19", speed=60.0, loop="bounce", seed=7, clock=clock)
    bybit = BybitMarket(binance, seed=7, speed=60.0, clock=clock)
    spec_b, spec_y = binance.specs["BTCUSDT"], bybit.specs["BTCUSDT"]
    step = binance.series["BTCUSDT"].step
    seen: dict[float, tuple[float, float]] = {}
    checked = revisited = 0
    ticks = int(2.2 * binance.duration_s / 60.0)  # forwards, all the way back, and on again
    for k in range(ticks):
        clock.advance(1.0)
        bybit.advance(binance.advance())
        if k % 23:  # every 23rd tick: the loop below is slow
            continue
        t = binance.replay_s
        rates = (binance.quotes["BTCUSDT"].funding_rate, bybit.quotes["BTCUSDT"].funding_rate)
        x = (t - binance.series["BTCUSDT"].t[0]) / step
        if abs(x - round(x)) < 1e-6:  # on a grid point: the loop's sum is exact there
            want_b = funding_rate(
                _average_by_loop(binance, t, spread=0.0, linear=False),
                spec_b.interest_rate, spec_b.funding_cap, 8,
            )  # fmt: skip
            want_y = bybit_funding_rate(
                _average_by_loop(binance, t, spread=spec_y.spread_mu_bps / 1e4, linear=True), spec_y
            )
            assert rates == (pytest.approx(want_b, abs=2e-8), pytest.approx(want_y, abs=2e-8))
            checked += 1
        key = round(t, 6)
        if key in seen:
            assert rates == seen[key]  # the same moment, played again, shows the same estimate
            revisited += 1
        seen[key] = rates
    assert checked >= 5 and binance.elapsed_s > 2 * binance.duration_s
    # neither venue is ever pinned at its cap, as the replay-time accrual was from six minutes in
    assert all(abs(b) < spec_b.funding_cap and abs(y) < spec_y.funding_cap for b, y in seen.values())


def test_a_path_over_a_boundary_settles_the_whole_interval_and_starts_afresh() -> None:
    """2024-08-05 04:28 → 08:57 crosses 08:00: the 08:00 settlement is the formula of the average
    over 00:00–08:00 (the hours before the first bar at the calm level); just after it, the estimate
    is the new interval's few minutes."""
    clock = ManualClock()
    binance = Market(replay="crash-2024-08-05", speed=60.0, loop="stop", seed=3, clock=clock)
    bybit = BybitMarket(binance, seed=3, speed=60.0, clock=clock)
    while binance.elapsed_s < binance.duration_s:
        clock.advance(1.0)
        bybit.advance(binance.advance())
    ser = binance.series["BTCUSDT"]
    boundary = math.ceil(binance.epoch_s / H8) * H8
    t_before = boundary - binance.epoch_s + float(ser.t[0])
    spec_b, spec_y = binance.specs["BTCUSDT"], bybit.specs["BTCUSDT"]
    want_b = funding_rate(_average_by_loop(binance, t_before, spread=0.0, linear=False), 1e-4, 0.003, 8)
    mu = spec_y.spread_mu_bps / 1e4
    want_y = bybit_funding_rate(_average_by_loop(binance, t_before, spread=mu, linear=True), spec_y)
    ((b_time, b_rate),) = binance.replay_settlements["BTCUSDT"]
    ((y_time, y_rate),) = bybit.replay_settlements["BTCUSDT"]
    assert b_time == y_time == boundary
    assert b_rate == pytest.approx(want_b, abs=2e-8) and y_rate == pytest.approx(want_y, abs=2e-8)
    assert spec_b.funding_cap > 0


def test_running_average_resets_at_each_boundary_and_weighs_the_lead_in() -> None:
    """A hand-sized grid: 1 h steps over two 8 h intervals, premium 1 … 12, lead-in of 2 h at 0.5."""
    event = 2 * 3600.0 + np.arange(12) * 3600.0  # 02:00 … 13:00
    premium = np.arange(1.0, 13.0)
    flat = running_average(event, premium, H8, 0.5, linear=False)
    # 05:00: lead 2 h at 0.5, then 1 h each at 2, 3, 4 (the first point holds over nothing)
    assert flat.avg[3] == pytest.approx((0.5 * 2 + 2 + 3 + 4) / 5)
    assert flat.settlements == ((H8, pytest.approx((0.5 * 2 + 2 + 3 + 4 + 5 + 6 + 7) / 8)),)
    assert flat.avg[6] == 7.0  # 08:00 exactly: the new interval has no weight yet, the premium itself
    assert flat.avg[8] == pytest.approx((8 + 9) / 2)  # 10:00: 08–09 at 8, 09–10 at 9
    linear = running_average(event, premium, H8, 0.5, linear=True)
    # minute weights growing through the interval: the hour (a, b] weighs (b² − a²)/2
    num = 0.5 * 2 * 2 / 2 + 2 * (9 - 4) / 2 + 3 * (16 - 9) / 2 + 4 * (25 - 16) / 2
    assert linear.avg[3] == pytest.approx(num / (25 / 2))
    avg, until = flat.at(3.5)  # halfway between 05:00 and 06:00
    assert avg == pytest.approx((flat.avg[3] + flat.avg[4]) / 2) and until == pytest.approx(2.5 * 3600)
