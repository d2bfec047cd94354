"""Four alerts a desk gets (liquidation, margin, funding, stale feed), firing and resolved, with their tick.

The events are built as the rule engine emits them (labels, `summary`/`value`/`threshold`/`figure`
annotations with the engine's raw numbers), then annotated by `monitor.rules.context.annotate`
from the same tick's Figures, config.toml's rules and the venue's price ticks (BTCUSDT's 0.1, as
Binance's exchangeInfo gives it), exactly as `Daemon.tick` does. BTC trades above 100,000 here, where
its tick shows: six significant digits would drop the tenths (`104,251` for `104,251.4`).
"""

from __future__ import annotations

import math
from pathlib import Path

from monitor.config import load_config
from monitor.notify.model import Notification, NotifyReason, idempotency_key
from monitor.records import AlertEvent, AlertState, Figure, FigureKey, Figures, Severity
from monitor.rules.context import annotate
from monitor.rules.model import Rule, compile_rules, fingerprint
from monitor.whatif.sources import PlaceholderEnv

__all__ = ["CASES", "T0", "TICKS", "annotated", "grouped", "rules", "scenario", "tick_figures"]

ROOT = Path(__file__).resolve().parents[3]
T0 = 1_700_000_000 * 1_000_000_000
END = T0 + 754 * 1_000_000_000  # resolved 12 min 34 s later
CASES = ("liquidation", "margin", "funding", "stale")
_P = {"venue": "binance", "account": "degen", "symbol": "BTCUSDT", "side": "BOTH"}
_A = {"venue": "binance", "account": "degen"}
_M = {"venue": "binance", "symbol": "BTCUSDT"}
_F = {"venue": "binance", "stream": "mark:BTCUSDT"}
TICKS = {("binance", "BTCUSDT"): 0.1}  # Binance's PRICE_FILTER tickSize "0.10"; C000USDT… have none


def rules() -> tuple[Rule, ...]:
    cfg, _ = load_config(ROOT / "config.toml", env=PlaceholderEnv())
    return compile_rules(cfg.rules)


def tick_figures(resolved: bool, account: str = "degen", symbol: str = "BTCUSDT") -> Figures:
    """The book at the alert's tick: a long 2 BTC near its LP, funding at its cap, a silent mark stream."""
    p = {**_P, "account": account, "symbol": symbol}
    a = {**_A, "account": account}
    m = {**_M, "symbol": symbol}
    f = {**_F, "stream": f"mark:{symbol}"}
    mark = 104_251.37 if not resolved else 114_065.0
    values: list[tuple[str, dict[str, str], float, str]] = [
        ("position_quantity", p, 2.0, "base"),
        ("position_notional_usd", p, 2.0 * mark, "usd"),
        ("mark_price_usd", m, mark, "usd"),
        ("liquidation_price_usd", p, 99_122.57, "usd"),
        ("venue_liquidation_price_usd", p, 99_122.50, "usd"),
        ("liquidation_distance_ratio", p, 0.04919650442961698 if not resolved else 0.131, "ratio"),
        ("liquidation_distance_sigma", p, 1.3412 if not resolved else 3.9, "sigma"),
        ("margin_ratio", a, 0.6123 if not resolved else 0.4412, "ratio"),
        ("margin_balance_usd", a, 4_800.51, "usd"),
        ("maintenance_margin_usd", a, 2_937.93, "usd"),
        ("margin_headroom_usd", a, 1_862.58, "usd"),
        ("topup_for_shock_usd", a, 11_843.2 if not resolved else 0.0, "usd"),
        ("funding_rate_ratio", m, 0.003 if not resolved else 0.0002, "ratio"),
        ("funding_interval_seconds", m, 28_800.0, "seconds"),
        ("funding_rate_annualized_ratio", m, 3.2850000000000006 if not resolved else 0.219, "ratio"),
        ("funding_next_timestamp_seconds", m, T0 / 1e9 + 2 * 3600 + 13 * 60, "seconds"),
        ("funding_carry_usd_per_day", {"asset": "BTC"}, -1_234.5 if not resolved else 84.2, "usd"),
        ("hedge_ratio", {"asset": "BTC"}, 0.9, "ratio"),
        ("net_delta", {"asset": "BTC"}, -5.0, "base"),
        ("feed_stale", f, 1.0 if not resolved else 0.0, "flag"),
        ("feed_last_message_age_seconds", f, 125.4 if not resolved else 0.4, "seconds"),
    ]
    now = END if resolved else T0
    items = {
        FigureKey(name=name, **labels): Figure(value=v, unit=unit, ts_ns=now)
        for name, labels, v, unit in values
    }
    return Figures(taken_at_ns=now, items=items)


