"""The evaluation loop's grid: ticks start on fixed slots, overruns skip slots instead of bursting."""

from __future__ import annotations

import pytest

from monitor.clock import NS_PER_S
from monitor.metronome import Metronome, next_slot_ns


def test_a_short_tick_waits_for_the_rest_of_its_slot() -> None:
    beat = Metronome(1.0, start_ns=0)
    # the tick of slot 0 ended 0.3 s in: sleep 0.7 s, not 1 s (the cadence does not stretch)
    assert beat.delay_s(1.0, round(0.3 * NS_PER_S)) == pytest.approx(0.7)
    # the tick of slot 1 (t = 1 s) ended at 1.9 s: the next slot is t = 2 s
    assert beat.delay_s(1.0, round(1.9 * NS_PER_S)) == pytest.approx(0.1)
    assert beat.skipped == 0


def test_an_overrun_skips_the_slots_it_covered_and_keeps_the_grid() -> None:
    beat = Metronome(1.0, start_ns=0)
    # slot 0's tick ran 2.5 s: slots 1 and 2 began during it; the next tick starts on slot 3
    assert beat.delay_s(1.0, round(2.5 * NS_PER_S)) == pytest.approx(0.5)
    assert beat.skipped == 2
    # back on the grid: slot 3's tick ends at 3.2 s, next at 4 s
    assert beat.delay_s(1.0, round(3.2 * NS_PER_S)) == pytest.approx(0.8)
    assert beat.skipped == 2


def test_a_tick_ending_exactly_on_a_slot_boundary_starts_the_next_one_a_full_interval_on() -> None:
    assert next_slot_ns(0, NS_PER_S, NS_PER_S) == (2 * NS_PER_S, 1)
    assert next_slot_ns(0, NS_PER_S, 0) == (NS_PER_S, 0)


def test_a_reload_that_changes_the_interval_reanchors_at_once() -> None:
    beat = Metronome(1.0, start_ns=0)
    assert beat.delay_s(1.0, round(0.2 * NS_PER_S)) == pytest.approx(0.8)
    # at 1.4 s a reload set 0.25 s: the next tick is 0.25 s away, not on the old 1 s grid
    assert beat.delay_s(0.25, round(1.4 * NS_PER_S)) == pytest.approx(0.25)
    assert beat.delay_s(0.25, round(1.7 * NS_PER_S)) == pytest.approx(0.2)
    assert beat.skipped == 0


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError):
        next_slot_ns(0, 0, 5)
