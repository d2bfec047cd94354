"""The context step: events annotated from the same tick's Figures (monitor/rules/context.py)."""

from __future__ import annotations

import math

import msgspec

from monitor.records import AlertState, Figure, FigureKey, Figures
from monitor.rules.context import annotate
from monitor.rules.engine import RuleEngine
from tests.unit.notify.alert_scenarios import T0, rules, scenario, tick_figures


def test_position_alert_gets_its_leg_in_human_values() -> None:
    """Side and size, mark, LP, distance in % and sigma, margin ratio and the top-up, from the tick."""
    [ev] = annotate([scenario("liquidation", AlertState.FIRING)], tick_figures(False), rules(), shock=0.2)
    a = ev.annotations
    assert a["summary"] == "degen BTCUSDT is 4.92 % from liquidation (critical below 5.00 %)"
    assert (a["value_text"], a["threshold_text"], a["limit"]) == ("4.92 %", "5.00 %", "critical below 5.00 %")
    assert a["position"] == "long 2 BTC ($208,503)"
    assert (a["mark"], a["liquidation_price"]) == ("104,251", "99,122.6"), "no tick: six significant digits"
    assert a["distance"] == "4.92 % · 1.34 σ"
    assert a["margin_ratio"] == "61.2 % (cross; 100 % liquidates)"
    assert a["topup"] == "$11,843 survives a 20.0 % adverse move"
    assert a["value"] == "0.0491965", "the machine-readable value is left as the engine wrote it"


def test_missing_figures_leave_the_event_as_it_was() -> None:
    """A "figure gone" alert has no leg left: nothing is invented; the summary re-reads in human values."""
    empty = Figures(taken_at_ns=T0, items={})
    ev = scenario("liquidation", AlertState.RESOLVED)
    [out] = annotate([ev], empty, rules())
    assert not {"position", "mark", "liquidation_price", "distance"} & set(out.annotations)
    assert out.annotations["summary"] == "degen BTCUSDT is 13.1 % from liquidation (critical below 5.00 %)"
    assert out.annotations["lasted"] == "12 min 34 s"


def test_venue_lp_shown_when_it_differs() -> None:
    """perpmon's LP and the venue's side by side when they differ at the price's precision."""
    figs = tick_figures(False)
    key = FigureKey(
        name="venue_liquidation_price_usd", venue="binance", account="degen", symbol="BTCUSDT", side="BOTH"
    )
    items = {**figs.items, key: Figure(value=99_500.0, unit="usd", ts_ns=T0)}
    [ev] = annotate([scenario("liquidation", AlertState.FIRING)], msgspec.structs.replace(figs, items=items))
    assert ev.annotations["liquidation_price"] == "99,122.6 (venue 99,500.0)"


def test_a_format_spec_in_a_summary_still_gets_the_number() -> None:
    """`{value:.3f}` formats the float; `{value}` the human text; a bad spec keeps the engine's summary."""
    [rule] = [r for r in rules() if r.name == "LiquidationDistance"]
    spec = msgspec.structs.replace(rule, summary="{account} at {value:.3f} / {value}")
    [ev] = annotate([scenario("liquidation", AlertState.FIRING)], tick_figures(False), [spec])
    assert ev.annotations["summary"] == "degen at 0.049 / 4.92 %"
    bad = msgspec.structs.replace(rule, summary="{value:%%q}")
    raw = scenario("liquidation", AlertState.FIRING)
    [ev] = annotate([raw], tick_figures(False), [bad])
    assert ev.annotations["summary"] == raw.annotations["summary"]


