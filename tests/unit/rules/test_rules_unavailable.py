"""FigureUnavailable: a watched figure that stays NaN is an alert of its own; ±inf is a value."""

from __future__ import annotations

import math

import pytest

from monitor.config import LevelConfig, RuleConfig
from monitor.errors import ConfigError
from monitor.records import AlertEvent, AlertState, Figure, FigureKey, Figures
from monitor.rules import UNAVAILABLE_ALERTNAME, RuleEngine, fingerprint
from monitor.rules.unavailable import reason_class

S = 1_000_000_000
NAN = math.nan
INF = math.inf
ETH = FigureKey(
    name="liquidation_distance_ratio", venue="binance", account="degen", symbol="ETHUSDT", side="BOTH"
)
BTC = FigureKey(
    name="liquidation_distance_ratio", venue="binance", account="degen", symbol="BTCUSDT", side="BOTH"
)
MARGIN = FigureKey(name="margin_ratio", venue="binance", account="degen")
HEADROOM = FigureKey(name="margin_headroom_ratio", venue="binance", account="degen")

DIST = RuleConfig(
    name="LiquidationDistance",
    figure="liquidation_distance_ratio",
    op="<",
    levels=(
        LevelConfig(severity="warning", threshold=0.10, clear=0.12),
        LevelConfig(severity="critical", threshold=0.05, clear=0.06),
    ),
    for_s=3.0,
)
DIST_ETH_PAGE = RuleConfig(
    name="EthLiquidationPage",
    figure="liquidation_distance_ratio",
    op="<",
    levels=(LevelConfig(severity="page", threshold=0.02),),
    match={"symbol": "ETHUSDT"},
)
MARGIN_RULE = RuleConfig(
    name="MarginRatio",
    figure="margin_ratio",
    op=">",
    levels=(
        LevelConfig(severity="warning", threshold=0.50, clear=0.45),
        LevelConfig(severity="critical", threshold=0.80, clear=0.75),
    ),
    for_s=3.0,
)


def fig(value: float, reason: str = "", *, fresh: bool = True) -> Figure:
    if math.isnan(value) and not reason:
        reason = "no_mark"
    return Figure(value=value, unit="ratio", ts_ns=0, fresh=fresh, reason=reason)


def run(
    engine: RuleEngine, script: dict[FigureKey, list[tuple[int, Figure | None]]], until: int
) -> list[tuple[int, AlertEvent]]:
    """Tick every second to `until`; each key holds the last scripted figure at or before t (None: gone)."""
    out: list[tuple[int, AlertEvent]] = []
    for t in range(until + 1):
        items: dict[FigureKey, Figure] = {}
        for key, steps in script.items():
            current = [f for when, f in steps if when <= t]
            if current and current[-1] is not None:
                items[key] = current[-1]
        out += [(t, ev) for ev in engine.step(Figures(taken_at_ns=t * S, items=items), t * S)]
    return out


def brief(events: list[tuple[int, AlertEvent]]) -> list[tuple[int, str, str, str]]:
    return [(t, ev.labels["alertname"], ev.state.value, ev.severity.label) for t, ev in events]


def test_a_figure_nan_from_the_start_fires_figure_unavailable_and_resolves_when_it_returns() -> None:
    """Today's silence: a NaN from the first tick never started an alert. Now it fires after
    unavailable_for_s, naming the figure, its labels and the reason code, and resolves on a value."""
    e = RuleEngine((DIST,), unavailable_for_s=30)
    events = run(e, {ETH: [(0, fig(NAN, "no_mark")), (50, fig(0.5))]}, 60)
    assert brief(events) == [
        (30, UNAVAILABLE_ALERTNAME, "firing", "critical"),
        (50, UNAVAILABLE_ALERTNAME, "resolved", "critical"),
    ]
    firing, resolved = events[0][1], events[1][1]
    want = {"alertname": UNAVAILABLE_ALERTNAME, "figure": "liquidation_distance_ratio", **ETH.labels()}
    assert firing.labels == {**want, "severity": "critical"}
    assert firing.fingerprint == resolved.fingerprint == fingerprint(want)
    assert firing.annotations["reason"] == "no_mark"
    assert firing.annotations["figure"] == "liquidation_distance_ratio"
    assert firing.annotations["rules"] == "LiquidationDistance"
    assert "ETHUSDT" in firing.annotations["summary"]
    assert resolved.annotations["resolved_reason"] == "figure available again"
    assert (firing.starts_at_ns, resolved.ends_at_ns) == (30 * S, 50 * S)


