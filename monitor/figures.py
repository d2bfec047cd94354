"""The catalogue of figure names: one place that rules, metrics and dashboards agree on.

A figure name carries its unit (`_usd`, `_ratio`, `_seconds`, `_bps`) and becomes the metric
`perpmon_<name>`. Rules in config are checked against this list at start, so a typo in a rule's
figure fails fast instead of never firing.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["CATALOG", "FigureSpec"]


class FigureSpec(NamedTuple):
    help: str
    unit: str
    labels: tuple[str, ...]


_M = ("venue", "symbol")
_A = ("venue", "account")
_P = ("venue", "account", "symbol", "side")
_B = ("asset",)
_F = ("venue", "stream")
_S = ("venue", "account", "scenario")

CATALOG: dict[str, FigureSpec] = {
    # market, per venue and symbol
    "mark_price_usd": FigureSpec("Venue mark price of the perpetual.", "usd", _M),
    "index_price_usd": FigureSpec("Venue index price.", "usd", _M),
    "spot_price_usd": FigureSpec("Spot mid price (best bid and ask).", "usd", _M),
    "basis_usd": FigureSpec("Basis, spot minus perpetual mark.", "usd", _M),
    "basis_bps": FigureSpec("Basis as basis points of spot.", "bps", _M),
    "premium_ratio": FigureSpec("Premium of mark over index, (mark - index) / index.", "ratio", _M),
    "funding_rate_ratio": FigureSpec(
        "Funding rate estimate for the running interval, per interval.", "ratio", _M
    ),
    "funding_interval_seconds": FigureSpec("Funding interval of the symbol, from the venue.", "seconds", _M),
    "funding_rate_annualized_ratio": FigureSpec(
        "Funding rate estimate annualised with the symbol's interval.", "ratio", _M
    ),
    "funding_next_timestamp_seconds": FigureSpec("Next funding settlement, Unix time.", "seconds", _M),
    "volatility_annualized_ratio": FigureSpec(
        "EWMA volatility of mark log returns, annualised.", "ratio", _M
    ),
    # account, per venue and account (cross margin)
    "wallet_balance_usd": FigureSpec("Cross wallet balance in stablecoins.", "usd", _A),
    "unrealized_pnl_usd": FigureSpec("Unrealised PnL of cross positions at mark.", "usd", _A),
    "margin_balance_usd": FigureSpec("Cross margin balance: wallet plus unrealised PnL.", "usd", _A),
    "maintenance_margin_usd": FigureSpec("Tiered maintenance margin of cross positions.", "usd", _A),
    "margin_ratio": FigureSpec(
        "Cross margin ratio, maintenance margin / margin balance; 1 liquidates.", "ratio", _A
    ),
    "margin_headroom_usd": FigureSpec("Margin balance above maintenance margin.", "usd", _A),
    "margin_headroom_ratio": FigureSpec("Headroom as a fraction, 1 - margin ratio.", "ratio", _A),
    # position, per venue, account, symbol and side
    "position_quantity": FigureSpec("Signed position size in base units (short < 0).", "base", _P),
    "position_notional_usd": FigureSpec("Position notional at mark.", "usd", _P),
    "position_unrealized_pnl_usd": FigureSpec("Position unrealised PnL at mark.", "usd", _P),
    "position_maintenance_margin_usd": FigureSpec(
        "Position maintenance margin with the tier at mark.", "usd", _P
    ),
    "position_margin_ratio": FigureSpec("Isolated position margin ratio; 1 liquidates.", "ratio", _P),
    "liquidation_price_usd": FigureSpec(
        "Liquidation price by the venue's formula, re-tiered at the price.", "usd", _P
    ),
    "venue_liquidation_price_usd": FigureSpec("Liquidation price the venue reports.", "usd", _P),
    "liquidation_price_divergence_ratio": FigureSpec("|perpmon LP / venue LP - 1|.", "ratio", _P),
    "liquidation_distance_ratio": FigureSpec(
        "Distance from mark to liquidation, |LP / mark - 1|.", "ratio", _P
    ),
    "liquidation_distance_sigma": FigureSpec(
        "Distance to liquidation in forecast volatility over the horizon.", "sigma", _P
    ),
    "liquidation_touch_probability_ratio": FigureSpec(
        "Chance mark touches LP within the horizon.", "ratio", _P
    ),
    "position_disappeared": FigureSpec("1 while a position recently vanished from the account.", "flag", _P),
    # book, per asset
    "net_delta": FigureSpec("Net delta of the book in base units: holdings plus perpetuals.", "base", _B),
    "net_delta_usd": FigureSpec("Net delta of the book valued at spot.", "usd", _B),
    "hedge_ratio": FigureSpec(
        "Hedge ratio, -(perpetual quantity) / holdings; 1 is fully hedged.", "ratio", _B
    ),
    "holdings_quantity": FigureSpec("Off-exchange holdings in base units.", "base", _B),
    "funding_carry_usd_per_day": FigureSpec("Funding the book receives per day at current rates.", "usd", _B),
    # book across venues (monitor/evaluation/book.py, funding_spread.py)
    "book_partial": FigureSpec(
        "1 while a venue feeding the asset's book is stale: its book figures are then not fresh.", "flag", _B
    ),
    "venue_perp_quantity": FigureSpec(
        "Perpetual quantity of the asset held on one venue, all accounts.", "base", ("venue", "asset")
    ),
    "venue_funding_carry_usd_per_day": FigureSpec(
        "Funding the venue's legs of the asset receive per day.", "usd", ("venue", "asset")
    ),
    "funding_spread_annualized_ratio": FigureSpec(
        "Funding of venue a minus venue b (venue label a/b), each annualised with its own interval.",
        "ratio",
        _M,
    ),
    # stress scenarios (risk-formulas §11), per scenario and account; venue "custody" and "total" too
    "stress_equity_after_usd": FigureSpec("Equity after the stress scenario.", "usd", _S),
    "stress_pnl_usd": FigureSpec("Spot, perpetual and funding PnL of the stress scenario.", "usd", _S),
    "stress_margin_ratio_after": FigureSpec(
        "Cross margin ratio after the stress scenario; 1 liquidates.", "ratio", _S
    ),
    "stress_topup_usd": FigureSpec("Collateral that would avoid liquidation in the scenario.", "usd", _S),
    "stress_liquidated_positions": FigureSpec("Positions the scenario liquidates.", "count", _S),
    # feeds, per venue and stream
    "feed_last_message_age_seconds": FigureSpec(
        "Seconds since the stream last delivered a message.", "seconds", _F
    ),
    "feed_stale": FigureSpec(
        "1 when the stream is silent beyond its limit, down, or never heard.", "flag", _F
    ),
    # slow models (GARCH, OU, return history, Monte Carlo), refitted off the loop every refit_s
    "risk_models_age_seconds": FigureSpec(
        "Seconds since the oldest slow risk model in use was refitted.", "seconds", ()
    ),
    # the slow models' CPU budget (monitor/refit.py, evaluation.model_cpu_budget)
    "market_model_age_seconds": FigureSpec(
        "Seconds since the market's GARCH and OU models were refitted; reason model_stale past the budget's "
        "limit.",
        "seconds",
        _M,
    ),
    "var_model_age_seconds": FigureSpec(
        "Seconds since the model behind var_usd/es_usd of this method was refitted (history or Monte Carlo).",
        "seconds",
        ("method",),
    ),
    "model_refit_round_seconds": FigureSpec(
        "Wall time a refit of every slow model takes within the CPU budget (at least refit_s).", "seconds", ()
    ),
    "model_cpu_share_ratio": FigureSpec(
        "CPU the slow-model refits used over the last minute, as a fraction of one core.", "ratio", ()
    ),
    "var_mc_paths": FigureSpec("Monte Carlo paths the CPU budget paid for in the last run.", "count", ()),
    "var_mc_standard_error_usd": FigureSpec(
        "Standard error of the Monte Carlo VaR from its finite paths.", "usd", ("confidence",)
    ),
    "volatility_garch_annualized_ratio": FigureSpec(
        "GARCH(1,1)-t volatility forecast of mark returns for the next bar, annualised.", "ratio", _M
    ),
    "garch_persistence_ratio": FigureSpec("GARCH alpha + beta; 1 or more does not revert.", "ratio", _M),
    "basis_zscore": FigureSpec("Basis (spot - mark) minus its OU mean, in OU stationary sd.", "sigma", _M),
    "basis_mean_reverting": FigureSpec("1 when the basis OU fit reverts (0 < b < 1), else 0.", "flag", _M),
    "basis_ou_half_life_seconds": FigureSpec("Half-life of basis deviations, ln 2 / theta.", "seconds", _M),
    "basis_ou_theta_per_second": FigureSpec("OU mean-reversion speed of the basis.", "per_second", _M),
    "basis_ou_mean_usd": FigureSpec("Level the basis reverts to (OU mu).", "usd", _M),
    "basis_ou_stationary_sd_usd": FigureSpec("Stationary sd of the basis, sigma / sqrt(2 theta).", "usd", _M),
    "funding_settled_rate_ratio": FigureSpec(
        "Rate of the last settlement: the venue's settled history, else its last estimate before it.",
        "ratio",
        _M,
    ),
    "funding_settled_timestamp_seconds": FigureSpec("Last settlement seen, Unix time.", "seconds", _M),
    # book VaR and ES over evaluation.var_horizon_s, per method and confidence
    # method "preferred": the method var_preferred picks, else the largest (reason fallback_max)
    "var_usd": FigureSpec(
        "Value at risk of the book over the horizon, positive loss; method preferred follows the backtest.",
        "usd",
        ("method", "confidence"),
    ),
    "es_usd": FigureSpec(
        "Expected shortfall of the book over the horizon, positive loss; method preferred as var_usd's.",
        "usd",
        ("method", "confidence"),
    ),
    # the daemon's own VaR backtest (monitor/evaluation/var_check.py): one-step forecasts vs the book's PnL
    "var_backtest_observations": FigureSpec(
        "One-step VaR forecasts scored against the book's PnL, of the last 250.",
        "count",
        ("method", "confidence"),
    ),
    "var_backtest_exceptions": FigureSpec(
        "Of those, steps the book lost more than the forecast VaR.", "count", ("method", "confidence")
    ),
    "var_backtest_kupiec_pvalue_ratio": FigureSpec(
        "Kupiec p-value of the exception count; below 0.05 the VaR model no longer holds.",
        "ratio",
        ("method", "confidence"),
    ),
    "var_backtest_christoffersen_pvalue_ratio": FigureSpec(
        "Christoffersen conditional-coverage p-value (count and clustering); below 0.05 the model fails.",
        "ratio",
        ("method", "confidence"),
    ),
    "var_preferred": FigureSpec(
        "1 for the VaR method whose own backtest holds best at 99 % (both p-values at least 0.05, highest "
        "smaller p), 0 for the others; all 0 when none holds.",
        "flag",
        ("method",),
    ),
    "var_methods_holding": FigureSpec(
        "VaR methods whose own backtest holds at 99 % now; 0: var_usd{method=preferred} is the largest.",
        "count",
        (),
    ),
    "var_any_liquidation_touch_probability_ratio": FigureSpec(
        "Monte Carlo chance that any position touches its LP within the VaR horizon.", "ratio", ()
    ),
    "liquidation_touch_probability_mc_ratio": FigureSpec(
        "Monte Carlo chance the position touches its LP within the VaR horizon.", "ratio", _P
    ),
    # advice (information, not alerts): hedge, sizing, top-up for a shock, cost to close
    "recommended_hedge_ratio": FigureSpec(
        "Volatility-targeted hedge ratio, 1 - min(1, target vol / forecast vol).", "ratio", _B
    ),
    "hedge_deviation_ratio": FigureSpec("|hedge ratio - recommended hedge ratio|.", "ratio", _B),
    "sizing_target_vol_notional_usd": FigureSpec(
        "Notional whose volatility is the target share of the capital behind the position.", "usd", _P
    ),
    "sizing_half_kelly_notional_usd": FigureSpec(
        "Half-Kelly notional from the funding carry and forecast variance.", "usd", _P
    ),
    "sizing_recommended_notional_usd": FigureSpec(
        "Smaller of the target-volatility and half-Kelly notionals.", "usd", _P
    ),
    "topup_for_shock_usd": FigureSpec(
        "Collateral to add so the cross account survives the configured shock, worse direction.", "usd", _A
    ),
    "position_topup_for_shock_usd": FigureSpec(
        "Collateral to add so the isolated position survives the configured adverse shock.", "usd", _P
    ),
    "close_cost_usd": FigureSpec("Cost to close the position against the visible book, vs mid.", "usd", _P),
    "close_slippage_bps": FigureSpec("Slippage to close the position against the visible book.", "bps", _P),
    "close_visible_fill_ratio": FigureSpec(
        "Share of the position the visible book (top level) would fill.", "ratio", _P
    ),
    # proxy (beta) hedges from evaluation.proxy_hedges: asset hedged with the venue's symbol
    "proxy_hedge_beta_ratio": FigureSpec(
        "Beta of the asset's spot returns on the proxy perpetual's.", "ratio", ("asset", "venue", "symbol")
    ),
    "proxy_hedge_r2_ratio": FigureSpec(
        "R squared of that regression: the hedge's effectiveness.", "ratio", ("asset", "venue", "symbol")
    ),
    "proxy_hedge_quantity": FigureSpec(
        "Proxy perpetual quantity hedging the holdings, -h beta V / P.", "base", ("asset", "venue", "symbol")
    ),
}
