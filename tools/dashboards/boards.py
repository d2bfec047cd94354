"""The boards: book, margin and liquidation, funding, stress, and perpmon's own health.

Aggregations are chosen so the boards stay right with several shards (monitor/shard.py): book
figures are partial sums per shard, so they are summed by asset; account and position figures
live in exactly one shard; market figures are the same in every shard that watches the venue,
so `max by (venue, symbol)` folds the copies. Figure families another module adds later (VaR and
ES, top-up for a shock, stress scenarios) are picked up by name prefix from the catalogue, so the
boards grow with the figures; a board with no such figures yet is not generated.
"""

from __future__ import annotations

from monitor.figures import CATALOG
from tools.dashboards.health import health
from tools.dashboards.model import Board, Panel, Row, Target, UnknownMetricError, Variable

__all__ = ["boards", "by", "fig", "legend", "sel"]

_FILTERS = ("venue", "account", "symbol")  # the template variables
_UNITS = {"usd": "currencyUSD", "ratio": "percentunit", "seconds": "s", "bps": "short", "sigma": "short"}
_RED_BELOW = ((None, "red"), (0.05, "orange"), (0.10, "green"))  # distance to liquidation
_RED_ABOVE = ((None, "green"), (0.5, "orange"), (0.8, "red"))  # margin ratio
_RED_PARTIAL = ((None, "green"), (0.5, "red"))  # a flag: 1 while a venue is stale


def sel(name: str) -> str:
    """`perpmon_<name>{venue=~"$venue",…}` with the template variables the figure has labels for."""
    spec = CATALOG.get(name)
    if spec is None:
        raise UnknownMetricError(f"{name} is not in monitor/figures.py CATALOG")
    matchers = ",".join(f'{k}=~"${k}"' for k in spec.labels if k in _FILTERS)
    return f"perpmon_{name}{{{matchers}}}" if matchers else f"perpmon_{name}"


def by(name: str, agg: str = "max") -> str:
    return f"{agg} by ({', '.join(CATALOG[name].labels)}) ({sel(name)})"


def legend(name: str) -> str:
    return " ".join("{{" + k + "}}" for k in CATALOG[name].labels)


def fig(
    name: str,
    title: str,
    *,
    agg: str = "max",
    steps: tuple[tuple[float | None, str], ...] = ((None, "green"),),
) -> Panel:
    """One figure per series, described by its catalogue help."""
    spec = CATALOG.get(name)
    if spec is None:
        raise UnknownMetricError(f"{name} is not in monitor/figures.py CATALOG")
    return Panel(
        title,
        (Target(by(name, agg), legend(name)),),
        unit=_UNITS.get(spec.unit, "short"),
        description=spec.help,
        steps=steps,
    )


def family(prefixes: tuple[str, ...], words: tuple[str, ...] = ()) -> tuple[Panel, ...]:
    """A panel for every catalogue figure named `<prefix>…` or containing a word (generator hook)."""
    names = sorted(n for n in CATALOG if n.startswith(prefixes) or any(w in n for w in words))
    return tuple(fig(n, n.replace("_", " ")) for n in names)


def _vars(*names: str) -> tuple[Variable, ...]:
    source = {
        "venue": "label_values(perpmon_mark_price_usd, venue)",
        "account": 'label_values(perpmon_margin_ratio{venue=~"$venue"}, account)',
        "symbol": 'label_values(perpmon_mark_price_usd{venue=~"$venue"}, symbol)',
    }
    return tuple(Variable(n, source[n]) for n in names)


def _rows(*rows: Row) -> tuple[Row, ...]:
    return tuple(r for r in rows if r.panels)


