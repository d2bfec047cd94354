"""RuleEngine unit behaviour beyond the timelines: identity, compile checks, direction, special alerts."""

from __future__ import annotations

import msgspec
import pytest

from monitor.config import EvaluationConfig, LevelConfig, RuleConfig
from monitor.errors import ConfigError
from monitor.records import AlertState, Figure, FigureKey, Figures
from monitor.rules import HEARTBEAT_ALERTNAME, STARTED_ALERTNAME, RuleEngine, fingerprint

S = 1_000_000_000
KEY = FigureKey(
    name="liquidation_distance_sigma", venue="binance", account="a", symbol="ETHUSDT", side="LONG"
)


def _rule(**kw: object) -> RuleConfig:
    base: dict[str, object] = {
        "name": "LiquidationClose",
        "figure": "liquidation_distance_sigma",
        "op": "<",
        "levels": (
            LevelConfig(severity="warning", threshold=3.0, clear=3.5),
            LevelConfig(severity="page", threshold=1.5, clear=2.0),
        ),
    }
    base.update(kw)
    return RuleConfig(**base)  # type: ignore[arg-type]


def _figs(value: float, key: FigureKey = KEY) -> Figures:
    return Figures(taken_at_ns=0, items={key: Figure(value=value, unit="sigma", ts_ns=0)})


def test_fingerprint_is_stable_and_ignores_severity() -> None:
    """The same labels give the same fingerprint in every process; severity does not change it."""
    labels = {"alertname": "X", "venue": "binance", "symbol": "BTCUSDT"}
    assert (
        fingerprint(labels) == fingerprint({**labels, "severity": "page"}) == "e50ca6af3fb2fe9e"
    )  # golden: changing it re-opens every incident
    assert fingerprint(labels) != fingerprint({**labels, "symbol": "ETHUSDT"})


def test_below_rules_use_clear_above_threshold() -> None:
    """For `<` rules the page clears only when the value rises past its clear level."""
    e = RuleEngine((_rule(),))
    out = [
        (t, ev.state.value, ev.severity.label)
        for t, v in enumerate([4, 1.4, 1.8, 2.1, 3.4, 3.6])
        for ev in e.step(_figs(v), t * S)
    ]
    assert out == [(1, "firing", "page"), (3, "firing", "warning"), (5, "resolved", "warning")]


def test_match_restricts_instances_and_side_is_a_label() -> None:
    """Only figures whose labels equal the rule's match become alerts; non-empty key labels are copied."""
    e = RuleEngine((_rule(match={"symbol": "BTCUSDT"}),))
    assert e.step(_figs(1.0), 0) == []
    [ev] = RuleEngine((_rule(),)).step(_figs(1.0), 0)
    assert ev.labels["side"] == "LONG" and "asset" not in ev.labels


def test_steady_state_emits_nothing() -> None:
    """No repeat configured: a firing alert is told once, not every tick."""
    e = RuleEngine((_rule(),))
    counts = [len(e.step(_figs(1.0), t * S)) for t in range(100)]
    assert counts == [1] + [0] * 99
    assert [a.state for a in e.firing()] == [AlertState.FIRING]


def test_bad_summary_format_falls_back_to_template() -> None:
    """A broken format spec in config never drops the alert."""
    [ev] = RuleEngine((_rule(summary="value {value:zz}"),)).step(_figs(1.0), 0)
    assert ev.annotations["summary"].startswith("value {value:zz} [")


@pytest.mark.parametrize(
    "rules",
    [
        (_rule(), _rule()),
        (_rule(name=HEARTBEAT_ALERTNAME),),
        (
            _rule(
                levels=(
                    LevelConfig(severity="page", threshold=3.0),
                    LevelConfig(severity="warning", threshold=1.0),
                )
            ),
        ),
    ],
)
def test_compile_rejects_duplicates_reserved_names_and_unordered_severity(
    rules: tuple[RuleConfig, ...],
) -> None:
    """What the schema cannot check fails at start with a key path."""
    with pytest.raises(ConfigError):
        RuleEngine(rules)


def test_heartbeat_fires_every_interval() -> None:
    """The dead-man's switch fires on the first tick and then every heartbeat_s."""
    e = RuleEngine((), heartbeat_s=60)
    times = [t for t in range(0, 200, 10) if e.step(Figures(taken_at_ns=0, items={}), t * S)]
    assert times == [0, 60, 120, 180]


def test_started_notice_is_one_info_event() -> None:
    """A restart is announced once, as an info event."""
    [ev] = RuleEngine(()).started(5 * S)
    assert (ev.labels["alertname"], ev.severity.label, ev.event_ns) == (STARTED_ALERTNAME, "info", 5 * S)


def _firing_engine(rules: tuple[RuleConfig, ...], heartbeat_s: float = 0.0) -> RuleEngine:
    e = RuleEngine(rules, heartbeat_s=heartbeat_s)
    e.started(0)
    for t in (0, 10):  # warning after for_s=5 (rule names share the figure: each fires on KEY)
        e.step(_figs(2.5), t * S)
    return e


