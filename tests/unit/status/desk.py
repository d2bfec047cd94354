"""Figures as the evaluator makes them, for the status page's tests: a book spelled in a few lines."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import msgspec

from monitor.config import RuleConfig
from monitor.records import AlertEvent, AlertState, Figure, FigureKey, Figures, Severity
from monitor.rules.model import Rule, compile_rules

T0 = 1_796_688_000_000_000_000  # 2026-12-08 00:00:00 UTC
NAN = math.nan
SHIPPED = Path(__file__).resolve().parents[3] / "config.toml"


def shipped_rule_configs() -> list[dict[str, Any]]:
    """The `[[rules]]` of the config the project ships, as written."""
    with SHIPPED.open("rb") as f:
        rules: list[dict[str, Any]] = tomllib.load(f)["rules"]
    return rules


def shipped_rules() -> tuple[Rule, ...]:
    """The shipped rules compiled as the daemon's engine compiles them."""
    return compile_rules(tuple(msgspec.convert(r, RuleConfig) for r in shipped_rule_configs()))


def rules(*specs: dict[str, Any]) -> tuple[Rule, ...]:
    return compile_rules(tuple(msgspec.convert(r, RuleConfig) for r in specs))


class Book:
    """Adds figures with the labels each family carries; `figures()` freezes them."""

    def __init__(self) -> None:
        self.items: dict[FigureKey, Figure] = {}

    def add(self, name: str, value: float, *, reason: str = "", fresh: bool = True, **labels: str) -> None:
        self.items[FigureKey(name=name, **labels)] = Figure(
            value=value, unit="", ts_ns=T0, fresh=fresh, reason=reason
        )

    def position(
        self,
        venue: str,
        account: str,
        symbol: str,
        *,
        qty: float,
        mark: float,
        lp: float,
        distance: float,
        side: str = "BOTH",
        isolated_ratio: float | None = None,
        sigma: float = NAN,
        why: str = "",
    ) -> None:
        """`why`: the reason of a NaN LP and distance (default missing_tier / no_mark)."""
        lab = {"venue": venue, "account": account, "symbol": symbol, "side": side}
        self.add("position_quantity", qty, **lab)
        self.add("position_notional_usd", abs(qty) * mark, **lab)
        self.add("position_unrealized_pnl_usd", -0.01 * abs(qty) * mark, **lab)
        self.add("liquidation_price_usd", lp, reason="" if lp == lp else why or "missing_tier", **lab)
        self.add(
            "liquidation_distance_ratio",
            distance,
            reason="" if distance == distance else why or "no_mark",
            **lab,
        )
        self.add("liquidation_distance_sigma", sigma, reason="" if sigma == sigma else "no_volatility", **lab)
        if isolated_ratio is not None:
            self.add("position_margin_ratio", isolated_ratio, **lab)
        self.add("mark_price_usd", mark, venue=venue, symbol=symbol)

    def account(self, venue: str, account: str, *, ratio: float, balance: float, mm: float) -> None:
        lab = {"venue": venue, "account": account}
        self.add("margin_ratio", ratio, **lab)
        self.add("margin_balance_usd", balance, **lab)
        self.add("maintenance_margin_usd", mm, **lab)
        self.add("margin_headroom_usd", balance - mm, **lab)
        self.add("topup_for_shock_usd", 0.0, **lab)

    def market(
        self, venue: str, symbol: str, *, mark: float, funding: float, interval_s: float = 28800.0
    ) -> None:
        lab = {"venue": venue, "symbol": symbol}
        self.add("mark_price_usd", mark, **lab)
        self.add("funding_rate_ratio", funding, **lab)
        self.add("funding_interval_seconds", interval_s, **lab)
        self.add("funding_rate_annualized_ratio", funding * 365 * 86400 / interval_s, **lab)
        self.add("funding_next_timestamp_seconds", T0 / 1e9 + 3600, **lab)
        self.add("basis_usd", -35.0, **lab)
        self.add("basis_bps", -8.9, **lab)

    def feed(self, venue: str, stream: str, *, age: float, stale: bool, reason: str = "") -> None:
        self.add("feed_last_message_age_seconds", age, venue=venue, stream=stream)
        self.add("feed_stale", 1.0 if stale else 0.0, reason=reason, venue=venue, stream=stream)

    def figures(self, taken_at_ns: int = T0) -> Figures:
        return Figures(taken_at_ns=taken_at_ns, items=dict(self.items))


def alert(
    name: str,
    severity: Severity,
    *,
    state: AlertState = AlertState.FIRING,
    at_ns: int = T0,
    value: float = 0.5,
    fingerprint: str = "",
    **labels: str,
) -> AlertEvent:
    return AlertEvent(
        fingerprint=fingerprint or f"{name}:{sorted(labels.items())}",
        labels={"alertname": name, **labels, "severity": severity.label},
        annotations={"summary": f"{name} on {' '.join(labels.values())}"},
        state=state,
        severity=severity,
        starts_at_ns=at_ns,
        ends_at_ns=at_ns if state is AlertState.RESOLVED else None,
        value=value,
        event_ns=at_ns,
    )
