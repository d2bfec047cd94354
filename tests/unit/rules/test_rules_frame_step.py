"""A frame tick's rule step scans only the columns the frame replaced, and decides what time alone
decides on every other column (a `for` maturing, a repeat, FigureUnavailable's clock) exactly when a
full scan would (RuleEngine.step `replaced`)."""

from __future__ import annotations

import math

from monitor.config import LevelConfig, RuleConfig
from monitor.records import AlertEvent, Figure, FigureKey, Figures
from monitor.rules import RuleEngine

S = 1_000_000_000
Q = S // 4  # a frame tick every quarter second between the full ticks on whole seconds
NAN = math.nan

DIST = FigureKey(
    name="liquidation_distance_ratio", venue="binance", account="d", symbol="ETHUSDT", side="BOTH"
)
MARGIN = FigureKey(name="margin_ratio", venue="binance", account="d")
FUNDING = FigureKey(name="funding_rate_ratio", venue="binance", symbol="ETHUSDT")
BASIS = FigureKey(name="basis_ratio", venue="binance", symbol="ETHUSDT")
REPLACED = frozenset({DIST.name, MARGIN.name})  # the account stage's, as Evaluator.replaced

RULES = (
    RuleConfig(
        name="LiquidationDistance",
        figure=DIST.name,
        op="<",
        levels=(
            LevelConfig(severity="warning", threshold=0.10, clear=0.12),
            LevelConfig(severity="critical", threshold=0.05, clear=0.06, for_s=0.0),
        ),
        for_s=3.0,
    ),
    RuleConfig(
        name="MarginRatio",
        figure=MARGIN.name,
        op=">",
        levels=(LevelConfig(severity="warning", threshold=0.5, clear=0.45),),
        for_s=1.0,
    ),
    RuleConfig(  # on a column only full ticks change: its `for` and repeats mature between them
        name="FundingHigh",
        figure=FUNDING.name,
        op=">",
        levels=(LevelConfig(severity="warning", threshold=0.001, clear=0.0008),),
        for_s=2.5,
        repeat_s=1.5,
    ),
    RuleConfig(  # a hold per level on such a column: the critical's matures first
        name="FundingTiers",
        figure=FUNDING.name,
        op=">",
        levels=(
            LevelConfig(severity="warning", threshold=0.001, clear=0.0008),
            LevelConfig(severity="critical", threshold=0.0015, clear=0.0012, for_s=0.75),
        ),
        for_s=2.5,
    ),
    RuleConfig(
        name="BasisWide",
        figure=BASIS.name,
        op=">",
        levels=(LevelConfig(severity="critical", threshold=0.02),),
    ),
)


def _value(steps: list[tuple[int, float]], t: int) -> float:
    return [v for when, v in steps if when <= t][-1]


# per key, (from when in ns, value); FUNDING and BASIS move on whole seconds only, as a full tick's
SCRIPT: dict[FigureKey, list[tuple[int, float]]] = {
    DIST: [(0, 0.2), (5 * Q, 0.08), (9 * Q, 0.04), (13 * Q, 0.2), (22 * Q, 0.09), (31 * Q, 0.3)],
    MARGIN: [(0, 0.3), (3 * Q, 0.6), (6 * Q, 0.3), (10 * Q, 0.7), (27 * Q, 0.2)],
    FUNDING: [(0, 0.0), (1 * S, 0.002), (7 * S, 0.0)],
    BASIS: [(0, NAN), (6 * S, 0.01), (8 * S, 0.03)],
}


def _figures(t: int) -> Figures:
    items = {
        key: Figure(value=_value(steps, t), unit="ratio", ts_ns=t, reason="no_mark" if key is BASIS else "")
        for key, steps in SCRIPT.items()
    }
    return Figures(taken_at_ns=t, items=items)


def _run(partial: bool) -> list[tuple[int, list[AlertEvent]]]:
    """Ten seconds of ticks; with `partial`, every tick between the whole seconds is a frame step."""
    engine = RuleEngine(RULES, unavailable_for_s=2.25)
    frame = REPLACED if partial else None
    return [(t, engine.step(_figures(t), t, frame if t % S else None)) for t in range(0, 10 * S, Q)]


def test_a_frame_step_tells_what_a_full_step_would_at_the_same_moments() -> None:
    """Every event of the partial run equals the full run's, tick by tick; the `for`, repeat and
    unavailable clocks of the unscanned columns mature on frame ticks (x.25, x.5, x.75), not late."""
    partial = _run(partial=True)
    assert partial == _run(partial=False)
    told = [
        (t / S, e.labels["alertname"], e.state.value, e.severity.label) for t, evs in partial for e in evs
    ]
    assert (2.25, "FigureUnavailable", "firing", "critical") in told  # BASIS NaN since 0, on a frame tick
    assert (3.5, "FundingHigh", "firing", "warning") in told  # crossed at 1, `for` 2.5 s, on a frame tick
    assert (1.75, "FundingTiers", "firing", "critical") in told  # the critical's own 0.75 s hold
    assert (5.0, "FundingHigh", "firing", "warning") in told and (
        6.5,
        "FundingHigh",
        "firing",
        "warning",
    ) in told
    assert (6.0, "FigureUnavailable", "resolved", "critical") in told  # BASIS back: a full tick's value
    assert (7.0, "FundingHigh", "resolved", "warning") in told
    assert (2.25, "LiquidationDistance", "firing", "critical") in told  # the replaced column, scanned


def test_a_frame_step_does_not_resolve_the_gaps_of_columns_it_did_not_scan() -> None:
    """The guard resolves a key it is not told about; a frame step tells it the full step's blind keys."""
    engine = RuleEngine(RULES, unavailable_for_s=1.0)
    assert engine.step(_figures(0), 0) == []
    [ev] = engine.step(_figures(S), S)
    assert ev.labels["alertname"] == "FigureUnavailable" and ev.state.value == "firing"
    for t in (S + Q, S + 2 * Q):
        assert engine.step(_figures(t), t, REPLACED) == []
    assert [a.labels["alertname"] for a in engine.firing()] == ["FigureUnavailable"]


def test_a_reloaded_engine_scans_every_column_until_its_first_full_step() -> None:
    """An engine that has made no full step has no blind keys to carry: its first frame step is a full
    scan, so a gap adopted over a reload neither resolves nor re-fires."""
    old = RuleEngine(RULES, unavailable_for_s=1.0)
    old.step(_figures(0), 0)
    assert [e.state.value for e in old.step(_figures(S), S)] == ["firing"]
    new = RuleEngine(RULES, unavailable_for_s=1.0)
    new.adopt(old, S + Q)
    assert new.step(_figures(S + Q), S + Q, REPLACED) == []
    assert [a.labels["alertname"] for a in new.firing()] == ["FigureUnavailable"]
