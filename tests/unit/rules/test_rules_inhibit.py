"""Inhibitor unit behaviour: which stream mutes which labels, and what is released when the mute lifts."""

from __future__ import annotations

import pytest

from monitor.records import AlertEvent, AlertState, Severity
from monitor.rules.inhibit import Inhibitor, feeds, target_of

S = 1_000_000_000


def _ev(
    name: str = "MarginRatio",
    state: AlertState = AlertState.FIRING,
    severity: Severity = Severity.WARNING,
    figure: str = "margin_ratio",
    t: int = 0,
    **labels: str,
) -> AlertEvent:
    labels = {"alertname": name, "venue": "binance", **labels}
    return AlertEvent(
        fingerprint="fp-" + "-".join(f"{k}={v}" for k, v in sorted(labels.items())),
        labels={**labels, "severity": severity.label},
        annotations={"figure": figure},
        state=state,
        severity=severity,
        starts_at_ns=0,
        ends_at_ns=t if state is AlertState.RESOLVED else None,
        value=0.6,
        event_ns=t,
    )


@pytest.mark.parametrize(
    ("stream", "target"),
    [
        ("mark:BTCUSDT", ("symbol", "BTCUSDT", None)),
        ("account:degen", ("account", "degen", None)),
        ("book:spot:ETHUSDT", ("symbol", "ETHUSDT", ("spot_", "basis_"))),
        ("holdings", None),
        ("trades:BTCUSDT", None),
        ("mark:", None),
    ],
)
def test_stream_kinds_map_to_the_labels_they_feed(
    stream: str, target: tuple[str, str, tuple[str, ...] | None] | None
) -> None:
    """Each known stream kind names the label it feeds; unknown kinds mute nothing."""
    assert target_of(stream) == target


def test_unknown_stream_kind_mutes_nothing() -> None:
    """A stale stream we cannot map (e.g. MQTT holdings) leaves every alert audible."""
    inh = Inhibitor(["StaleFeed"])
    ev = _ev(account="degen")
    assert inh.apply([ev], {("binance", "holdings")}) == [ev]
    assert inh.muted() == {}


def test_source_alerts_are_never_muted() -> None:
    """A stale-feed alert matching another stale feed's target still goes out (no self-inhibition)."""
    inh = Inhibitor(["StaleFeed"])
    src = _ev("StaleFeed", figure="feed_stale", stream="account:degen", account="degen")
    assert inh.apply([src], {("binance", "account:degen")}) == [src]


def test_repeat_muted_and_state_unchanged_is_not_replayed() -> None:
    """Only repeats fell inside the mute: nothing is released when it lifts."""
    inh = Inhibitor(["StaleFeed"])
    first = _ev(account="degen")
    assert inh.apply([first], set()) == [first]
    assert inh.apply([_ev(account="degen", t=10 * S)], {("binance", "account:degen")}) == []
    assert inh.muted() == {first.fingerprint: ("binance", "account:degen")}
    assert inh.apply([], set()) == []
    assert inh.muted() == {}


def test_latest_held_state_is_released_when_mute_lifts_without_new_event() -> None:
    """An escalation held during the mute is sent on the first tick after the source resolves."""
    inh = Inhibitor(["StaleFeed"])
    assert inh.apply([_ev(symbol="BTCUSDT")], set())
    crit = _ev(symbol="BTCUSDT", severity=Severity.CRITICAL, t=5 * S)
    assert inh.apply([crit], {("binance", "mark:BTCUSDT")}) == []
    assert inh.apply([], {("binance", "mark:BTCUSDT")}) == []
    assert inh.apply([], set()) == [crit]


@pytest.mark.parametrize(
    ("stream", "figure", "fed"),
    [
        ("mark:BTCUSDT", "liquidation_distance_ratio", True),
        ("mark:BTCUSDT", "margin_ratio", True),
        ("mark:BTCUSDT", "position_disappeared", False),
        ("mark:BTCUSDT", "position_quantity", False),
        ("mark:BTCUSDT", "venue_liquidation_price_usd", False),
        ("account:degen", "position_disappeared", True),
        ("account:degen", "liquidation_distance_ratio", True),
        ("book:spot:BTCUSDT", "basis_zscore", True),
        ("book:spot:BTCUSDT", "liquidation_distance_ratio", False),
        ("holdings", "hedge_ratio", False),
    ],
)
def test_figures_map_to_the_streams_they_are_computed_from(stream: str, figure: str, fed: bool) -> None:
    """The figure → source mapping: account-only figures are not fed by the mark stream."""
    assert feeds(stream, figure) is fed


def test_a_stale_mark_does_not_mute_an_account_stream_alert() -> None:
    """PositionDisappeared on BTCUSDT goes out while mark:BTCUSDT is stale; the distance alert is held."""
    inh = Inhibitor(["StaleFeed"])
    gone = _ev("PositionDisappeared", figure="position_disappeared", account="degen", symbol="BTCUSDT")
    dist = _ev("LiquidationDistance", figure="liquidation_distance_ratio", account="degen", symbol="BTCUSDT")
    assert inh.apply([gone, dist], {("binance", "mark:BTCUSDT")}) == [gone]