def book() -> Board:
    hedge = "1 - sum by (asset) (perpmon_net_delta) / sum by (asset) (perpmon_holdings_quantity)"
    totals = (
        Panel(
            "Net delta",
            (Target("sum by (asset) (perpmon_net_delta)", "{{asset}}"),),
            "stat",
            width=6,
            description=CATALOG["net_delta"].help,
        ),
        Panel(
            "Net delta (USD)",
            (Target("sum by (asset) (perpmon_net_delta_usd)", "{{asset}}"),),
            "stat",
            "currencyUSD",
            width=6,
            description=CATALOG["net_delta_usd"].help,
        ),
        Panel(
            "Hedge ratio",
            (Target(hedge, "{{asset}}"),),
            "stat",
            "percentunit",
            width=6,
            description="Across shards: 1 - net delta / holdings.",
            steps=((None, "red"), (0.9, "orange"), (0.98, "green")),
        ),
        Panel(
            "Funding carry per day",
            (Target("sum by (asset) (perpmon_funding_carry_usd_per_day)", "{{asset}}"),),
            "stat",
            "currencyUSD",
            width=6,
            description=CATALOG["funding_carry_usd_per_day"].help,
        ),
        fig("net_delta", "Net delta over time", agg="sum"),
        Panel("Hedge ratio over time", (Target(hedge, "{{asset}}"),), unit="percentunit"),
    )
    venues = (  # which venue holds the hedge: what an outage of one venue takes away
        fig("venue_perp_quantity", "Perpetual quantity by venue", agg="sum"),
        fig("venue_funding_carry_usd_per_day", "Funding carry per day by venue", agg="sum"),
        fig("book_partial", "Book partial: a venue feeding it is stale", steps=_RED_PARTIAL),
    )
    market = (
        fig("basis_bps", "Basis (bps of spot)"),
        fig("premium_ratio", "Premium of mark over index"),
        fig("funding_carry_usd_per_day", "Funding carry per day by asset", agg="sum"),
        fig("volatility_annualized_ratio", "Volatility (EWMA, annualised)"),
        fig("volatility_garch_annualized_ratio", "Volatility (GARCH(1,1)-t, annualised)"),
        fig("basis_zscore", "Basis z-score (OU)"),
        fig("basis_ou_half_life_seconds", "Basis half-life (OU)"),
        fig("basis_ou_mean_usd", "Basis OU mean (USD)"),
    )
    advice = (
        fig("recommended_hedge_ratio", "Volatility-targeted hedge ratio"),
        fig("hedge_deviation_ratio", "Hedge ratio vs recommended"),
        fig("sizing_recommended_notional_usd", "Sizing: recommended notional (target vol, half-Kelly cap)"),
        fig("close_slippage_bps", "Slippage to close at the top of book (bps)"),
    )
    pos = "venue, account, symbol, side"
    positions = (
        Panel(
            "Positions",
            (
                Target(f"max by ({pos}) ({sel('position_quantity')})", instant=True),
                Target(f"max by ({pos}) ({sel('position_notional_usd')})", instant=True),
                Target(f"max by ({pos}) ({sel('position_unrealized_pnl_usd')})", instant=True),
            ),
            "table",
            width=24,
            description="Quantity, notional and unrealised PnL per position.",
        ),
        fig("unrealized_pnl_usd", "Unrealised PnL by account"),
        fig("margin_balance_usd", "Margin balance by account"),
    )
    return Board(
        "perpmon-book",
        "perpmon / Book overview",
        "Net delta, hedge ratio, basis and funding carry of the whole book, summed across shards.",
        _vars("venue", "account", "symbol"),
        _rows(
            Row("Book", totals),
            Row("Across venues", venues),
            Row("Basis and funding", market),
            Row("Positions", positions),
            Row(
                "Value at risk and expected shortfall",
                family(("var_", "es_"), ("value_at_risk", "shortfall")),
            ),
            Row("Hedge, sizing and liquidity advice", advice),
        ),
    )