def test_severity_is_the_most_severe_rule_covering_the_key() -> None:
    """A page-level rule matching ETH only makes ETH's gap page; BTC's gap is only as loud as DIST."""
    e = RuleEngine((DIST, DIST_ETH_PAGE), unavailable_for_s=10)
    events = run(e, {ETH: [(0, fig(NAN))], BTC: [(0, fig(NAN))]}, 12)
    sev = {ev.labels["symbol"]: (ev.severity.label, ev.annotations["rules"]) for _, ev in events}
    assert sev == {
        "ETHUSDT": ("page", "LiquidationDistance,EthLiquidationPage"),
        "BTCUSDT": ("critical", "LiquidationDistance"),
    }


def test_an_unwatched_nan_figure_raises_nothing() -> None:
    """Only figures a rule watches are guarded (many figures are NaN by design and nobody reads them)."""
    e = RuleEngine((DIST_ETH_PAGE,), unavailable_for_s=1)
    assert run(e, {BTC: [(0, fig(NAN))], HEADROOM: [(0, fig(NAN))]}, 10) == []


def test_a_firing_alert_whose_figure_turns_nan_keeps_firing_and_the_gap_is_told_beside_it() -> None:
    """The rule's alert holds (never a false all-clear); FigureUnavailable follows after unavailable_for_s."""
    e = RuleEngine((DIST,), unavailable_for_s=20)
    events = run(e, {BTC: [(0, fig(0.04)), (10, fig(NAN, "missing_tier: ETHUSDT"))]}, 40)
    assert brief(events) == [
        (3, "LiquidationDistance", "firing", "critical"),
        (30, UNAVAILABLE_ALERTNAME, "firing", "critical"),
    ]
    assert events[1][1].annotations["reason"] == "missing_tier"
    assert events[1][1].annotations["detail"] == "missing_tier: ETHUSDT"
    assert {ev.labels["alertname"] for ev in e.firing()} == {"LiquidationDistance", UNAVAILABLE_ALERTNAME}


def test_a_gap_resolves_when_the_figure_is_gone() -> None:
    """A liquidated position's figures vanish: its FigureUnavailable resolves with the reason."""
    e = RuleEngine((DIST,), unavailable_for_s=5)
    events = run(e, {ETH: [(0, fig(NAN)), (8, None)]}, 10)
    assert brief(events) == [
        (5, UNAVAILABLE_ALERTNAME, "firing", "critical"),
        (8, UNAVAILABLE_ALERTNAME, "resolved", "critical"),
    ]
    assert events[1][1].annotations["resolved_reason"] == "figure gone"


def test_reasons_that_are_a_state_of_the_book_never_fire_and_warming_up_waits_longer() -> None:
    """not_liquidatable is an answer, not a gap; not_fitted_yet waits unavailable_warmup_s, then tells."""
    e = RuleEngine((DIST,), unavailable_for_s=5, unavailable_warmup_s=100)
    events = run(e, {ETH: [(0, fig(NAN, "not_liquidatable"))], BTC: [(0, fig(NAN, "not_fitted_yet"))]}, 120)
    assert [(t, ev.labels["symbol"]) for t, ev in events] == [(100, "BTCUSDT")]
    assert reason_class("garch_empty_history") == "warmup" and reason_class("fit_failed") == "gap"


