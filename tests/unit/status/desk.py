"""Figures as the evaluator makes them, for the status page's tests: a book spelled in a few lines."""

from __future__ import annotations

import math

from monitor.records import AlertEvent, AlertState, Figure, FigureKey, Figures, Severity

T0 = 1_796_688_000_000_000_000  # 2026-12-08 00:00:00 UTC
NAN = math.nan


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
