"""Book figures per asset across venues: net delta, hedge ratio, funding carry; positions that vanished.

The book is everything the desk owns: off-exchange holdings plus every perpetual on every
watched account of every venue. Holdings are valued at their named spot book; the perp legs at
their own venue's marks, and funding carry uses each venue's rate and interval for its legs.
The per-venue split (`venue_perp_quantity`, `venue_funding_carry_usd_per_day`) shows which venue
holds the hedge, which is what a venue outage takes away.

A position on a symbol the venue entry does not watch still counts in every quantity (net delta and
hedge ratio need no price); in USD it is valued at the venue's mark from the account payload, and
its funding is unknown, so the asset's carry is NaN: those figures' reasons name the leg.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping

from monitor.clock import NS_PER_S
from monitor.evaluation.exposure import stale_holdings
from monitor.evaluation.leg_exposure import account_exposures, base_asset
from monitor.evaluation.legs import mark_upnl
from monitor.evaluation.market import MarketView
from monitor.evaluation.sink import FigureSink
from monitor.store.state import Snapshot

__all__ = ["book_figures", "gone_figures"]


def _base_asset(symbol: str) -> str:
    return base_asset(symbol)  # issue 17: BTCUSD_PERP → BTC (`leg_exposure.base_asset`)


def _stale_venues(fresh: Mapping[tuple[str, str], bool] | None, venues: set[str], asset: str) -> set[str]:
    """Venues whose data the asset's book uses and that are not fresh now.

    That is: among `venues`, any stream about the asset (its marks, its spot books) not fresh; and
    any venue whose account feed is not fresh, since an account perpmon cannot see may hold any
    asset.
    """
    if fresh is None:
        return set()
    out = set()
    for (venue, stream), ok in fresh.items():
        if ok or stream.startswith("depth:"):  # book levels feed only the cost to close
            continue
        if stream.startswith("account:") or (
            venue in venues and _base_asset(stream.rsplit(":", 1)[-1]) == asset
        ):
            out.add(venue)
    return out


def book_figures(
    snap: Snapshot,
    markets: dict[tuple[str, str], MarketView],
    sink: FigureSink,
    fresh: Mapping[tuple[str, str], bool] | None = None,
) -> None:
    """Per asset across every venue; `fresh` (feed freshness) flags a book some venue no longer feeds.

    A book figure built while one venue is silent mixes live legs with frozen ones: it is still
    emitted (the desk needs the last picture) but `fresh=False`, and `book_partial` says so with
    the stale venues as its reason, so a rule or a dashboard can tell "hedged" from "hedged, as far
    as the venues still talking can say".
    """
    held: dict[str, float] = defaultdict(float)
    held_usd: dict[str, float] = defaultdict(float)
    perp: dict[str, float] = defaultdict(float)
    perp_usd: dict[str, float] = defaultdict(float)
    carry: dict[str, float] = defaultdict(float)
    by_venue: dict[tuple[str, str], float] = defaultdict(float)
    carry_by_venue: dict[tuple[str, str], float] = defaultdict(float)
    feeders: dict[str, set[str]] = defaultdict(set)  # asset → venues whose data it uses
    marks_ok: dict[str, bool] = defaultdict(lambda: True)
    venue_marks_ok: dict[tuple[str, str], bool] = defaultdict(lambda: True)
    old_held = stale_holdings(snap)
    unwatched: dict[str, list[str]] = defaultdict(list)  # asset → legs without a live mark, named
    for h in snap.holdings.values():
        quote = snap.quotes.get((h.price_venue, h.price_symbol, "spot"))
        mid = 0.5 * (quote.bid + quote.ask) if quote is not None else math.nan
        held[h.asset] += h.quantity
        held_usd[h.asset] += h.quantity * mid
        feeders[h.asset].add(h.price_venue)
    for (venue, account), acct in snap.accounts.items():
        # issue 17: a leg's asset and coin exposure (an inverse leg's in its margin coin, with it)
        for p, (asset, x) in zip(acct.positions, account_exposures(acct), strict=True):
            feeders[asset].add(venue)
            mv = markets.get((venue, p.symbol))
            mark = mv.mark if mv is not None else math.nan
            perp[asset] += x
            by_venue[(venue, asset)] += x
            if mv is not None:
                # issue 17: an inverse leg pays funding in coin on face/mark: face × rate in USD
                usd = p.qty * p.contract_size if p.inverse else p.qty * mark
                c = -usd * mv.funding_rate * 24.0 / mv.funding_interval_h
                carry[asset] += c
                carry_by_venue[(venue, asset)] += c
                marks_ok[asset] &= mv.mark_fresh
                venue_marks_ok[(venue, asset)] &= mv.mark_fresh
            else:  # a symbol not watched: the venue's mark values it; its funding is not known
                mark = mark_upnl(p, None)[0]
                src = "valued at the venue's mark" if mark > 0 else "no mark, live or from the venue"
                unwatched[asset].append(f"{venue}/{account} {p.symbol} ({src}, no funding rate)")
                venue_marks_ok[(venue, asset)] = False
                carry[asset] += math.nan
                carry_by_venue[(venue, asset)] += math.nan
            perp_usd[asset] += x * mark
    for asset in sorted(set(held) | set(perp)):
        stale = _stale_venues(fresh, feeders[asset], asset)
        held_ok = asset not in old_held
        old = "" if held_ok else f"holding not updated within max_age_s: {', '.join(old_held[asset])}"
        legs_ok = marks_ok[asset] and not stale  # the carry uses no holding: only this applies to it
        legs_why = f"stale: {', '.join(sorted(stale))}" if stale else ""
        ok = legs_ok and held_ok
        why = "; ".join(r for r in (legs_why, old) if r)
        legs = ", ".join(unwatched[asset])
        usd = held_usd[asset] + perp_usd[asset]
        partial = _joined(_legs_reason(usd, legs), why or ("" if ok else "stale mark"))
        sink.add("book_partial", 0.0 if ok and not legs else 1.0, fresh=ok, reason=partial, asset=asset)
        sink.add("net_delta", held[asset] + perp[asset], fresh=ok, reason=why, asset=asset)
        sink.add("net_delta_usd", usd, fresh=ok, reason=_joined(_legs_reason(usd, legs), why), asset=asset)
        sink.add("holdings_quantity", held[asset], fresh=held_ok, reason=old, asset=asset)
        hr = -perp[asset] / held[asset] if held[asset] > 0 else math.nan
        sink.add("hedge_ratio", hr, fresh=ok, reason=why if held[asset] > 0 else "no_holdings", asset=asset)
        c = carry[asset]
        carry_why = _joined(_legs_reason(c, legs), legs_why)
        sink.add("funding_carry_usd_per_day", c, fresh=legs_ok, reason=carry_why, asset=asset)
    for (venue, asset), qty in sorted(by_venue.items()):
        venue_ok = venue not in _stale_venues(fresh, {venue}, asset) and venue_marks_ok[(venue, asset)]
        sink.add("venue_perp_quantity", qty, fresh=venue_ok, venue=venue, asset=asset)
        vc = carry_by_venue[(venue, asset)]
        legs = ", ".join(x for x in unwatched[asset] if x.startswith(f"{venue}/"))
        sink.add(
            "venue_funding_carry_usd_per_day",
            vc,
            fresh=venue_ok,
            reason=_legs_reason(vc, legs),
            venue=venue,
            asset=asset,
        )


def _joined(*reasons: str) -> str:
    """Reasons joined, the leg that explains the rest first (its code is the one a label shows)."""
    return "; ".join(r for r in reasons if r)


def _legs_reason(value: float, legs: str) -> str:
    """A book figure with legs on symbols not watched: NaN names them, a value says it leans on them."""
    if not legs:
        return ""
    return f"leg_unpriced: {legs}" if math.isnan(value) else f"leg_from_venue: {legs}"


def gone_figures(snap: Snapshot, sink: FigureSink, retention_s: float) -> None:
    """A vanished position stays visible for `retention_s` so the rule can fire and the desk can look."""
    for (venue, account, symbol, side), g in snap.gone.items():
        if (snap.taken_at_ns - g.gone_at_ns) / NS_PER_S <= retention_s:
            sink.add("position_disappeared", 1.0, venue=venue, account=account, symbol=symbol, side=side)
