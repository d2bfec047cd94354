"""The rules config.toml ships: they compile, and they cover the risks the desk asked for."""

from __future__ import annotations

from monitor.config import load_config
from monitor.records import Figure, FigureKey, Figures
from monitor.rules import RuleEngine
from tests.unit.config.test_config import ROOT, SIM_ENV


def test_shipped_rules_compile_and_cover_the_default_risks() -> None:
    """Liquidation, margin, headroom, funding flip/extremes, hedge drift, basis z, VaR, stale feed, LP
    divergence vs venue, position gone: every default the alerting issue lists."""
    cfg, _ = load_config(ROOT / "config.toml", env=SIM_ENV)
    engine = RuleEngine(cfg.rules)
    by_figure = {(r.figure, r.op) for r in engine.rules}
    assert {
        ("liquidation_distance_ratio", "<"),
        ("liquidation_distance_sigma", "<"),
        ("margin_ratio", ">"),
        ("margin_headroom_usd", "<"),
        ("funding_carry_usd_per_day", "<"),  # the flip, as the book sees it
        ("funding_rate_annualized_ratio", ">"),
        ("funding_rate_annualized_ratio", "<"),
        ("hedge_ratio", "<"),
        ("hedge_ratio", ">"),
        ("feed_stale", ">"),
        ("liquidation_price_divergence_ratio", ">"),
        ("position_disappeared", ">"),
        ("basis_zscore", ">"),
        ("basis_zscore", "<"),
        ("var_usd", ">"),
        ("var_methods_holding", "<"),  # no VaR model holds its own backtest
    } <= by_figure


def test_shipped_liquidation_and_margin_criticals_fire_on_the_first_crossing_tick() -> None:
    """A wick from safe straight past the critical level fires critical on that tick; a value that only
    reaches the warning waits the rule's 3 s (flapping around a warning threshold is noise)."""
    cfg, _ = load_config(ROOT / "config.toml", env=SIM_ENV)
    s = 1_000_000_000
    cases = (
        ("liquidation_distance_ratio", 0.2, 0.03, 0.08, "LiquidationDistance"),
        ("margin_ratio", 0.2, 0.9, 0.6, "MarginRatio"),
        ("margin_headroom_usd", 5000.0, 100.0, 1000.0, "MarginHeadroomLow"),
    )
    for figure, safe, critical, warning, name in cases:
        key = FigureKey(name=figure, venue="binance", account="degen", symbol="BTCUSDT", side="BOTH")
        if figure != "liquidation_distance_ratio":
            key = FigureKey(name=figure, venue="binance", account="degen")
        rules = tuple(r for r in cfg.rules if r.name == name)
        for jump, expected in ((critical, [(1, "critical")]), (warning, [(4, "warning")])):
            engine = RuleEngine(rules)
            got = [
                (t, ev.severity.label)
                for t, v in enumerate((safe, jump, jump, jump, jump))
                for ev in engine.step(
                    Figures(taken_at_ns=t * s, items={key: Figure(value=v, unit="x", ts_ns=t * s)}), t * s
                )
            ]
            assert got == expected, (name, jump, got)
