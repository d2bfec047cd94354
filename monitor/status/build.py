"""Figures + alerts → StatusPage: a pure function, the whole of what the status page knows.

One pass over the tick's figures finds the rows (a position is a `position_quantity`, an account
a `margin_balance_usd`, a market a `mark_price_usd`, a feed a `feed_stale`); every other column
is a keyed lookup, so a desk's 85,000 figures cost one scan, not one scan per column.

Danger order: legs with their own alerts firing first, most severe first (the rules' judgment);
within that, a leg past liquidation, then a NaN distance (unknown is not safe: it is what a dead
feed or a missing tier looks like), then the nearest to liquidation; a leg no price move
liquidates last. Each leg's bar (gauge.py) is marked with the levels of the distance rules the
daemon runs, and carries its market's next funding: when, at what rate, and what it pays. Each list is
cut at `limit` with the total kept, so 1,000 positions show as the worst 50 and "950 more".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec
import numpy as np

from monitor.records import AlertEvent, Figure, FigureKey, Figures, Severity
from monitor.risk.funding import funding_payment
from monitor.rules.model import Rule
from monitor.status.cells import Cells, Ident, severities, worst
from monitor.status.gauge import bar_scale, distance_rules, gauge, levels_for
from monitor.status.model import (
    NONE,
    PAST,
    UNKNOWN,
    AccountRow,
    AlertRow,
    AssetRow,
    FeedRow,
    MarketRow,
    PositionRow,
    StatusPage,
    Threshold,
    as_float,
    num,
)

__all__ = ["DEFAULT_LIMIT", "alert_row", "build_status"]

DEFAULT_LIMIT = 50
_RANK = {s.label: int(s) for s in Severity}
_ROW_FIGURES = {"position_quantity", "margin_balance_usd", "mark_price_usd", "feed_stale", "net_delta"}


def _danger(x: float) -> tuple[int, float]:
    """Ascending = more dangerous first: NaN, then the value."""
    return (0, 0.0) if x != x else (1, x)


def _distance(row: PositionRow) -> tuple[int, float]:
    """Danger order of a leg's distance: past liquidation (the venue is taking it now), unknown,
    then nearest; a leg no price move liquidates last."""
    state = row.gauge.state
    if state == PAST:
        return (0, as_float(row.distance_ratio))
    if state == UNKNOWN:
        return (1, 0.0)
    if state == NONE:
        return (3, math.inf)
    return (2, as_float(row.distance_ratio))


def alert_row(ev: AlertEvent) -> AlertRow:
    ann = ev.annotations
    return AlertRow(
        alertname=ev.labels.get("alertname", ""),
        severity=ev.severity.label,
        state=ev.state.value,
        labels={k: v for k, v in ev.labels.items() if k not in ("alertname", "severity")},
        summary=ann.get("summary", ""),
        value=num(ev.value),
        starts_at_ns=ev.starts_at_ns,
        event_ns=ev.event_ns,
        note=ann.get("resolved_reason") or ann.get("figure_state", ""),
    )


def build_status(
    figures: Figures | None,
    firing: Sequence[AlertEvent],
    recent: Sequence[AlertEvent],
    now_ns: int,
    limit: int = DEFAULT_LIMIT,
    ticks: Mapping[tuple[str, str], float] | None = None,
    rules: Sequence[Rule] | None = None,
) -> StatusPage:
    """The page for the tick `figures` (None before the first tick: an empty book, said so);
    `ticks` (the store's, per venue and symbol) give each price row its tick; `rules` (the ones
    the daemon runs) the thresholds marked on each leg's bar — None: not known, and the page says
    so rather than drawing bars without marks as if no rule watched them."""
    items: Mapping[FigureKey, Figure] = figures.items if figures is not None else {}
    rows: dict[str, list[FigureKey]] = {n: [] for n in _ROW_FIGURES}
    for key in items:
        if key.name in _ROW_FIGURES:
            rows[key.name].append(key)
    sev = severities(firing)
    c = Cells(items)
    ticks = ticks or {}
    taken_s = figures.taken_at_ns / 1e9 if figures is not None else math.nan
    positions = _positions(rows["position_quantity"], c, sev, ticks, rules or (), taken_s)
    accounts = _accounts(rows["margin_balance_usd"], c, sev)
    held = {(p.venue, p.symbol) for p in positions}
    markets = _markets(rows["mark_price_usd"], c, sev, held, ticks, taken_s)
    feeds = _feeds(rows["feed_stale"], c, sev)
    assets = _assets(rows["net_delta"], c, sev)
    ranked = sorted(firing, key=lambda e: (-e.severity, -e.starts_at_ns, e.fingerprint))
    counts: dict[str, int] = {}
    for ev in firing:
        counts[ev.severity.label] = counts.get(ev.severity.label, 0) + 1
    return StatusPage(
        taken_at_ns=figures.taken_at_ns if figures is not None else 0,
        served_at_ns=now_ns,
        limit=limit,
        positions=tuple(positions[:limit]),
        positions_total=len(positions),
        positions_unknown=sum(1 for p in positions if p.gauge.state == UNKNOWN),
        rules_known=rules is not None,
        accounts=tuple(accounts[:limit]),
        accounts_total=len(accounts),
        assets=tuple(assets[:limit]),
        assets_total=len(assets),
        markets=tuple(markets[:limit]),
        markets_total=len(markets),
        feeds=tuple(feeds[:limit]),
        feeds_total=len(feeds),
        feeds_stale=sum(f.stale for f in feeds),
        firing=tuple(alert_row(e) for e in ranked[:limit]),
        firing_total=len(firing),
        firing_counts=counts,
        recent=tuple(alert_row(e) for e in recent),
    )


def _positions(
    keys: list[FigureKey],
    c: Cells,
    sev: Mapping[Ident, Severity],
    ticks: Mapping[tuple[str, str], float],
    rules: Sequence[Rule],
    taken_s: float,
) -> list[PositionRow]:
    """Legs the rules judge most severely first (their own alerts, not their account's), then by distance.

    Within one severity a leg past liquidation comes first, then an unknown distance (NaN); across
    them the rules decide, so a desk whose tier tables are missing for 300 legs still sees the one
    at 2 % from liquidation on top, with the unknowns right after and counted in the chips.
    """
    near = distance_rules(rules)  # once, not per leg: a desk has a dozen rules and 1,000 legs
    built: list[tuple[PositionRow, tuple[Threshold, ...]]] = []
    legs: list[tuple[float, float, float]] = []  # quantity, mark, rate: the payment in one pass
    for k in keys:
        row, leg = _position(k, c, sev, ticks, taken_s)
        built.append((row, levels_for(near, k) if near else ()))
        legs.append(leg)
    pays = _payments(legs)
    scale = bar_scale((t for _, lv in built for t in lv), (as_float(r.distance_ratio) for r, _ in built))
    out: list[tuple[Any, ...]] = []
    for (row, lv), pay in zip(built, pays, strict=True):
        g = gauge(
            as_float(row.distance_ratio),
            row.notes.get("distance_ratio", ""),
            as_float(row.margin_ratio),
            lv,
            scale,
        )
        row = msgspec.structs.replace(
            row, gauge=g, funding_payment_usd=num(pay), notes=_payment_note(row.notes, pay)
        )
        v, a, s, side = row.venue, row.account, row.symbol, row.side
        own = worst(sev, (v, a, s, side, "", ""), (v, a, s, "", "", ""))
        out.append((-_RANK.get(own, -1), _distance(row), v, a, s, side, row))
    out_sorted = sorted(out, key=lambda t: t[:6])
    return [t[6] for t in out_sorted]


def _position(
    k: FigureKey,
    c: Cells,
    sev: Mapping[Ident, Severity],
    ticks: Mapping[tuple[str, str], float],
    taken_s: float,
) -> tuple[PositionRow, tuple[float, float, float]]:
    """The leg's row (its funding payment still to come) and the inputs of that payment."""
    v, a, s, side = k.venue, k.account, k.symbol, k.side
    qty = c.of(k, "position_quantity", "quantity")
    iso_key = msgspec.structs.replace(k, name="position_margin_ratio")
    isolated = c.has(iso_key)
    if isolated:
        mr = c.get("margin_ratio", iso_key)
    else:
        mr = c.get("margin_ratio", FigureKey(name="margin_ratio", venue=v, account=a))
    mark = c.get("mark_usd", FigureKey(name="mark_price_usd", venue=v, symbol=s))
    market = FigureKey(name="funding_rate_ratio", venue=v, symbol=s)
    rate = c.get("funding_rate", market)
    nxt = c.get("funding_next_in_s", msgspec.structs.replace(market, name="funding_next_timestamp_seconds"))
    row = PositionRow(
        venue=v,
        account=a,
        symbol=s,
        side=side,
        margin_mode="isolated" if isolated else "cross",
        quantity=num(qty),
        notional_usd=num(c.of(k, "position_notional_usd", "notional_usd")),
        mark_usd=num(mark),
        liquidation_price_usd=num(c.of(k, "liquidation_price_usd", "liquidation_price_usd")),
        distance_ratio=num(c.of(k, "liquidation_distance_ratio", "distance_ratio")),
        distance_sigma=num(c.of(k, "liquidation_distance_sigma", "distance_sigma")),
        margin_ratio=num(mr),
        unrealized_pnl_usd=num(c.of(k, "position_unrealized_pnl_usd", "unrealized_pnl_usd")),
        price_tick=ticks.get((v, s), 0.0),
        funding_rate=num(rate),
        funding_next_in_s=num(nxt - taken_s),
        severity=worst(sev, (v, a, s, side, "", ""), (v, a, s, "", "", ""), (v, a, "", "", "", "")),
        notes=c.take(),
    )
    return row, (qty, mark, rate)


def _payments(legs: list[tuple[float, float, float]]) -> list[float]:
    """What each leg receives at its next settlement (< 0: pays), by the evaluator's formula
    (−q·mark·r, monitor/risk/funding.py) at the tick's mark and predicted rate, in one pass."""
    if not legs:
        return []
    q, mark, rate = (np.array(col, dtype=np.float64) for col in zip(*legs, strict=True))
    out: list[float] = np.asarray(funding_payment(q, mark, rate)).tolist()
    return out


def _payment_note(notes: dict[str, str], pay: float) -> dict[str, str]:
    """A NaN payment says which input made it so; one from a stale rate or mark is stale."""
    if pay != pay:
        why = notes.get("funding_rate") or notes.get("mark_usd") or notes.get("quantity") or ""
        return {**notes, "funding_payment_usd": why if why and why != "stale" else "not_available"}
    if "stale" in (notes.get("funding_rate"), notes.get("mark_usd")):
        return {**notes, "funding_payment_usd": "stale"}
    return notes


def _accounts(keys: list[FigureKey], c: Cells, sev: Mapping[Ident, Severity]) -> list[AccountRow]:
    out = []
    for k in keys:
        v, a = k.venue, k.account
        out.append(
            AccountRow(
                venue=v,
                account=a,
                margin_ratio=num(c.of(k, "margin_ratio", "margin_ratio")),
                margin_balance_usd=num(c.of(k, "margin_balance_usd", "margin_balance_usd")),
                maintenance_margin_usd=num(c.of(k, "maintenance_margin_usd", "maintenance_margin_usd")),
                headroom_usd=num(c.of(k, "margin_headroom_usd", "headroom_usd")),
                topup_for_shock_usd=num(c.of(k, "topup_for_shock_usd", "topup_for_shock_usd")),
                severity=worst(sev, (v, a, "", "", "", "")),
                notes=c.take(),
            )
        )
    # the highest margin ratio first (1 liquidates); NaN before all
    out.sort(key=lambda r: (_danger(-as_float(r.margin_ratio)), r.venue, r.account))
    return out


def _assets(keys: list[FigureKey], c: Cells, sev: Mapping[Ident, Severity]) -> list[AssetRow]:
    out = []
    for k in keys:
        partial = c.of(k, "book_partial", "partial")
        out.append(
            AssetRow(
                asset=k.asset,
                net_delta=num(c.of(k, "net_delta", "net_delta")),
                net_delta_usd=num(c.of(k, "net_delta_usd", "net_delta_usd")),
                hedge_ratio=num(c.of(k, "hedge_ratio", "hedge_ratio")),
                funding_carry_usd_per_day=num(
                    c.of(k, "funding_carry_usd_per_day", "funding_carry_usd_per_day")
                ),
                partial=partial != 0.0,  # NaN: not known to be whole
                severity=worst(sev, ("", "", "", "", k.asset, "")),
                notes=c.take(),
            )
        )
    out.sort(key=lambda r: (_danger(-abs(as_float(r.net_delta_usd))), r.asset))
    return out


def _markets(
    keys: list[FigureKey],
    c: Cells,
    sev: Mapping[Ident, Severity],
    held: set[tuple[str, str]],
    ticks: Mapping[tuple[str, str], float],
    taken_s: float,
) -> list[MarketRow]:
    out = []
    for k in keys:
        v, s = k.venue, k.symbol
        nxt = c.of(k, "funding_next_timestamp_seconds", "funding_next_s")
        out.append(
            MarketRow(
                venue=v,
                symbol=s,
                held=(v, s) in held,
                mark_usd=num(c.of(k, "mark_price_usd", "mark_usd")),
                funding_rate=num(c.of(k, "funding_rate_ratio", "funding_rate")),
                funding_interval_s=num(c.of(k, "funding_interval_seconds", "funding_interval_s")),
                funding_annualized=num(c.of(k, "funding_rate_annualized_ratio", "funding_annualized")),
                funding_next_s=num(nxt),
                funding_next_in_s=num(nxt - taken_s),
                basis_usd=num(c.of(k, "basis_usd", "basis_usd")),
                basis_bps=num(c.of(k, "basis_bps", "basis_bps")),
                price_tick=ticks.get((v, s), 0.0),
                severity=worst(sev, (v, "", s, "", "", "")),
                notes=_alias(c.take(), "funding_next_s", "funding_next_in_s"),  # last: after every lookup
            )
        )
    # the book's own symbols first, then the largest funding either way
    out.sort(key=lambda r: (not r.held, _danger(-abs(as_float(r.funding_annualized))), r.venue, r.symbol))
    return out


def _alias(notes: dict[str, str], field: str, also: str) -> dict[str, str]:
    """`notes` with `field`'s note repeated under `also` (a column derived from that figure)."""
    if field in notes:
        notes[also] = notes[field]
    return notes


def _feeds(keys: list[FigureKey], c: Cells, sev: Mapping[Ident, Severity]) -> list[FeedRow]:
    out = []
    for k in keys:
        v, st = k.venue, k.stream
        stale = c.get("stale", k)
        age = c.of(k, "feed_last_message_age_seconds", "age_s")
        why = c.reason(k)
        if stale != 0.0 and why:  # a stale feed says why: silent, down, lagging, never heard
            c.notes["state"] = why
        out.append(
            FeedRow(
                venue=v,
                stream=st,
                age_s=num(age),
                stale=stale != 0.0,  # NaN: not known to be fresh
                severity=worst(sev, (v, "", "", "", "", st)),
                notes=c.take(),
            )
        )
    out.sort(key=lambda r: (not r.stale, _danger(-as_float(r.age_s)), r.venue, r.stream))
    return out
