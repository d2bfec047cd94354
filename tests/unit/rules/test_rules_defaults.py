"""The rules config.toml ships: they compile, and they cover the risks the desk asked for."""

from __future__ import annotations

from monitor.config import load_config
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
    } <= by_figure
