"""The replayed path and the market built on it: highs and lows visited, speed, pause, loop, quotes."""

from __future__ import annotations

import math

import numpy as np
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
    """One tick spanning a V still hands the engine the bottom of the V (a mark every 15 replay s)."""
    clock = ManualClock()
    market = _market(clock, PricePath([0.0, 60.0, 120.0], [40_000.0, 30_000.0, 39_000.0]))
    clock.advance(2.0)  # 120 replay seconds in one step
    samples = [s["BTCUSDT"] for s in market.advance()]
    assert len(samples) == 8  # 15, 30, … 105 s, then now
    assert min(samples) == pytest.approx(30_000.0, rel=2e-3)
    # a 25 % minute is a crash: spot now sits above the perp, and the mark between them
    assert samples[-1] == pytest.approx(39_000.0, rel=0.02)


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
    bouncing, holding = (
        _market(clock, path, loop=True, speed=1.0),
        _market(clock, path, loop=False, speed=1.0),
    )
    restarting = Market(replay="crash-2021-05-19", speed=1.0, loop="restart", seed=7, clock=clock, path=path)
    clock.advance(130.0)
    for m in (bouncing, holding, restarting):
        m.advance()
    assert bouncing.replay_s == pytest.approx(70.0)  # back down the path
    assert restarting.replay_s == pytest.approx(30.0)
    assert holding.replay_s == 100.0


@pytest.mark.parametrize("replay", ["crash-2021-05-19", "crash-2024-08-05"])
def test_a_bouncing_replay_has_no_jump_where_the_old_loop_jumped(replay: str) -> None:
    """Two whole loops tick by tick: no step moves any price more than the path itself does in a
    step; the old loop jumped +14.5 % from the 2021-05-19 close back to its open."""
    clock = ManualClock()
    m = Market(replay=replay, speed=60.0, loop=True, seed=7, clock=clock)
    path = m.perp_path
    biggest = float(np.max(np.abs(np.diff(np.log(path.prices)))))  # within one 20 s vertex leg
    prev = m.quotes["BTCUSDT"]
    for _ in range(int(2 * 2 * path.duration_s / 60.0) + 5):  # 1 wall s = 60 replay s
        clock.advance(1.0)
        m.advance()
        q = m.quotes["BTCUSDT"]
        for a, b in ((prev.mark, q.mark), (prev.index, q.index), (prev.last, q.last)):
            assert abs(math.log(b / a)) <= 3 * biggest + 0.01
        prev = q
    assert m.elapsed_s > 4 * path.duration_s


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
    assert q.bid <= q.last < q.ask and q.ask - q.bid == pytest.approx(0.1)  # the book is the perp's
    assert q.spot_bid <= q.index < q.spot_ask and q.spot_ask - q.spot_bid == pytest.approx(0.01)


def test_other_symbols_scale_the_btc_path() -> None:
    clock = ManualClock()
    market = _market(clock)
    assert market.quotes["ETHUSDT"].last == pytest.approx(market.quotes["BTCUSDT"].last * 0.0863, rel=1e-9)
    # the mark is its own symbol's median rule: within the calm premium of the scaled path
    assert market.quotes["ETHUSDT"].mark == pytest.approx(market.quotes["BTCUSDT"].mark * 0.0863, rel=2e-3)
    assert market.quotes["BTCUSDT"].last == load_bars("crash-2021-05-19")[0].open
    assert market.first_mark("BTCUSDT") == market.quotes["BTCUSDT"].mark