def test_a_gap_turning_into_a_state_of_the_book_resolves() -> None:
    """A position that becomes unliquidatable (fully collateralised) ends its gap alert."""
    e = RuleEngine((DIST,), unavailable_for_s=5)
    events = run(e, {ETH: [(0, fig(NAN)), (9, fig(NAN, "not_liquidatable"))]}, 12)
    assert brief(events)[1] == (9, UNAVAILABLE_ALERTNAME, "resolved", "critical")


@pytest.mark.parametrize(("for_s", "warmup_s"), [(-1.0, 900.0), (30.0, -5.0)])
def test_negative_durations_are_refused_by_the_schema(for_s: float, warmup_s: float) -> None:
    """The guard's `[evaluation]` durations are checked at load: a negative one is refused."""
    from monitor.config import parse_config

    ev = {"unavailable_for_s": for_s, "unavailable_warmup_s": warmup_s}
    with pytest.raises(ConfigError, match="unavailable_"):
        parse_config({"evaluation": ev}, {})


def test_a_rule_may_turn_the_guard_off_with_inf_from_toml() -> None:
    """`unavailable_for_s = inf` in a rule parses (TOML's inf) and means never."""
    import tomllib

    from monitor.config import parse_config

    text = """
[[rules]]
name = "BasisWide"
figure = "basis_zscore"
op = ">"
levels = [{ severity = "warning", threshold = 3.0 }]
unavailable_for_s = inf
"""
    cfg, _ = parse_config(tomllib.loads(text), {})
    assert cfg.rules[0].unavailable_for_s == INF


def test_a_stale_but_finite_figure_is_left_to_the_stale_feed_alert() -> None:
    """fresh=False with a value: StaleFeed tells it; no FigureUnavailable on top."""
    e = RuleEngine((DIST,), unavailable_for_s=5)
    assert run(e, {ETH: [(0, fig(0.5, "stale", fresh=False))]}, 20) == []


def test_a_stale_value_in_breach_is_told_when_the_rule_cannot_start_on_it() -> None:
    """A cross margin ratio is stale while any leg's mark is (here ETH's): a breach driven by a live BTC
    leg starts no alert, and StaleFeed(mark:ETHUSDT) mutes only ETH. FigureUnavailable tells it at the
    level the value enters; once fresh, the rule itself takes over."""
    e = RuleEngine((MARGIN_RULE,), unavailable_for_s=30)
    stale = fig(0.6, "stale: binance/mark:ETHUSDT", fresh=False)
    events = run(
        e, {MARGIN: [(0, fig(0.3)), (5, stale), (20, fig(0.85, "stale", fresh=False)), (50, fig(0.85))]}, 60
    )
    assert brief(events) == [
        (35, UNAVAILABLE_ALERTNAME, "firing", "critical"),  # 30 s after the stale breach began at 5 s
        (50, UNAVAILABLE_ALERTNAME, "resolved", "critical"),
        (53, "MarginRatio", "firing", "critical"),
    ]
    assert events[0][1].annotations["reason"] == "stale"
    assert "0.85 but stale" in events[0][1].annotations["summary"]
    assert events[1][1].annotations["resolved_reason"] == "figure available again"


def test_a_firing_alert_going_stale_is_not_doubled() -> None:
    """An alert already firing holds through staleness (its own repeats carry `figure_state`): no gap."""
    e = RuleEngine((MARGIN_RULE,), unavailable_for_s=5)
    events = run(e, {MARGIN: [(0, fig(0.85)), (10, fig(0.9, "stale", fresh=False))]}, 40)
    assert brief(events) == [(3, "MarginRatio", "firing", "critical")]


def test_per_rule_override_shortens_or_turns_off_the_guard() -> None:
    """The smallest override of the rules covering a key wins; inf means never."""
    quick = RuleConfig(**{**_fields(DIST_ETH_PAGE), "unavailable_for_s": 2.0})
    e = RuleEngine((DIST, quick), unavailable_for_s=30)
    assert [t for t, _ in run(e, {ETH: [(0, fig(NAN))]}, 5)] == [2]
    never = RuleConfig(**{**_fields(DIST), "unavailable_for_s": INF})
    assert run(RuleEngine((never,), unavailable_for_s=1), {ETH: [(0, fig(NAN))]}, 50) == []


