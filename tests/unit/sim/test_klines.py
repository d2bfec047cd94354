"""The simulator's candles: the past is the replayed path mapped back at the replay's speed, the
present is what the venue published; both in the shapes the venue pages them."""

from __future__ import annotations

import math

import numpy as np

from monitor.clock import ManualClock
from monitor.sim.basis import spot_from_perp
from monitor.sim.klines import MINUTE_MS
from monitor.sim.premium import FAST_SD, PremiumParams
from monitor.sim.server import Simulator
from monitor.sim.testing import TEST_KEYS, fast_config

START_NS = 1_800_000_000 * 1_000_000_000  # a whole minute


def sim(**cfg: object) -> Simulator:
    return Simulator(fast_config(**cfg), dict(TEST_KEYS), ManualClock(START_NS))


def test_the_minute_before_start_is_the_last_replayed_hour_of_the_looping_path() -> None:
    s = sim(speed=60.0)
    start_ms = START_NS // 1_000_000
    (bar,) = s.klines.query("mark", "BTCUSDT", MINUTE_MS, start_ms - MINUTE_MS, None, 1, start_ms)
    path = s.market.path
    d = path.duration_s
    inside = path.prices[(path.times > d - 3600.0) & (path.times < d)]
    assert bar.open == round(path.price_at(d - 3600.0), 8)
    assert bar.close == round(path.price_at(0.0), 8) == s.market.first_mark("BTCUSDT")  # continuous at start
    assert bar.high == round(max(inside.max(), path.price_at(d - 3600.0), path.price_at(0.0)), 8)
    assert bar.low == round(min(inside.min(), path.price_at(d - 3600.0), path.price_at(0.0)), 8)
    eth_ratio = s.market.specs["ETHUSDT"].ratio[s.market.event]
    (eth,) = s.klines.query("mark", "ETHUSDT", MINUTE_MS, start_ms - MINUTE_MS, None, 1, start_ms)
    assert eth.close == round(path.price_at(0.0) * eth_ratio, 8)


def test_mark_candles_are_the_mark_path_not_the_last_trades() -> None:
    """The past the candles serve is the market's mark (median rule over index, mid basis, last):
    over a whole loop a day's candle spans exactly the mark path, which parts from the last price
    by more than the calm premium (its level and five sd of its wander) where the crash drives spot
    above the perp."""
    s = sim(speed=60.0)
    start_ms = START_NS // 1_000_000
    day = 1_440 * MINUTE_MS
    (bar,) = s.klines.query("mark", "BTCUSDT", day, start_ms - 2 * day, None, 1, start_ms)
    mark = s.market.path
    assert (bar.high, bar.low) == (round(float(mark.prices.max()), 8), round(float(mark.prices.min()), 8))
    t = mark.times[: len(mark.times) // 2]
    last = np.interp(t, s.market.perp_path.times, s.market.perp_path.prices)
    calm = PremiumParams.for_symbol("BTCUSDT", s.market.event)
    beyond_calm = abs(calm.level) + 5 * math.hypot(calm.calm_sd, FAST_SD)
    assert np.max(np.abs(mark.prices[: len(t)] / last - 1)) > beyond_calm


def test_spot_candles_ride_the_basis_walked_back_from_start() -> None:
    s = sim()
    start_ms = START_NS // 1_000_000
    (mark,) = s.klines.query("mark", "BTCUSDT", MINUTE_MS, start_ms - MINUTE_MS, None, 1, start_ms)
    (spot,) = s.klines.query("spot", "BTCUSDT", MINUTE_MS, start_ms - MINUTE_MS, None, 1, start_ms)
    q = s.market.quotes["BTCUSDT"]
    assert spot.close == round(0.5 * (q.spot_bid + q.spot_ask), 8)  # the last minute ends on today's basis
    assert abs(spot.close - spot_from_perp(mark.close, s.market.basis_bps)) <= 0.01
    day = s.klines.query("spot", "BTCUSDT", MINUTE_MS, None, start_ms - MINUTE_MS, 1440, start_ms)
    marks = s.klines.query("mark", "BTCUSDT", MINUTE_MS, None, start_ms - MINUTE_MS, 1440, start_ms)
    bps = np.array([(sp.close - m.close) / sp.close * 1e4 for sp, m in zip(day, marks, strict=True)])
    assert np.std(bps) > 1.0 and np.all(np.abs(bps) < 1_000)  # a moving, bounded basis, not a constant


def test_minutes_since_start_are_what_the_venue_published() -> None:
    s = sim()
    clock = s.clock
    assert isinstance(clock, ManualClock)
    published = []
    for _ in range(30):  # 30 ticks of 4 s: two minutes of publishing
        clock.advance(4.0)
        s.tick()
        published.append((clock.now_ns() // 1_000_000, s.market.quotes["BTCUSDT"].mark))
    start_ms = START_NS // 1_000_000
    now_ms = clock.now_ns() // 1_000_000
    bars = s.klines.query("mark", "BTCUSDT", MINUTE_MS, start_ms, None, 10, now_ms)
    assert [b.open_ms for b in bars] == [start_ms, start_ms + MINUTE_MS, start_ms + 2 * MINUTE_MS]
    first = [
        p for t, p in [(start_ms, s.market.first_mark("BTCUSDT")), *published] if t < start_ms + MINUTE_MS
    ]
    assert (bars[0].open, bars[0].high, bars[0].low, bars[0].close) == (
        first[0],
        max(first),
        min(first),
        first[-1],
    )
    assert bars[-1].close == s.market.quotes["BTCUSDT"].mark


def test_paging_rules_forward_from_start_backwards_from_end() -> None:
    s = sim()
    now_ms = START_NS // 1_000_000
    fwd = s.klines.query("mark", "BTCUSDT", MINUTE_MS, now_ms - 100 * MINUTE_MS - 1, None, 10, now_ms)
    assert [b.open_ms for b in fwd] == [now_ms - (100 - k) * MINUTE_MS for k in range(10)]
    back = s.klines.query("mark", "BTCUSDT", MINUTE_MS, None, now_ms - 50 * MINUTE_MS + 5, 3, now_ms)
    assert [b.open_ms for b in back] == [now_ms - k * MINUTE_MS for k in (52, 51, 50)]
    hourly = s.klines.query("mark", "BTCUSDT", 60 * MINUTE_MS, None, None, 2, now_ms)
    minutes = s.klines.query("mark", "BTCUSDT", MINUTE_MS, hourly[0].open_ms, None, 60, now_ms)
    assert hourly[0].close == minutes[-1].close and hourly[0].open == minutes[0].open
    assert hourly[0].high == max(m.high for m in minutes) and hourly[0].low == min(m.low for m in minutes)
