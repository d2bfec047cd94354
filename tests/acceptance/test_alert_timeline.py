"""Timeline scenarios for the rule engine: push a figure path At(t), expect events Between(t1, t2)."""

from __future__ import annotations

import math

from monitor.config import LevelConfig, RuleConfig
from monitor.records import AlertState
from tests.acceptance.alert_timeline import GONE, Between, Stale, Timeline

NAN = math.nan


def margin_rule(for_s: float = 5.0, repeat_s: float = 0.0) -> RuleConfig:
    return RuleConfig(
        name="MarginRatioHigh",
        figure="margin_ratio",
        op=">",
        levels=(
            LevelConfig(severity="warning", threshold=0.8, clear=0.7),
            LevelConfig(severity="critical", threshold=0.9, clear=0.85),
            LevelConfig(severity="page", threshold=0.95),
        ),
        for_s=for_s,
        repeat_s=repeat_s,
        summary="margin ratio {value:.2f} above {threshold} on {account}/{symbol}",
    )


def test_fires_after_for_and_not_before() -> None:
    """A breach fires once it has lasted `for_s`, with one event, not one per tick."""
    tl = Timeline((margin_rule(for_s=5),)).at(0, 0.5).at(10, 0.82)
    tl.want(Between(15, 15), "firing", "warning")
    tl.run(60)
    tl.check()


def test_pending_resets_when_condition_clears() -> None:
    """A dip below the threshold during `for` restarts the pending clock."""
    tl = Timeline((margin_rule(for_s=5),)).at(0, 0.82).at(3, 0.79).at(4, 0.82)
    tl.want(Between(9, 9), "firing", "warning")
    tl.run(30)
    tl.check()


def test_holds_through_dip_inside_hysteresis_band_then_resolves() -> None:
    """Firing holds while the value stays above `clear`, and resolves once it passes it."""
    tl = Timeline((margin_rule(for_s=0),)).at(0, 0.82).at(5, 0.75).at(10, 0.81).at(15, 0.69)
    tl.want(Between(0, 0), "firing", "warning").want(Between(15, 15), "resolved", "warning")
    tl.run(30)
    tl.check()
    assert tl.events[-1][1].ends_at_ns is not None


def test_repeats_at_interval() -> None:
    """A firing alert is re-sent every `repeat_s` with its original start time."""
    tl = Timeline((margin_rule(for_s=0, repeat_s=10),)).at(0, 0.82)
    for t in (0, 10, 20, 30):
        tl.want(Between(t, t), "firing", "warning")
    tl.run(35)
    tl.check()
    assert len({ev.starts_at_ns for _, ev in tl.events}) == 1


def test_escalation_fires_at_once_and_resets_repeat_timer() -> None:
    """Crossing a more severe level fires immediately; the next repeat counts from the escalation."""
    tl = Timeline((margin_rule(for_s=5, repeat_s=20),)).at(0, 0.82).at(12, 0.91)
    tl.want(Between(5, 5), "firing", "warning")
    tl.want(Between(12, 12), "firing", "critical")
    tl.want(Between(32, 32), "firing", "critical")
    tl.run(40)
    tl.check()
    fingerprints = {ev.fingerprint for _, ev in tl.events}
    assert len(fingerprints) == 1, "escalation must stay the same alert"


def test_jump_straight_to_page_after_for() -> None:
    """A value that crosses every level fires at the most severe one."""
    tl = Timeline((margin_rule(for_s=2),)).at(0, 0.97)
    tl.want(Between(2, 2), "firing", "page")
    tl.run(10)
    tl.check()


def test_deescalates_when_value_passes_higher_clear() -> None:
    """From critical, passing its clear (0.85) but not warning's (0.7) re-fires as warning."""
    tl = Timeline((margin_rule(for_s=0),)).at(0, 0.92).at(5, 0.87).at(10, 0.84).at(20, 0.6)
    tl.want(Between(0, 0), "firing", "critical")
    tl.want(Between(10, 10), "firing", "warning")
    tl.want(Between(20, 20), "resolved", "warning")
    tl.run(30)
    tl.check()


def test_figure_disappearance_resolves_with_reason() -> None:
    """A figure that vanishes (liquidated position) resolves its alert and says why."""
    tl = Timeline((margin_rule(for_s=0),)).at(0, 0.91).at(10, GONE)
    tl.want(Between(0, 0), "firing", "critical").want(Between(10, 10), "resolved", "critical")
    tl.run(20)
    tl.check()
    assert tl.events[-1][1].annotations["resolved_reason"] == "figure gone"


def test_nan_holds_firing_alert_and_keeps_repeating() -> None:
    """An unavailable figure never resolves a firing alert; repeats continue and say why."""
    tl = Timeline((margin_rule(for_s=0, repeat_s=10),)).at(0, 0.82).at(5, NAN).at(25, 0.6)
    tl.want(Between(0, 0), "firing", "warning")
    tl.want(Between(10, 10), "firing", "warning")
    tl.want(Between(20, 20), "firing", "warning")
    tl.want(Between(25, 25), "resolved", "warning")
    tl.run(30)
    tl.check()
    assert tl.events[1][1].annotations["figure_state"] == "unavailable: no mark"


def test_stale_figure_holds_state() -> None:
    """A stale (fresh=False) figure, even with a safe value, does not resolve the alert."""
    tl = Timeline((margin_rule(for_s=0),)).at(0, 0.82).at(5, Stale(0.1))
    tl.want(Between(0, 0), "firing", "warning")
    tl.run(30)
    tl.check()


def test_nan_during_pending_neither_fires_nor_resets() -> None:
    """NaN freezes a pending alert: it fires only when a real breaching value returns after `for`."""
    tl = Timeline((margin_rule(for_s=5),)).at(0, 0.82).at(2, NAN).at(10, 0.82)
    tl.want(Between(10, 10), "firing", "warning")
    tl.run(20)
    tl.check()


def test_events_carry_labels_annotations_and_formatted_summary() -> None:
    """Labels identify the alert (no empty labels); the summary is formatted from the value and labels."""
    tl = Timeline((margin_rule(for_s=0),)).at(0, 0.83)
    tl.run(0)
    ev = tl.events[0][1]
    assert ev.labels == {
        "alertname": "MarginRatioHigh",
        "severity": "warning",
        "venue": "binance",
        "account": "desk1",
        "symbol": "BTCUSDT",
    }
    assert ev.annotations["summary"] == "margin ratio 0.83 above 0.8 on desk1/BTCUSDT"
    assert (ev.annotations["value"], ev.annotations["threshold"]) == ("0.83", "0.8")
    assert ev.state is AlertState.FIRING and ev.ends_at_ns is None
