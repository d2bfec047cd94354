"""Inhibition timelines: a stale feed raises its own alert and mutes the alerts computed from it."""

from __future__ import annotations

from monitor.clock import NS_PER_S
from monitor.config import LevelConfig, RuleConfig
from monitor.records import FigureKey
from tests.acceptance.alert_timeline import GONE, Between, Stale, Timeline


def _key(name: str, **labels: str) -> FigureKey:
    return FigureKey(name=name, venue=labels.pop("venue", "binance"), **labels)


DIST_BTC = _key("liquidation_distance_ratio", account="degen", symbol="BTCUSDT", side="BOTH")
DIST_ETH = _key("liquidation_distance_ratio", account="degen", symbol="ETHUSDT", side="BOTH")
MARGIN = _key("margin_ratio", account="degen")
BASIS = _key("basis_bps", symbol="BTCUSDT")
GONE_BTC = _key("position_disappeared", account="degen", symbol="BTCUSDT", side="BOTH")
MARK_FEED = _key("feed_stale", stream="mark:BTCUSDT")
ACCOUNT_FEED = _key("feed_stale", stream="account:degen")
SPOT_FEED = _key("feed_stale", stream="book:spot:BTCUSDT")
OTHER_VENUE_MARK = _key("feed_stale", venue="okx", stream="mark:BTCUSDT")

STALE = RuleConfig(
    name="StaleFeed", figure="feed_stale", op=">", levels=(LevelConfig(severity="warning", threshold=0.5),)
)
DIST = RuleConfig(
    name="LiquidationDistance",
    figure="liquidation_distance_ratio",
    op="<",
    levels=(
        LevelConfig(severity="warning", threshold=0.10, clear=0.12),
        LevelConfig(severity="critical", threshold=0.05, clear=0.06),
    ),
    repeat_s=10.0,
)
MARGIN_RULE = RuleConfig(
    name="MarginRatio",
    figure="margin_ratio",
    op=">",
    levels=(
        LevelConfig(severity="warning", threshold=0.5, clear=0.45),
        LevelConfig(severity="critical", threshold=0.8, clear=0.75),
    ),
)
GONE_RULE = RuleConfig(
    name="PositionDisappeared",
    figure="position_disappeared",
    op=">",
    levels=(LevelConfig(severity="critical", threshold=0.5),),
)
BASIS_RULE = RuleConfig(
    name="BasisWide", figure="basis_bps", op=">", levels=(LevelConfig(severity="warning", threshold=50.0),)
)


def told(tl: Timeline) -> list[tuple[float, str, str, str, str]]:
    """(t, alertname, symbol or stream, state, severity) of every event the receivers are given."""
    return [
        (
            t,
            ev.labels["alertname"],
            ev.labels.get("symbol") or ev.labels.get("stream") or ev.labels.get("account", ""),
            ev.state.value,
            ev.severity.label,
        )
        for t, ev in tl.events
    ]


def test_stale_mark_feed_mutes_repeats_of_its_symbol_and_raises_its_own() -> None:
    """While mark:BTCUSDT is stale, BTC alerts go quiet, ETH ones repeat, StaleFeed fires and resolves."""
    tl = Timeline((STALE, DIST))
    tl.at(0, 0.04, DIST_BTC).at(12, Stale(0.04), DIST_BTC).at(35, 0.04, DIST_BTC)
    tl.at(0, 0.04, DIST_ETH)
    tl.at(0, 0.0, MARK_FEED).at(12, 1.0, MARK_FEED).at(35, 0.0, MARK_FEED)
    tl.run(45)
    dist = "LiquidationDistance"
    assert told(tl) == [
        (0, dist, "BTCUSDT", "firing", "critical"),
        (0, dist, "ETHUSDT", "firing", "critical"),
        (10, dist, "BTCUSDT", "firing", "critical"),
        (10, dist, "ETHUSDT", "firing", "critical"),
        (12, "StaleFeed", "mark:BTCUSDT", "firing", "warning"),
        (20, dist, "ETHUSDT", "firing", "critical"),
        (30, dist, "ETHUSDT", "firing", "critical"),
        (35, "StaleFeed", "mark:BTCUSDT", "resolved", "warning"),
        (40, dist, "BTCUSDT", "firing", "critical"),  # the repeat timer ran on through the mute
        (40, dist, "ETHUSDT", "firing", "critical"),
    ]


