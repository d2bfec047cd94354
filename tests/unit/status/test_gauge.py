"""Each leg's distance bar: the daemon's own distance-rule levels, a state nothing unknown hides in."""

from __future__ import annotations

import math

import pytest

from monitor.records import FigureKey
from monitor.status.gauge import bar_scale, gauge, levels_for
from monitor.status.model import CLEAR, NONE, PAST, UNKNOWN, UNRATED, Threshold
from tests.unit.status.desk import NAN, rules, shipped_rule_configs, shipped_rules

LEG = FigureKey(name="position_quantity", venue="binance", account="degen", symbol="BTCUSDT", side="BOTH")
NEAR = (
    Threshold(rule="LiquidationDistance", severity="warning", op="<", value=0.10),
    Threshold(rule="LiquidationDistance", severity="critical", op="<", value=0.05),
)


def test_the_marks_are_the_shipped_distance_rules_levels_as_config_writes_them() -> None:
    """The levels come from the rules the daemon compiles from config.toml, not from constants here;
    the sigma rule and rules on other figures mark nothing."""
    written = [
        (lv["severity"], lv["threshold"])
        for r in shipped_rule_configs()
        if r["figure"] == "liquidation_distance_ratio" and r["op"] in ("<", "<=")
        for lv in r["levels"]
    ]
    got = levels_for(shipped_rules(), LEG)
    assert written, "the shipped config has a distance rule"
    assert sorted((t.severity, t.value) for t in got) == sorted(written)
    assert {t.rule for t in got} == {"LiquidationDistance"}
    assert [t.value for t in got] == sorted((t.value for t in got), reverse=True)  # outermost first


def test_a_rule_matching_one_account_marks_only_that_accounts_legs() -> None:
    own = rules(
        {
            "name": "DegenDistance",
            "figure": "liquidation_distance_ratio",
            "op": "<=",
            "match": {"account": "degen"},
            "levels": [{"severity": "page", "threshold": 0.25}],
        },
        {
            "name": "FarFromLP",
            "figure": "liquidation_distance_ratio",
            "op": ">",  # fires when far: not a mark on a bar of nearness
            "levels": [{"severity": "info", "threshold": 0.9}],
        },
    )
    assert [(t.rule, t.op, t.value) for t in levels_for(own, LEG)] == [("DegenDistance", "<=", 0.25)]
    hedge = FigureKey(
        name="position_quantity", venue="binance", account="hedge", symbol="BTCUSDT", side="BOTH"
    )
    assert levels_for(own, hedge) == ()


@pytest.mark.parametrize(
    ("distance", "note", "margin_ratio", "state"),
    [
        (0.0, "", 1.0, PAST),  # the evaluator's distance for a leg past liquidation at every price
        (-math.inf, "", 0.5, PAST),
        (0.2, "", math.inf, PAST),  # its account's margin balance is gone: the venue is liquidating
        (0.2, "", 1.0, PAST),  # the venue liquidates at 100 %
        (NAN, "no_mark", math.inf, PAST),  # known dead beats unknown
        (NAN, "no_mark", 0.5, UNKNOWN),
        (NAN, "missing_tier", NAN, UNKNOWN),
        (NAN, "not_liquidatable", 0.0, NONE),
        (0.049, "", 0.5, "critical"),
        (0.05, "", 0.5, "warning"),  # "<": at the threshold is outside it
        (0.099, "", 0.5, "warning"),
        (0.10, "", 0.5, CLEAR),
        (math.inf, "", 0.0, CLEAR),
    ],
)
def test_each_leg_is_in_one_state(distance: float, note: str, margin_ratio: float, state: str) -> None:
    assert gauge(distance, note, margin_ratio, NEAR, 0.2).state == state


def test_a_leg_no_rule_watches_is_unrated_not_clear() -> None:
    assert gauge(0.02, "", 0.3, (), 0.2).state == UNRATED


def test_the_bar_is_the_distance_at_the_pages_scale_and_full_when_not_a_distance() -> None:
    """Unknown and past liquidation draw full length (in their own colours): a short or empty bar
    would read as "nothing to see"; a distance past the scale is a full bar too."""
    scale = bar_scale(NEAR, [0.03, 0.6])
    assert scale == pytest.approx(2 * 0.10)
    assert gauge(0.05, "", 0.5, NEAR, scale).fill == pytest.approx(0.25)
    assert gauge(0.6, "", 0.5, NEAR, scale).fill == 1.0
    assert gauge(NAN, "no_mark", 0.5, NEAR, scale).fill == 1.0
    assert gauge(0.0, "", 1.0, NEAR, scale).fill == 1.0


def test_without_thresholds_the_farthest_finite_distance_is_full_length() -> None:
    assert bar_scale((), [0.03, NAN, math.inf, 0.4]) == 0.4
    assert bar_scale((), [NAN]) == 1.0