def test_adopt_keeps_unchanged_rules_and_resolves_changed_ones() -> None:
    """A reload keeps a firing alert of an unchanged rule (no re-fire, same repeat rhythm); a changed
    rule's alert resolves with the reason, and the new version starts over with its own `for`."""
    keep, change = _rule(for_s=5, repeat_s=60), _rule(name="Other", for_s=5)
    old = _firing_engine((keep, change))
    assert {ev.labels["alertname"] for ev in old.firing()} == {"LiquidationClose", "Other"}
    new = RuleEngine((keep, _rule(name="Other", for_s=5, summary="new text")))
    [resolved] = new.adopt(old, 20 * S)
    assert (resolved.labels["alertname"], resolved.state, resolved.ends_at_ns) == (
        "Other",
        AlertState.RESOLVED,
        20 * S,
    )
    assert resolved.annotations["resolved_reason"] == "rule changed or removed by a config reload"
    assert [ev.labels["alertname"] for ev in new.firing()] == ["LiquidationClose"]
    kept = old.firing()[0]
    assert new.firing()[0].starts_at_ns == kept.starts_at_ns
    told = [(t, ev.labels["alertname"]) for t in range(20, 80, 5) for ev in new.step(_figs(2.5), t * S)]
    # LiquidationClose fired at 10 s: its repeat is due at 70 s, not a re-fire at 20 s; Other restarts
    assert told == [(25, "Other"), (70, "LiquidationClose")]


def test_adopt_resolves_removed_rules_and_carries_the_heartbeat_rhythm() -> None:
    """A removed rule's alert resolves; the heartbeat neither skips nor doubles across the swap."""
    old = _firing_engine((_rule(for_s=5),), heartbeat_s=60)
    new = RuleEngine((), heartbeat_s=60)
    [resolved] = new.adopt(old, 30 * S)
    assert resolved.fingerprint == old.firing()[0].fingerprint and resolved.state is AlertState.RESOLVED
    beats = [t for t in range(30, 130, 10) if new.step(Figures(taken_at_ns=0, items={}), t * S)]
    assert beats == [60, 120]  # old beat at 0 s: the next one is due at 60 s
    assert new.announced()[0].starts_at_ns == 0, "the heartbeat keeps its first start"
    assert RuleEngine(()).adopt(RuleEngine((), heartbeat_s=60), 0) == []


def test_heartbeat_is_on_by_default_in_config() -> None:
    """A shipped daemon has a dead-man's switch unless the operator turns it off."""
    assert EvaluationConfig().heartbeat_s == 60.0


def _held(levels: tuple[LevelConfig, ...], values: list[float]) -> list[tuple[int, str, str]]:
    """(second, state, severity) of every event, one tick a second, for_s = 3 on the rule."""
    e = RuleEngine((_rule(levels=levels, for_s=3.0),))
    return [
        (t, ev.state.value, ev.severity.label) for t, v in enumerate(values) for ev in e.step(_figs(v), t * S)
    ]


PER_LEVEL = (
    LevelConfig(severity="warning", threshold=3.0, clear=3.5),
    LevelConfig(severity="page", threshold=1.5, clear=2.0, for_s=0.0),
)


def test_a_level_with_its_own_for_fires_on_the_first_tick_that_crosses_it() -> None:
    """Safe, then straight past the page level: with the page's `for_s = 0` it fires at once, where the
    rule's 3 s hold made it wait (the shipped critical liquidation rule waited 3-4 s on a wick)."""
    jump = [4.0, 1.0, 1.0, 1.0, 1.0]
    assert _held(PER_LEVEL, jump) == [(1, "firing", "page")]
    uniform = tuple(msgspec.structs.replace(lv, for_s=None) for lv in PER_LEVEL)
    assert _held(uniform, jump) == [(4, "firing", "page")]


def test_a_per_level_for_still_holds_the_warning_against_flapping() -> None:
    """A value that only reaches the warning waits out the rule's 3 s; one that flaps never fires;
    reaching the page later fires at once, at the most severe level crossed."""
    assert _held(PER_LEVEL, [4.0, 2.5, 2.5, 2.5, 2.5]) == [(4, "firing", "warning")]
    assert _held(PER_LEVEL, [4.0, 2.5, 4.0, 2.5, 4.0, 2.5, 4.0]) == []
    assert _held(PER_LEVEL, [4.0, 2.5, 2.5, 1.2]) == [(3, "firing", "page")]


def test_a_warning_with_a_longer_hold_than_the_page_is_decided_by_each_levels_own_clock() -> None:
    """Warning 5 s, page 2 s: the page fires 2 s after it is first crossed, even though the warning's
    own hold began earlier and has not elapsed."""
    levels = (
        LevelConfig(severity="warning", threshold=3.0, clear=3.5, for_s=5.0),
        LevelConfig(severity="page", threshold=1.5, clear=2.0, for_s=2.0),
    )
    assert _held(levels, [4.0, 2.5, 1.0, 1.2, 1.3, 1.3]) == [(4, "firing", "page")]
    assert _held(levels, [4.0, 2.5, 1.0, 2.5, 1.0, 2.5, 2.5]) == [(6, "firing", "warning")]