def test_alert_that_fires_and_escalates_while_muted_is_told_once_at_recovery() -> None:
    """A breach that fired and escalated during the mute reaches receivers once, at its latest severity."""
    tl = Timeline((STALE, MARGIN_RULE))
    tl.at(0, 0.3, MARGIN).at(8, 0.6, MARGIN).at(12, 0.85, MARGIN)
    tl.at(0, 0.0, ACCOUNT_FEED).at(5, 1.0, ACCOUNT_FEED).at(20, 0.0, ACCOUNT_FEED)
    tl.want(Between(5, 5), "firing", "warning", "StaleFeed")
    tl.want(Between(20, 20), "resolved", "warning", "StaleFeed")
    tl.want(Between(20, 20), "firing", "critical", "MarginRatio")
    tl.run(30)
    tl.check()
    assert tl.events[-1][1].starts_at_ns == tl.t0 + 8 * NS_PER_S, "it keeps the time it really started"


def test_resolution_during_mute_is_told_only_to_those_who_heard_it_fire() -> None:
    """Heard firing before the mute: its resolution comes at recovery; born and gone inside it: nothing."""
    tl = Timeline((STALE, DIST, MARGIN_RULE))
    tl.at(0, 0.6, MARGIN).at(8, 0.3, MARGIN)  # told firing at 0, resolves while muted
    tl.at(0, 0.5, DIST_BTC).at(9, 0.07, DIST_BTC).at(11, 0.5, DIST_BTC)  # fires and resolves while muted
    tl.at(0, 0.0, ACCOUNT_FEED).at(5, 1.0, ACCOUNT_FEED).at(15, 0.0, ACCOUNT_FEED)
    tl.run(20)
    assert told(tl) == [
        (0, "MarginRatio", "degen", "firing", "warning"),
        (5, "StaleFeed", "account:degen", "firing", "warning"),
        (15, "StaleFeed", "account:degen", "resolved", "warning"),
        (15, "MarginRatio", "degen", "resolved", "warning"),
    ]
    assert tl.events[-1][1].ends_at_ns == tl.t0 + 8 * NS_PER_S, "resolved when it really resolved"


def test_spot_book_mutes_basis_but_not_liquidation_and_other_venues_are_untouched() -> None:
    """A stale spot book mutes the basis it feeds, not the mark-driven liquidation alert, nor okx alerts."""
    tl = Timeline((STALE, DIST, BASIS_RULE))
    tl.at(0, 0.0, SPOT_FEED).at(0, 1.0, OTHER_VENUE_MARK)
    tl.at(2, 1.0, SPOT_FEED)
    tl.at(3, 80.0, BASIS).at(4, 0.08, DIST_BTC)
    tl.run(6)
    assert told(tl) == [
        (0, "StaleFeed", "mark:BTCUSDT", "firing", "warning"),  # okx's own stale mark feed
        (2, "StaleFeed", "book:spot:BTCUSDT", "firing", "warning"),  # a source is never muted by a source
        (4, "LiquidationDistance", "BTCUSDT", "firing", "warning"),
    ]
    muted = {src for src in tl.engine.inhibited().values()}
    assert muted == {("binance", "book:spot:BTCUSDT")}, "the basis alert is held back by the spot feed"


def test_stale_mark_feed_never_holds_back_position_disappeared() -> None:
    """Marks lag in a crash; the notice that the position is gone comes from the account stream and is
    told at once, while the distance alert computed from the stale mark stays held back."""
    tl = Timeline((STALE, DIST, GONE_RULE))
    tl.at(0, 0.04, DIST_BTC).at(8, GONE, DIST_BTC)
    tl.at(0, 0.0, GONE_BTC).at(8, 1.0, GONE_BTC)
    tl.at(0, 0.0, MARK_FEED).at(5, 1.0, MARK_FEED).at(20, 0.0, MARK_FEED)
    tl.run(25)
    assert told(tl) == [
        (0, "LiquidationDistance", "BTCUSDT", "firing", "critical"),
        (5, "StaleFeed", "mark:BTCUSDT", "firing", "warning"),
        (8, "PositionDisappeared", "BTCUSDT", "firing", "critical"),
        (20, "StaleFeed", "mark:BTCUSDT", "resolved", "warning"),
        (20, "LiquidationDistance", "BTCUSDT", "resolved", "critical"),
    ]