def margin() -> Board:
    accounts = (
        fig("margin_ratio", "Margin ratio (1 liquidates)", steps=_RED_ABOVE),
        fig("margin_headroom_usd", "Margin headroom (USD)"),
        fig("margin_headroom_ratio", "Margin headroom (fraction of balance)"),
        Panel(
            "Margin balance vs maintenance margin",
            (
                Target(by("margin_balance_usd"), "balance {{account}}"),
                Target(by("maintenance_margin_usd"), "maintenance {{account}}"),
            ),
            unit="currencyUSD",
        ),
        fig("wallet_balance_usd", "Wallet balance"),
    )
    positions = (
        Panel(
            "Liquidation price vs mark",
            (
                Target(by("liquidation_price_usd"), "perpmon LP {{account}} {{symbol}} {{side}}"),
                Target(by("venue_liquidation_price_usd"), "venue LP {{account}} {{symbol}} {{side}}"),
                Target(by("mark_price_usd"), "mark {{venue}} {{symbol}}"),
            ),
            unit="currencyUSD",
            width=24,
            height=10,
        ),
        fig("liquidation_distance_ratio", "Distance to liquidation (%)", steps=_RED_BELOW),
        fig("liquidation_distance_sigma", "Distance to liquidation (sigma over the horizon)"),
        fig("liquidation_touch_probability_ratio", "Chance mark touches LP within the horizon"),
        fig("liquidation_touch_probability_mc_ratio", "Chance of touching LP within the VaR horizon (MC)"),
        fig("liquidation_price_divergence_ratio", "perpmon LP vs venue LP divergence"),
        fig("position_maintenance_margin_usd", "Position maintenance margin"),
        fig("position_margin_ratio", "Isolated position margin ratio", steps=_RED_ABOVE),
        Panel(
            "Positions nearest liquidation",
            (
                Target(
                    f"sort(min by (venue, account, symbol, side) ({sel('liquidation_distance_ratio')}))",
                    instant=True,
                ),
            ),
            "table",
            "percentunit",
            width=24,
        ),
    )
    return Board(
        "perpmon-margin",
        "perpmon / Margin and liquidation",
        "Per account and position: margin ratio, headroom, liquidation price against mark, distance.",
        _vars("venue", "account", "symbol"),
        _rows(
            Row("Accounts", accounts),
            Row("Positions", positions),
            Row("Top-up for a shock", family(("topup_",), ("topup", "top_up"))),
        ),
    )


def funding() -> Board:
    nxt = f"max by (venue, symbol) ({sel('funding_next_timestamp_seconds')})"
    panels = (
        fig("funding_rate_ratio", "Funding rate per interval"),
        fig("funding_rate_annualized_ratio", "Funding rate, annualised"),
        Panel(
            "Next settlement",
            (Target(f"{nxt} * 1000", "{{venue}} {{symbol}}"),),
            "stat",
            "dateTimeFromNow",
            description=CATALOG["funding_next_timestamp_seconds"].help,
        ),
        Panel("Time to next settlement", (Target(f"{nxt} - time()", "{{venue}} {{symbol}}"),), unit="s"),
        Panel(
            "Funding interval",
            (Target(f"{by('funding_interval_seconds')} / 3600", legend("mark_price_usd")),),
            unit="h",
            description=CATALOG["funding_interval_seconds"].help,
        ),
        fig("funding_carry_usd_per_day", "Book funding carry per day", agg="sum"),
        Panel(  # the venue label is a pair ("binance/bybit"): not filtered by the $venue variable
            "Funding spread between venues, annualised",
            (
                Target(
                    'max by (venue, symbol) (perpmon_funding_spread_annualized_ratio{symbol=~"$symbol"})',
                    "{{venue}} {{symbol}}",
                ),
            ),
            unit="percentunit",
            description=CATALOG["funding_spread_annualized_ratio"].help,
        ),
        fig("funding_settled_rate_ratio", "Last settled rate (venue history, else last estimate)"),
        Panel(
            "Funding by symbol",
            (
                Target(by("funding_rate_ratio"), instant=True),
                Target(by("funding_rate_annualized_ratio"), instant=True),
            ),
            "table",
            width=24,
        ),
    )
    return Board(
        "perpmon-funding",
        "perpmon / Funding",
        "Funding per symbol and venue: the running estimate, annualised with the venue's interval.",
        _vars("venue", "symbol"),
        (Row("Funding", panels),),
    )


def stress() -> Board | None:
    panels = family(("stress_",), ("_stress",))
    if not panels:
        return None  # no stress figures in the catalogue yet: nothing to show
    return Board(
        "perpmon-stress",
        "perpmon / Stress scenarios",
        "Scenario results per account.",
        _vars("venue", "account", "symbol"),
        (Row("Scenarios", panels),),
    )


def boards() -> list[Board]:
    return [b for b in (book(), margin(), funding(), stress(), health()) if b is not None]
