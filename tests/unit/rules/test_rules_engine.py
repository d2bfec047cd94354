"""RuleEngine unit behaviour beyond the timelines: identity, compile checks, direction, special alerts."""

from __future__ import annotations

import pytest

from monitor.config import LevelConfig, RuleConfig
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