def test_from_the_engine_to_the_words() -> None:
    """config.toml's rules on a tick: the engine fires, the context step turns its floats into words."""
    stale = tick_figures(False)
    key = FigureKey(name="feed_stale", venue="binance", stream="mark:BTCUSDT")
    live = msgspec.structs.replace(
        stale, items={**stale.items, key: Figure(value=0.0, unit="flag", ts_ns=T0)}
    )
    liq = annotate(RuleEngine(tuple(_rule_configs())).step(live, T0), live, rules())
    [ev] = [e for e in liq if e.labels["alertname"] == "LiquidationDistance"]
    assert ev.annotations["summary"] == "degen BTCUSDT is 4.92 % from liquidation (critical below 5.00 %)"
    assert ev.annotations["distance"] == "4.92 % · 1.34 σ" and not math.isnan(ev.value)
    # a stale mark stream mutes the LP alert (inhibition), so the stale tick shows the feed's alert
    st = annotate(RuleEngine(tuple(_rule_configs())).step(stale, T0), stale, rules())
    [ev] = [e for e in st if e.labels["alertname"] == "StaleFeed"]
    assert ev.annotations["silent_for"] == "2 min 5 s"


def _rule_configs():  # type: ignore[no-untyped-def]
    from monitor.config import load_config
    from monitor.whatif.sources import PlaceholderEnv
    from tests.unit.notify.alert_scenarios import ROOT

    cfg, _ = load_config(ROOT / "config.toml", env=PlaceholderEnv())
    return cfg.rules


def test_figure_unavailable_reads_in_words() -> None:
    """A figure NaN too long says which, where, why and which rules are blind, without a raw float."""
    from monitor.rules.unavailable import UnavailableGuard

    key = FigureKey(
        name="liquidation_distance_ratio", venue="binance", account="degen", symbol="BTCUSDT", side="BOTH"
    )
    nan = Figures(
        taken_at_ns=T0, items={key: Figure(value=math.nan, unit="ratio", ts_ns=T0, reason="missing_tier")}
    )
    [rule] = [r for r in rules() if r.name == "LiquidationDistance"]
    guard = UnavailableGuard(30.0, 7200.0)
    blind = {key: [(rule, rule.levels[-1].severity)]}
    guard.step(blind, nan, T0)
    [ev] = guard.step(blind, nan, T0 + 31 * 10**9)
    [out] = annotate([ev], nan, rules())
    assert out.annotations["summary"] == (
        "liquidation distance ratio of binance degen BTCUSDT cannot be computed (missing_tier); "
        "blind: LiquidationDistance"
    )


def test_a_rule_without_summary_gets_one_a_desk_can_read() -> None:
    """No `summary` in config: the figure, where, the value in its unit and the level crossed."""
    [rule] = [r for r in rules() if r.name == "MarginRatio"]
    bare = msgspec.structs.replace(rule, summary="")
    [ev] = annotate([scenario("margin", AlertState.FIRING)], tick_figures(False), [bare])
    assert ev.annotations["summary"] == "margin ratio of binance degen is 61.2 % (warning above 50.0 %)"


def test_prices_are_written_at_the_symbols_tick() -> None:
    """Mark and LP (and the venue's LP) take the decimals of the symbol's tick on that venue."""
    ev = scenario("liquidation", AlertState.FIRING)
    figs = tick_figures(False)
    key = FigureKey(
        name="venue_liquidation_price_usd", venue="binance", account="degen", symbol="BTCUSDT", side="BOTH"
    )
    figs = msgspec.structs.replace(
        figs, items={**figs.items, key: Figure(value=99_500.0, unit="usd", ts_ns=T0)}
    )
    for tick, mark, lp in (
        (0.1, "104,251.4", "99,122.6 (venue 99,500.0)"),
        (0.01, "104,251.37", "99,122.57 (venue 99,500.00)"),
        (0.0001, "104,251.3700", "99,122.5700 (venue 99,500.0000)"),
        (5.0, "104,251", "99,123 (venue 99,500)"),
    ):
        [out] = annotate([ev], figs, rules(), ticks={("binance", "BTCUSDT"): tick})
        assert (out.annotations["mark"], out.annotations["liquidation_price"]) == (mark, lp), tick


def test_a_tick_of_another_venue_or_symbol_is_not_used() -> None:
    """Ticks are per (venue, symbol): another venue's or symbol's tick is not this leg's."""
    ticks = {("bybit", "BTCUSDT"): 0.01, ("binance", "ETHUSDT"): 0.01}
    [out] = annotate([scenario("liquidation", AlertState.FIRING)], tick_figures(False), rules(), ticks=ticks)
    assert out.annotations["mark"] == "104,251"