def _fields(rule: RuleConfig) -> dict[str, object]:
    return {f: getattr(rule, f) for f in rule.__struct_fields__}


def test_the_reserved_name_is_refused_for_user_rules() -> None:
    """A user rule named FigureUnavailable would collide with the guard's alerts."""
    with pytest.raises(ConfigError, match="reserved"):
        RuleEngine((RuleConfig(**{**_fields(DIST), "name": UNAVAILABLE_ALERTNAME}),))


def test_a_reload_carries_the_gap_over_without_refiring_or_resolving() -> None:
    """A reloaded engine adopts the NaN clock and the firing gap; severity follows the new rules."""
    old = RuleEngine((DIST,), unavailable_for_s=5)
    assert brief(run(old, {ETH: [(0, fig(NAN))]}, 6)) == [(5, UNAVAILABLE_ALERTNAME, "firing", "critical")]
    new = RuleEngine((DIST, DIST_ETH_PAGE), unavailable_for_s=5)
    assert new.adopt(old, 7 * S) == []
    [ev] = new.step(Figures(taken_at_ns=8 * S, items={ETH: fig(NAN)}), 8 * S)
    assert (ev.state, ev.severity.label, ev.starts_at_ns) == (AlertState.FIRING, "page", 5 * S)


def test_the_gap_is_muted_by_the_stale_feed_it_comes_from() -> None:
    """FigureUnavailable goes through the same inhibition as the rule it stands for."""
    stale = RuleConfig(
        name="StaleFeed",
        figure="feed_stale",
        op=">",
        levels=(LevelConfig(severity="warning", threshold=0.5),),
    )
    feed = FigureKey(name="feed_stale", venue="binance", stream="mark:ETHUSDT")
    e = RuleEngine((stale, DIST), unavailable_for_s=5)
    events = run(e, {ETH: [(0, fig(NAN, "stale_mark"))], feed: [(0, fig(1.0)), (10, fig(0.0))]}, 12)
    assert brief(events) == [
        (0, "StaleFeed", "firing", "warning"),
        (10, "StaleFeed", "resolved", "warning"),
        (10, UNAVAILABLE_ALERTNAME, "firing", "critical"),  # held back at 5 s, told when the mute lifts
    ]


# ---------------------------------------------------------------- ±inf is a value


def test_margin_ratio_running_to_inf_escalates_to_the_most_severe_level() -> None:
    """0.5 → 0.85 → inf (margin balance ≤ 0): warning, then critical; inf holds critical, no gap alert."""
    e = RuleEngine((MARGIN_RULE,), unavailable_for_s=5)
    events = run(e, {MARGIN: [(0, fig(0.55)), (10, fig(0.6)), (20, fig(INF))]}, 40)
    assert brief(events) == [
        (3, "MarginRatio", "firing", "warning"),
        (20, "MarginRatio", "firing", "critical"),
    ]
    assert events[-1][1].annotations["value"] == "inf"
    assert Figure(value=INF, unit="ratio", ts_ns=0).available


def test_straight_to_inf_fires_after_for_s() -> None:
    """A margin ratio that is +inf from its first tick is past liquidation: critical after `for`."""
    e = RuleEngine((MARGIN_RULE,), unavailable_for_s=5)
    assert brief(run(e, {MARGIN: [(0, fig(INF))]}, 10)) == [(3, "MarginRatio", "firing", "critical")]


def test_negative_inf_headroom_fires_a_below_rule() -> None:
    """margin_headroom_ratio = −inf (1 − inf) breaches `< 0.1` like any small value."""
    rule = RuleConfig(
        name="HeadroomLow",
        figure="margin_headroom_ratio",
        op="<",
        levels=(LevelConfig(severity="page", threshold=0.1),),
    )
    e = RuleEngine((rule,), unavailable_for_s=5)
    assert brief(run(e, {HEADROOM: [(0, fig(-INF))]}, 3)) == [(0, "HeadroomLow", "firing", "page")]