def _num(x: float) -> str:
    return f"{x:.6g}"


def scenario(case: str, state: AlertState, account: str = "degen", symbol: str = "BTCUSDT") -> AlertEvent:
    """One event as the engine emits it (its raw annotations), before the context step."""
    resolved = state is AlertState.RESOLVED
    name, figure, labels, severity, value, threshold, op, raw_summary = {
        "liquidation": (
            "LiquidationDistance",
            "liquidation_distance_ratio",
            {**_P, "account": account, "symbol": symbol},
            Severity.CRITICAL,
            0.04919650442961698 if not resolved else 0.131,
            0.05,
            "<",
            f"{account} {symbol} is 0.04919650442961698 from liquidation (critical below 0.05)",
        ),
        "margin": (
            "MarginRatio",
            "margin_ratio",
            {**_A, "account": account},
            Severity.WARNING,
            0.6123 if not resolved else 0.4412,
            0.5,
            ">",
            f"{account} margin ratio at 0.6123 (the venue liquidates at 100 %)",
        ),
        "funding": (
            "FundingExtreme",
            "funding_rate_annualized_ratio",
            {**_M, "symbol": symbol},
            Severity.WARNING,
            3.2850000000000006 if not resolved else 0.219,
            1.0,
            ">",
            f"binance {symbol} funding runs at 3.2850000000000006 a year: longs pay",
        ),
        "stale": (
            "StaleFeed",
            "feed_stale",
            {**_F, "stream": f"mark:{symbol}"},
            Severity.WARNING,
            1.0 if not resolved else 0.0,
            0.5,
            ">",
            f"binance mark:{symbol} feed is silent or down; alerts computed from it are held",
        ),
    }[case]
    ident = {"alertname": name, **labels}
    return AlertEvent(
        fingerprint=fingerprint(ident),
        labels={**ident, "severity": severity.label},
        annotations={
            "summary": raw_summary,
            "value": _num(value),
            "threshold": _num(threshold),
            "clear": _num(threshold),
            "figure": figure,
            "op": op,
        },
        state=state,
        severity=severity,
        starts_at_ns=T0,
        ends_at_ns=END if resolved else None,
        value=value if not math.isnan(value) else math.nan,
        event_ns=END if resolved else T0,
    )


def annotated(case: str, state: AlertState, link: str = "https://perpmon.example/status") -> AlertEvent:
    ev = scenario(case, state)
    [out] = annotate(
        [ev], tick_figures(state is AlertState.RESOLVED), rules(), shock=0.2, ticks=TICKS, link=link
    )
    return out


def notification(*alerts: AlertEvent, receiver: str = "desk") -> Notification:
    return Notification(
        receiver=receiver,
        integration="test",
        group_key='{}:{alertname="LiquidationDistance"}',
        reason=NotifyReason.FIRST,
        alerts=tuple(alerts),
        created_ns=T0,
        idempotency_key=idempotency_key(receiver, alerts),
    )


def grouped(n: int = 50) -> Notification:
    """`n` alerts in one message (a market-wide move): every kind, across accounts and symbols."""
    evs: list[AlertEvent] = []
    rs = rules()
    for i in range(n):
        case = CASES[i % len(CASES)]
        account, symbol = f"desk-{i:02d}", f"C{i:03d}USDT"
        ev = scenario(case, AlertState.FIRING, account=account, symbol=symbol)
        [ev] = annotate(
            [ev], tick_figures(False, account, symbol), rs, shock=0.2, link="https://perpmon.example/status"
        )
        evs.append(ev)
    return notification(*evs)
