"""The replayed path and the market built on it: highs and lows visited, speed, pause, loop, quotes."""

from __future__ import annotations

import pytest

from monitor.clock import ManualClock
from monitor.sim.market import Market
from monitor.sim.numfmt import f8
from monitor.sim.replay import PricePath, load_bars


def test_each_event_loads_its_rows() -> None:
    assert [len(load_bars(r)) for r in ("crash-2020-03-12", "crash-2021-05-19", "crash-2024-08-05")] == [
        872,
        271,
        270,
    ]


def test_path_visits_every_high_and_low_nearer_extreme_first() -> None:
    """Inside a bar: open → the extreme nearer the open → the other → close."""
    bars = load_bars("crash-2021-05-19")
    path = PricePath.from_bars(bars)
    assert min(path.prices) == min(b.low for b in bars) == 28_688.0
    assert max(path.prices) == max(b.high for b in bars)
    for i, b in enumerate(bars[:50]):
        o, first, second, c = path.prices[4 * i : 4 * i + 4]
        assert (o, c) == (b.open, b.close)
        assert {first, second} == {b.low, b.high}
        assert abs(first - o) <= abs(second - o)


def test_vertices_between_lists_only_the_skipped_points() -> None:
    path = PricePath([0.0, 10.0, 20.0, 30.0], [100.0, 90.0, 110.0, 105.0])
    assert path.vertices_between(0.0, 30.0) == [(10.0, 90.0), (20.0, 110.0)]
    assert path.price_at(5.0) == 95.0


def _market(
    clock: ManualClock, path: PricePath | None = None, loop: bool = True, speed: float = 60.0
) -> Market:
    return Market(replay="crash-2021-05-19", speed=speed, loop=loop, seed=7, clock=clock, path=path)


def test_a_coarse_step_still_reports_the_low_it_crossed() -> None:
    """One tick spanning a V still hands the engine the bottom of the V."""
    clock = ManualClock()
    market = _market(clock, PricePath([0.0, 60.0, 120.0], [40_000.0, 30_000.0, 39_000.0]))
    clock.advance(2.0)  # 120 replay seconds in one step
    samples = market.advance()
    assert [s["BTCUSDT"] for s in samples] == [30_000.0, 39_000.0]


def test_speed_pause_and_resume() -> None:
    clock = ManualClock()
    market = _market(clock)
    clock.advance(1.5)
    market.advance()
    assert market.replay_s == pytest.approx(90.0)
    market.pause()
    clock.advance(10.0)
    market.advance()
    assert market.replay_s == pytest.approx(90.0)
    market.resume()
    clock.advance(0.5)
    market.advance()
    assert market.replay_s == pytest.approx(120.0)


def test_replay_loops_or_holds_at_the_end() -> None:
    clock = ManualClock()
    path = PricePath([0.0, 100.0], [100.0, 200.0])
    looping, holding = _market(clock, path, loop=True, speed=1.0), _market(clock, path, loop=False, speed=1.0)
    clock.advance(150.0)
    looping.advance()
    holding.advance()
    assert looping.replay_s == pytest.approx(50.0)
    assert holding.replay_s == 100.0


def test_quotes_are_stamped_with_the_clock_not_the_replay() -> None:
    clock = ManualClock(start_ns=1_795_000_000_123_000_000)
    market = _market(clock)
    assert market.quotes["BTCUSDT"].time_ms == 1_795_000_000_123


def test_published_strings_reparse_to_the_quote_floats() -> None:
    """Every price in a quote is already quantized to its 8-decimal string."""
    clock = ManualClock()
    market = _market(clock)
    for _ in range(20):
        clock.advance(0.7)
        market.advance()
        for q in market.quotes.values():
            for value in (q.mark, q.index, q.bid, q.ask, q.spot_bid, q.spot_ask, q.funding_rate):
                assert float(f8(value)) == value


def test_books_straddle_their_prices_on_the_tick_grid() -> None:
    clock = ManualClock()
    market = _market(clock)
    q = market.quotes["BTCUSDT"]
    assert q.bid <= q.mark < q.ask and q.ask - q.bid == pytest.approx(0.1)
    assert q.spot_bid <= q.index < q.spot_ask and q.spot_ask - q.spot_bid == pytest.approx(0.01)


def test_other_symbols_scale_the_btc_path() -> None:
    clock = ManualClock()
    market = _market(clock)
    assert market.quotes["ETHUSDT"].mark == pytest.approx(market.quotes["BTCUSDT"].mark * 0.0863, rel=1e-9)
    assert market.first_mark("BTCUSDT") == load_bars("crash-2021-05-19")[0].open
